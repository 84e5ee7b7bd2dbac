import { Module } from '@nestjs/common';

import { ConversationsModule } from '../conversations/conversations.module';
import { LlmModule } from '../llm/llm.module';
import { PromptsModule } from '../prompts/prompts.module';
import { ChatService } from './chat.service';
import { GenerationRegistry } from './generation-registry';
import { MessagesController } from './messages.controller';
import { MessagesRepository } from './messages.repository';
import { MessagesService } from './messages.service';
import { TurnsRepository } from './turns.repository';

@Module({
  imports: [ConversationsModule, LlmModule, PromptsModule],
  controllers: [MessagesController],
  providers: [
    MessagesService,
    MessagesRepository,
    ChatService,
    TurnsRepository,
    GenerationRegistry,
  ],
})
export class MessagesModule {}
