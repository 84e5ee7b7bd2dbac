import { Module } from '@nestjs/common';

import { ConversationsModule } from '../conversations';
import { HistoryModule } from '../history/history.module';
import { LlmModule } from '../llm/llm.module';
import { PromptsModule } from '../prompts/prompts.module';
import { ContextController } from './context.controller';
import { ContextService } from './context.service';
import { MemoryRepository } from './memory.repository';
import { MemoryService } from './memory.service';

/**
 * A conversation's memory: rolling summaries of what falls out of the window, context
 * resets, and what each prompt held (the preview reads the window with the turn's own SQL,
 * from HistoryModule).
 */
@Module({
  imports: [ConversationsModule, HistoryModule, LlmModule, PromptsModule],
  controllers: [ContextController],
  providers: [ContextService, MemoryRepository, MemoryService],
  exports: [MemoryService],
})
export class MemoryModule {}
