import { Module } from '@nestjs/common';

import { ChatModule } from '../chat';
import { ConversationsModule } from '../conversations';
import { FilesModule } from '../files';
import { HistoryModule } from '../history/history.module';
import { LlmModule } from '../llm/llm.module';
import { MessagesModule } from '../messages';
import { OpenAiModule } from '../openai';
import { ConversationItems } from './conversation-items';
import { OpenAiConversationsController } from './openai-conversations.controller';
import { ResponsesController } from './responses.controller';
import { ResponsesRepository } from './responses.repository';
import { ResponsesService } from './responses.service';
import { StatelessResponses } from './stateless-responses';

/** OpenAI's Responses and Conversations APIs (/v1), on the turns and conversations of /api/v1. */
@Module({
  imports: [
    ChatModule,
    ConversationsModule,
    FilesModule,
    HistoryModule,
    MessagesModule,
    LlmModule,
    OpenAiModule,
  ],
  controllers: [ResponsesController, OpenAiConversationsController],
  providers: [ResponsesService, ConversationItems, ResponsesRepository, StatelessResponses],
})
export class ResponsesModule {}

/** The paths of this door, served at the root beside /v1/chat/completions. */
export const RESPONSES_ROUTES = [
  'v1/responses',
  'v1/responses/{*rest}',
  'v1/conversations',
  'v1/conversations/{*rest}',
];
