import { Body, Controller, Get, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiHeader,
  ApiOkResponse,
  ApiOperation,
  ApiSecurity,
  ApiTags,
} from '@nestjs/swagger';
import type { Response } from 'express';

import { CurrentOwner, QueryToken } from '../auth/current-owner.decorator';
import { ApiErrors } from '../common/http/api-errors.decorator';
import { CorrelationId } from '../common/http/correlation-id.middleware';
import { OptionalHeader } from '../common/http/optional-header.decorator';
import { AppConfig } from '../config/app-config';
import { ApiConversationId, ConversationIdPipe } from '../history/conversation-id.pipe';
import { ChatService } from './chat.service';
import { toTurnResponse, turnEventSource } from './chat-event.mapper';
import { ApiChatEventStream } from './dto/chat-event.dto';
import { SendMessageDto } from './dto/send-message.dto';
import {
  CancelResponseDto,
  GenerationStatusDto,
  IDEMPOTENCY_KEY_DESCRIPTION,
  TurnResponseDto,
} from './dto/turn-response.dto';
import { toMessageResponse } from '../messages';
import { writeSse } from './sse-writer';
import { parseLastEventId, ResumeQueryDto } from './dto/resume-query.dto';

export const STREAM_DESCRIPTION = `Server-Sent Events, each with a monotonic \`id:\`:
- \`message.created\` — \`{ userMessage, assistantMessageId }\` (the user message is stored)
- \`message.reasoning\` — \`{ delta }\` reasoning the model emits in \`<think>\` tags, never part of the answer
- \`message.delta\` — \`{ delta }\` answer text, one event per upstream chunk
- \`tool.call\` — \`{ assistantMessageId, toolCall: { id, name, arguments } }\` the reply called a tool; a client tool ends it \`requires_action\` (docs/tools.md); \`server: true\`: the service runs it
- \`tool.result\` — \`{ assistantMessageId, toolCallId, output, isError }\` a server tool returned; a new \`message.created\` starts the next step
- \`message.completed\` — \`{ assistantMessage, usage, context }\` the stored reply; \`context\`: what its prompt held, in short
- \`conversation.updated\` — \`{ id, title, topics }\` a generated title arrived while the stream was open
- \`error\` — \`{ statusCode, error, code, message, correlationId, retryAfter?, assistantMessage }\` (\`code\` = \`error\`), then the stream ends
- \`: heartbeat\` comment lines while the provider is silent

A disconnect is not a cancel: the reply is generated and stored anyway (see GET …/generation).`;

/** Last-Event-ID on a streamed POST: what a retry of a dropped stream already got. */
export const REPLAY_AFTER_HEADER = {
  name: 'Last-Event-ID',
  required: false,
  description:
    'With the Idempotency-Key of an earlier request: the id of the last event that request ' +
    'delivered. The replayed turn goes on after it (nothing shown twice); 400 ' +
    '`invalid_last_event_id` for an id the turn never sent.',
};

@ApiTags('chat')
@ApiBearerAuth()
@ApiSecurity('api-key')
@ApiErrors(401, 429, 503)
@Controller('conversations/:id')
export class ChatController {
  constructor(
    private readonly chat: ChatService,
    private readonly config: AppConfig,
  ) {}

  @Post('messages')
  @ApiOperation({ summary: 'Send a message and get the whole reply' })
  @ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description: IDEMPOTENCY_KEY_DESCRIPTION,
  })
  @ApiCreatedResponse({ type: TurnResponseDto })
  @ApiConversationId()
  @ApiErrors(400, 404, 409, 413, 415, 422, 429, 502, 503, 504)
  async send(
    @CurrentOwner() owner: string,
    @Param('id', ConversationIdPipe) id: string,
    @Body() body: SendMessageDto,
    @CorrelationId() correlationId: string,
    @OptionalHeader('Idempotency-Key') idempotencyKey?: string,
  ): Promise<TurnResponseDto> {
    const turn = await this.chat.startTurn(owner, id, {
      ...body,
      mode: 'complete',
      idempotencyKey,
      correlationId,
    });
    return toTurnResponse(await turn.outcome);
  }

  @Post('messages/stream')
  @ApiOperation({
    summary: 'Send a message and stream the reply (text/event-stream)',
    description: STREAM_DESCRIPTION,
  })
  @ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description: IDEMPOTENCY_KEY_DESCRIPTION,
  })
  @ApiHeader(REPLAY_AFTER_HEADER)
  @ApiChatEventStream(STREAM_DESCRIPTION)
  @ApiConversationId()
  @ApiErrors(400, 404, 409, 413, 415, 422)
  async stream(
    @CurrentOwner() owner: string,
    @Param('id', ConversationIdPipe) id: string,
    @Body() body: SendMessageDto,
    @Res() res: Response,
    @CorrelationId() correlationId: string,
    @OptionalHeader('Idempotency-Key') idempotencyKey?: string,
    @OptionalHeader('Last-Event-ID') lastEventId?: string,
  ): Promise<void> {
    const input = { ...body, mode: 'stream', idempotencyKey, correlationId } as const;
    const after = parseLastEventId(lastEventId);
    const { turn, from } = await this.chat.startStream(owner, id, input, after);
    writeSse(res, turnEventSource(turn, from, correlationId), {
      heartbeatMs: this.config.get('SSE_HEARTBEAT_MS'),
    });
  }

  @Get('generation/events')
  @QueryToken()
  @ApiOperation({
    summary: "Resume the running turn's event stream after a disconnect",
    description:
      'Replays the events after `Last-Event-ID` (header, as EventSource sends it on reconnect) ' +
      'or `?lastEventId=`, then follows the turn live until it ends. Same events and ids as the stream that started it.',
  })
  @ApiHeader({
    name: 'Last-Event-ID',
    required: false,
    description: 'The id of the last event received',
  })
  @ApiChatEventStream(STREAM_DESCRIPTION)
  @ApiConversationId()
  @ApiErrors(400, 404)
  async resume(
    @CurrentOwner() owner: string,
    @Param('id', ConversationIdPipe) id: string,
    @Query() query: ResumeQueryDto,
    @Res() res: Response,
    @CorrelationId() correlationId: string,
    @OptionalHeader('Last-Event-ID') lastEventId?: string,
  ): Promise<void> {
    const after = parseLastEventId(lastEventId ?? query.lastEventId);
    const { turn, from } = await this.chat.follow(owner, id, after);
    writeSse(res, turnEventSource(turn, from, correlationId), {
      heartbeatMs: this.config.get('SSE_HEARTBEAT_MS'),
    });
  }

  @Get('generation')
  @ApiOperation({ summary: 'The turn running on this conversation, with the text so far' })
  @ApiOkResponse({ type: GenerationStatusDto })
  @ApiConversationId()
  @ApiErrors(400, 404)
  status(
    @CurrentOwner() owner: string,
    @Param('id', ConversationIdPipe) id: string,
  ): Promise<GenerationStatusDto> {
    return this.chat.status(owner, id);
  }

  @Post('cancel')
  @HttpCode(200)
  @ApiOperation({ summary: 'Stop the running turn; its partial reply is stored as cancelled' })
  @ApiOkResponse({ type: CancelResponseDto })
  @ApiConversationId()
  @ApiErrors(400, 404)
  async cancel(
    @CurrentOwner() owner: string,
    @Param('id', ConversationIdPipe) id: string,
  ): Promise<CancelResponseDto> {
    const message = await this.chat.cancel(owner, id);
    return { assistantMessage: message && toMessageResponse(message) };
  }
}
