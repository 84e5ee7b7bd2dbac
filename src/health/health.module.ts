import { Module } from '@nestjs/common';

import { LlmModule } from '../llm/llm.module';
import { ToolsModule } from '../tools';
import { HealthController } from './health.controller';
import { HealthService } from './health.service';

@Module({
  imports: [LlmModule, ToolsModule],
  controllers: [HealthController],
  providers: [HealthService],
})
export class HealthModule {}
