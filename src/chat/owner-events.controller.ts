import { Controller, Get, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiSecurity, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';

import { CurrentOwner, QueryToken } from '../auth/current-owner.decorator';
import { AccessTokenQueryDto } from '../auth/dto/access-token-query.dto';
import { OwnerEvents } from '../cluster/owner-events';
import { ApiErrors } from '../common/http/api-errors.decorator';
import { AppConfig } from '../config/app-config';
import { toOwnerEventSource } from './chat-event.mapper';
import { ApiEventStream } from './dto/chat-event.dto';
import { OWNER_EVENTS } from './dto/owner-event.dto';
import { writeSse } from './sse-writer';

export const OWNER_STREAM_DESCRIPTION = `Server-Sent Events about your conversations, from every replica, while the connection is open:
- \`conversation.created\`, \`conversation.updated\` — the conversation as a list row shows it (no system prompt, no params); updated by PATCH or by a generated title
- \`conversation.deleted\` — \`{ id }\`
- \`turn.started\` — \`{ conversationId, assistantMessageId }\` a reply is being generated (any door)
- \`turn.finished\` — \`{ conversationId, assistantMessageId, status }\` the reply is stored: complete, failed or cancelled
- \`: heartbeat\` comment lines while nothing happens

Only your own conversations. Ids increase within one connection; there is no replay: on (re)connect, fetch the list, then apply the events.`;

@ApiTags('events')
@ApiBearerAuth()
@ApiSecurity('api-key')
@ApiErrors(401, 429, 503)
@Controller('events')
export class OwnerEventsController {
  constructor(
    private readonly events: OwnerEvents,
    private readonly config: AppConfig,
  ) {}

  @Get()
  @QueryToken()
  @ApiOperation({
    summary: 'Follow changes to your conversations (text/event-stream)',
    description: OWNER_STREAM_DESCRIPTION,
  })
  @ApiEventStream(OWNER_STREAM_DESCRIPTION, OWNER_EVENTS)
  @ApiErrors(400)
  stream(
    @CurrentOwner() owner: string,
    @Query() _query: AccessTokenQueryDto,
    @Res() res: Response,
  ): void {
    writeSse(res, toOwnerEventSource(this.events, owner), {
      heartbeatMs: this.config.get('SSE_HEARTBEAT_MS'),
    });
  }
}
