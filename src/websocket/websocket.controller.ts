import { Controller, Get } from '@nestjs/common';
import { ApiExtraModels, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';

import { Public } from '../auth/current-owner.decorator';
import { AppException } from '../common/errors/app.exception';
import { CancelFrameDto, ResumeFrameDto, SendMessageFrameDto } from './dto/client-messages.dto';

const PROTOCOL = `Open this URL as a WebSocket (\`ws://host/api/v1/ws\`, \`wss://\` behind TLS); Swagger UI cannot.
Credentials as over HTTP, or for browsers the subprotocol \`bearer.<token>\` (offer \`chat.v1\` beside it) or \`?access_token=\`.

Client → server (JSON text): \`{ type: "message.send", conversationId, message, model?, params?, idempotencyKey?, requestId? }\`,
\`{ type: "cancel", conversationId, requestId? }\`, \`{ type: "resume", conversationId, lastEventId?, requestId? }\`.

Server → client: each turn event as SSE sends it, \`{ type, id, conversationId, data }\` (\`message.created\`,
\`message.reasoning\`, \`message.delta\`, \`message.completed\`, \`error\`); a failed request
\`{ type: "error", conversationId, requestId, data: { code, statusCode, message, details?, retryAfter? } }\`;
a cancel \`{ type: "cancelled", conversationId, requestId, data: { assistantMessage } }\`. See the README, "WebSocket".`;

/** Documents the WebSocket route in Swagger and tells plain HTTP clients how to use it. */
@ApiTags('chat')
@Public()
@Controller('ws')
export class WebSocketController {
  @Get()
  @ApiOperation({ summary: 'Streaming over a WebSocket (upgrade only)', description: PROTOCOL })
  @ApiExtraModels(SendMessageFrameDto, CancelFrameDto, ResumeFrameDto)
  @ApiResponse({ status: 101, description: 'Switching protocols: the socket is open' })
  @ApiResponse({ status: 426, description: 'A plain HTTP request (`upgrade_required`)' })
  upgradeRequired(): never {
    throw new AppException(
      'upgrade_required',
      'Open /api/v1/ws as a WebSocket; see the README, "WebSocket"',
      { headers: { Upgrade: 'websocket' } },
    );
  }
}
