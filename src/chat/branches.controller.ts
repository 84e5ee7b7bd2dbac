import { Body, Controller, Param, Post, Res } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiBody,
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
import { REPLAY_AFTER_HEADER, STREAM_DESCRIPTION } from './chat.controller';
import { ChatService } from './chat.service';
import { toTurnResponse, turnEventSource } from './chat-event.mapper';
import {
  ApiMessageRouteParams,
  MessageRouteParams,
  MessageRouteParamsPipe,
} from '../history/conversation-id.pipe';
import { EditMessageDto, RegenerateDto } from './dto/branch.dto';
import { parseLastEventId } from './dto/resume-query.dto';
import { ApiChatEventStream } from './dto/chat-event.dto';
import { IDEMPOTENCY_KEY_DESCRIPTION, TurnResponseDto } from './dto/turn-response.dto';
import { writeSse } from './sse-writer';

const REGENERATE =
  'A new assistant reply beside the earlier ones (no new user message): `messageId` is the reply to ' +
  'replace, or the user message to answer again. The new reply becomes the current leaf; the earlier ' +
  'replies stay, listed in `siblingIds`. The same rules as a send: one turn at a time (409), Idempotency-Key, ' +
  'cancel, resume, GET …/generation.';
const EDIT =
  'A new user message beside `messageId` (a user message), then a new reply to it. The old branch stays ' +
  '(switch back with PATCH /conversations/{id} { currentLeafId }); the prompt holds only the path up to ' +
  'the edited message. The same rules as a send.';

const idempotencyHeader = ApiHeader({
  name: 'Idempotency-Key',
  required: false,
  description: IDEMPOTENCY_KEY_DESCRIPTION,
});
const messageIdParams = ApiMessageRouteParams({
  description: 'A message of the conversation (see GET …/messages)',
  example: '01936f3e-8a4c-7b1e-9d2a-3c4b5d6e7f82',
});
const streamResponse = ApiChatEventStream(STREAM_DESCRIPTION);
const replayAfterHeader = ApiHeader(REPLAY_AFTER_HEADER);

/** Turns that branch the conversation: regenerate a reply, edit a user message. */
@ApiTags('chat')
@ApiBearerAuth()
@ApiSecurity('api-key')
@ApiErrors(401, 429, 503)
@Controller('conversations/:id/messages/:messageId')
export class BranchesController {
  constructor(
    private readonly chat: ChatService,
    private readonly config: AppConfig,
  ) {}

  @Post('regenerate')
  @ApiOperation({ summary: 'Regenerate a reply and get it whole', description: REGENERATE })
  @ApiBody({ type: RegenerateDto, required: false })
  @idempotencyHeader
  @messageIdParams
  @ApiCreatedResponse({ type: TurnResponseDto })
  @ApiErrors(400, 404, 409, 413, 415, 422, 502, 503, 504)
  async regenerate(
    @CurrentOwner() owner: string,
    @Param(MessageRouteParamsPipe) { id, messageId }: MessageRouteParams,
    @Body() body: RegenerateDto,
    @CorrelationId() correlationId: string,
    @OptionalHeader('Idempotency-Key') idempotencyKey?: string,
  ): Promise<TurnResponseDto> {
    const branch = { anchor: 'regenerate', messageId } as const;
    const input = {
      ...body,
      message: null,
      branch,
      mode: 'complete',
      idempotencyKey,
      correlationId,
    } as const;
    const turn = await this.chat.startTurn(owner, id, input);
    return toTurnResponse(await turn.outcome);
  }

  @Post('regenerate/stream')
  @ApiOperation({ summary: 'Regenerate a reply and stream it', description: REGENERATE })
  @ApiBody({ type: RegenerateDto, required: false })
  @idempotencyHeader
  @messageIdParams
  @replayAfterHeader
  @streamResponse
  @ApiErrors(400, 404, 409, 413, 415, 422)
  async regenerateStream(
    @CurrentOwner() owner: string,
    @Param(MessageRouteParamsPipe) { id, messageId }: MessageRouteParams,
    @Body() body: RegenerateDto,
    @Res() res: Response,
    @CorrelationId() correlationId: string,
    @OptionalHeader('Idempotency-Key') idempotencyKey?: string,
    @OptionalHeader('Last-Event-ID') lastEventId?: string,
  ): Promise<void> {
    const branch = { anchor: 'regenerate', messageId } as const;
    const input = {
      ...body,
      message: null,
      branch,
      mode: 'stream',
      idempotencyKey,
      correlationId,
    } as const;
    const after = parseLastEventId(lastEventId);
    const { turn, from } = await this.chat.startStream(owner, id, input, after);
    writeSse(res, turnEventSource(turn, from, correlationId), {
      heartbeatMs: this.config.get('SSE_HEARTBEAT_MS'),
    });
  }

  @Post('edit')
  @ApiOperation({ summary: 'Edit a user message and get the new reply whole', description: EDIT })
  @idempotencyHeader
  @messageIdParams
  @ApiCreatedResponse({ type: TurnResponseDto })
  @ApiErrors(400, 404, 409, 413, 415, 422, 502, 503, 504)
  async edit(
    @CurrentOwner() owner: string,
    @Param(MessageRouteParamsPipe) { id, messageId }: MessageRouteParams,
    @Body() body: EditMessageDto,
    @CorrelationId() correlationId: string,
    @OptionalHeader('Idempotency-Key') idempotencyKey?: string,
  ): Promise<TurnResponseDto> {
    const branch = { anchor: 'edit', messageId } as const;
    const input = { ...body, branch, mode: 'complete', idempotencyKey, correlationId } as const;
    const turn = await this.chat.startTurn(owner, id, input);
    return toTurnResponse(await turn.outcome);
  }

  @Post('edit/stream')
  @ApiOperation({ summary: 'Edit a user message and stream the new reply', description: EDIT })
  @idempotencyHeader
  @messageIdParams
  @replayAfterHeader
  @streamResponse
  @ApiErrors(400, 404, 409, 413, 415, 422)
  async editStream(
    @CurrentOwner() owner: string,
    @Param(MessageRouteParamsPipe) { id, messageId }: MessageRouteParams,
    @Body() body: EditMessageDto,
    @Res() res: Response,
    @CorrelationId() correlationId: string,
    @OptionalHeader('Idempotency-Key') idempotencyKey?: string,
    @OptionalHeader('Last-Event-ID') lastEventId?: string,
  ): Promise<void> {
    const branch = { anchor: 'edit', messageId } as const;
    const input = { ...body, branch, mode: 'stream', idempotencyKey, correlationId } as const;
    const after = parseLastEventId(lastEventId);
    const { turn, from } = await this.chat.startStream(owner, id, input, after);
    writeSse(res, turnEventSource(turn, from, correlationId), {
      heartbeatMs: this.config.get('SSE_HEARTBEAT_MS'),
    });
  }
}
