// What the chat room (the turn) offers the doors (lint keeps other rooms to this).
export { ChatModule } from './chat.module';
export { ChatService } from './chat.service';
export { turnEventSource } from './chat-event.mapper';
export { RegenerateDto } from './dto/branch.dto';
export { MAX_ATTACHMENTS, SendMessageDto } from './dto/send-message.dto';
export { ToolResultsDto } from './dto/turn-tools.dto';
export { toolResultsInput } from './tool-turn';
export type { TurnEventFrame } from './turn-events';
export { writeSse } from './sse-writer';
export type { TurnEventSource } from './turn-events';
export { NoActiveGenerationException } from './chat.errors';
export type { TurnInput } from './chat.service';
export { chatImage, withDocuments } from './attachments';
