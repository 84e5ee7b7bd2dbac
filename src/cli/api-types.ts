// The server's response shapes, imported as types only: nothing of Nest is loaded at run time.
export type { ConversationResponseDto as Conversation } from '../conversations';
export type { ModelResponseDto as Model } from '../llm/dto/model-response.dto';
export type { MessageResponseDto as Message, UsageDto as Usage } from '../messages';
export type { Page } from '../common/pagination/page.dto';
