// What the messages room offers the rest of the app (lint keeps other rooms to this).
export { MessageResponseDto, UsageDto } from './dto/message-response.dto';
export { toMessageResponse } from './message.mapper';
export { MessagesModule } from './messages.module';
export { MessagesService } from './messages.service';
export type { PathMessage } from './messages.repository';
