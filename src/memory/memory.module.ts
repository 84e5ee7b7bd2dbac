import { Module } from '@nestjs/common';

import { TurnsRepository } from '../chat/turns.repository';
import { ConversationsModule } from '../conversations/conversations.module';
import { LlmModule } from '../llm/llm.module';
import { PromptsModule } from '../prompts/prompts.module';
import { ContextController } from './context.controller';
import { ContextService } from './context.service';
import { MemoryRepository } from './memory.repository';
import { MemoryService } from './memory.service';

/**
 * A conversation's memory: rolling summaries of what falls out of the window, context
 * resets, and what each prompt held. TurnsRepository is provided here too (stateless) for
 * the preview, which reads the window with the turn's own SQL.
 */
@Module({
  imports: [ConversationsModule, LlmModule, PromptsModule],
  controllers: [ContextController],
  providers: [ContextService, MemoryRepository, MemoryService, TurnsRepository],
  exports: [MemoryService],
})
export class MemoryModule {}
