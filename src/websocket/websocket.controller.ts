import { Controller, Get } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';

import { AppException } from '../common/errors/app.exception';

/**
 * A plain HTTP request to the WebSocket route learns how to use it. OpenAPI cannot describe
 * a WebSocket (and wants a 2xx this route never gives), so the document names it in its
 * description instead.
 */
@ApiExcludeController()
@Controller('ws')
export class WebSocketController {
  @Get()
  upgradeRequired(): never {
    throw new AppException(
      'upgrade_required',
      'Open /api/v1/ws as a WebSocket; see docs/api.md, "WebSocket"',
      { headers: { Upgrade: 'websocket' } },
    );
  }
}
