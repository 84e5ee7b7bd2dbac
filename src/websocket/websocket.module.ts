import { Module } from '@nestjs/common';

import { ChatModule } from '../chat';
import { ChatSocketServer } from './chat-socket.server';
import { MessageLimiter } from './message-limiter';
import { WebSocketController } from './websocket.controller';

/** Streaming over a WebSocket: a thin door onto ChatService, with the same events as SSE. */
@Module({
  imports: [ChatModule],
  controllers: [WebSocketController],
  providers: [ChatSocketServer, MessageLimiter],
})
export class WebSocketModule {}
