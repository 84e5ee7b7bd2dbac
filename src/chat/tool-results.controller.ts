import { Body, Controller, Param, Post, Res } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiHeader,
  ApiOperation,
  ApiSecurity,
  ApiTags,
} from '@nestjs/swagger';
import type { Response } from 'express';

import { CurrentOwner } from '../auth/current-owner.decorator';
import { ApiErrors } from '../common/http/api-errors.decorator';
import { CorrelationId } from '../common/http/correlation-id.middleware';
import { OptionalHeader } from '../common/http/optional-header.decorator';
import { AppConfig } from '../config/app-config';
import {
  ApiMessageRouteParams,
  MessageRouteParams,
  MessageRouteParamsPipe,
} from '../history/conversation-id.pipe';
import { REPLAY_AFTER_HEADER, STREAM_DESCRIPTION } from './chat.controller';
import { toTurnResponse, turnEventSource } from './chat-event.mapper';
import { ChatService } from './chat.service';
import { ApiChatEventStream } from './dto/chat-event.dto';
import { parseLastEventId } from './dto/resume-query.dto';
import { ToolResultsDto } from './dto/turn-tools.dto';
import { IDEMPOTENCY_KEY_DESCRIPTION, TurnResponseDto } from './dto/turn-response.dto';
import { toolResultsInput } from './tool-turn';
import { writeSse } from './sse-writer';

const TOOL_RESULTS =
  'The results of the tools a reply called (`messageId`, status `requires_action`): one per call in its ' +
  '`toolCalls`, by `toolCallId`. Each is stored as a `tool` message after the reply, and the model answers ' +
  'on with them, as a turn with every rule of a send: one turn at a time (409), Idempotency-Key, cancel, ' +
  'resume, limits. An unknown or repeated call id, or a call left without a result, is a 400; a message ' +
  'that is not waiting, a 409 message_not_waiting.';

const idempotencyHeader = ApiHeader({
  name: 'Idempotency-Key',
  required: false,
  description: IDEMPOTENCY_KEY_DESCRIPTION,
});
const messageIdParams = ApiMessageRouteParams({
  description: 'The reply waiting for its tool results (status `requires_action`)',
  example: '01936f3e-8a4c-7b1e-9d2a-3c4b5d6e7f82',
});

/** The client's side of tool calling: answering the calls of a waiting reply. */
@ApiTags('chat')
@ApiBearerAuth()
@ApiSecurity('api-key')
@ApiErrors(401, 429, 503)
@Controller('conversations/:id/messages/:messageId')
export class ToolResultsController {
  constructor(
    private readonly chat: ChatService,
    private readonly config: AppConfig,
  ) {}

  @Post('tool-results')
  @ApiOperation({
    summary: 'Send tool results and get the next reply whole',
    description: TOOL_RESULTS,
  })
  @idempotencyHeader
  @messageIdParams
  @ApiCreatedResponse({ type: TurnResponseDto })
  @ApiErrors(400, 404, 409, 413, 415, 422, 502, 503, 504)
  async submit(
    @CurrentOwner() owner: string,
    @Param(MessageRouteParamsPipe) { id, messageId }: MessageRouteParams,
    @Body() body: ToolResultsDto,
    @CorrelationId() correlationId: string,
    @OptionalHeader('Idempotency-Key') idempotencyKey?: string,
  ): Promise<TurnResponseDto> {
    const input = toolResultsInput(messageId, body, 'complete', idempotencyKey, correlationId);
    const turn = await this.chat.startTurn(owner, id, input);
    return toTurnResponse(await turn.outcome);
  }

  @Post('tool-results/stream')
  @ApiOperation({
    summary: 'Send tool results and stream the next reply',
    description: TOOL_RESULTS,
  })
  @idempotencyHeader
  @messageIdParams
  @ApiHeader(REPLAY_AFTER_HEADER)
  @ApiChatEventStream(STREAM_DESCRIPTION)
  @ApiErrors(400, 404, 409, 413, 415, 422)
  async submitStream(
    @CurrentOwner() owner: string,
    @Param(MessageRouteParamsPipe) { id, messageId }: MessageRouteParams,
    @Body() body: ToolResultsDto,
    @Res() res: Response,
    @CorrelationId() correlationId: string,
    @OptionalHeader('Idempotency-Key') idempotencyKey?: string,
    @OptionalHeader('Last-Event-ID') lastEventId?: string,
  ): Promise<void> {
    const input = toolResultsInput(messageId, body, 'stream', idempotencyKey, correlationId);
    const after = parseLastEventId(lastEventId);
    const { turn, from } = await this.chat.startStream(owner, id, input, after);
    writeSse(res, turnEventSource(turn, from, correlationId), {
      heartbeatMs: this.config.get('SSE_HEARTBEAT_MS'),
    });
  }
}
