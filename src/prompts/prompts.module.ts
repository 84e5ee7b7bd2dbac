import { Module } from '@nestjs/common';

import { PromptManager } from './prompt-manager';

@Module({ providers: [PromptManager], exports: [PromptManager] })
export class PromptsModule {}
