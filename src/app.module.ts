import { DynamicModule, Module } from '@nestjs/common';
import type { DestinationStream } from 'pino';

import { AuthModule } from './auth/auth.module';
import { ChatModule } from './chat/chat.module';
import { ClusterModule } from './cluster/cluster.module';
import { AppConfig } from './config/app-config';
import { ConfigModule } from './config/config.module';
import { ConversationsModule } from './conversations/conversations.module';
import { HealthModule } from './health/health.module';
import { LifecycleModule } from './lifecycle/lifecycle.module';
import { LoggingModule } from './logging/logging.module';
import { MessagesModule } from './messages/messages.module';
import { MetricsModule } from './metrics/metrics.module';
import { OpenAiModule } from './openai/openai.module';
import { ResponsesModule } from './responses/responses.module';
import { DatabaseModule } from './database/database.module';
import { FilesModule } from './files/files.module';
import { WebSocketModule } from './websocket/websocket.module';

export interface AppOptions {
  /** Where logs go; stdout when unset. */
  logDestination?: DestinationStream;
}

@Module({})
export class AppModule {
  static forRoot(config: AppConfig, options: AppOptions = {}): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        LoggingModule.forRoot(config, options.logDestination),
        LifecycleModule,
        DatabaseModule,
        ClusterModule,
        AuthModule.forRoot(config),
        MetricsModule,
        HealthModule,
        ConversationsModule,
        MessagesModule,
        FilesModule,
        ChatModule,
        // Before OpenAiModule: its catch-all answers whatever /v1 path no route above took.
        ResponsesModule,
        OpenAiModule,
        WebSocketModule,
      ],
    };
  }
}
