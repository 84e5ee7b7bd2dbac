// What the conversations room offers the rest of the app (lint keeps other rooms to this).
export { ConversationsModule } from './conversations.module';
export { ConversationsService } from './conversations.service';
export { ConversationResponseDto } from './dto/conversation-response.dto';
export { TitleWriter } from './titles/title-writer';
export type { ConversationUpdate } from './titles/titles.repository';
export { ConversationDeletedDataDto, ConversationEventDataDto } from './dto/conversation-event.dto';
