import { Module } from '@nestjs/common';

import { LlmModule } from '../llm/llm.module';
import { OpenAiController } from './openai.controller';
import { OpenAiService } from './openai.service';
import { OwnerSlots } from './owner-slots';

/** The OpenAI-compatible door (/v1): stateless completions by alias, with the response cache. */
@Module({
  imports: [LlmModule],
  controllers: [OpenAiController],
  providers: [OpenAiService, OwnerSlots],
  exports: [OpenAiService],
})
export class OpenAiModule {}
