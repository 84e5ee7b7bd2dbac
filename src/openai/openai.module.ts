import { Module } from '@nestjs/common';

import { FilesModule } from '../files';
import { LlmModule } from '../llm/llm.module';
import { CompletionFiles } from './completion-files';
import { OpenAiFilesController } from './openai-files.controller';
import { OpenAiController } from './openai.controller';
import { OpenAiService } from './openai.service';
import { OwnerSlots } from './owner-slots';

/** The OpenAI-compatible door (/v1): stateless completions by alias, with the response cache, and files. */
@Module({
  imports: [LlmModule, FilesModule],
  // Files first: OpenAiController ends with a catch-all for unknown /v1 paths.
  controllers: [OpenAiFilesController, OpenAiController],
  providers: [OpenAiService, OwnerSlots, CompletionFiles],
  exports: [OpenAiService],
})
export class OpenAiModule {}
