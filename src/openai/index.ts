// What the OpenAI-compatible door offers the Responses door (lint keeps other rooms to this).
export { OpenAiModule } from './openai.module';
export { OpenAiService } from './openai.service';
export type { CompletionRun, ProviderCall } from './openai.service';
export type { CompletionEvent, CompletionReply } from './openai.mapper';
export type {
  ChatCompletionRequestDto,
  FilePart,
  MessageContent,
} from './dto/chat-completion-request.dto';
export { OpenAiErrorDto } from './dto/chat-completion-response.dto';
export { OpenAiExceptionFilter, toOpenAiError } from './openai-error';
