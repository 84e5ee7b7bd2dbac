import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProperty, ApiTags } from '@nestjs/swagger';

import { ApiErrors } from '../common/http/api-errors.decorator';
import { HealthService } from './health.service';

export class LivenessDto {
  @ApiProperty({ example: 'ok' })
  status!: 'ok';

  @ApiProperty({ example: 3600 })
  uptimeSeconds!: number;
}

export class CheckDto {
  @ApiProperty({ enum: ['up', 'down'], example: 'up' })
  status!: 'up' | 'down';

  @ApiProperty({ example: 2 })
  latencyMs!: number;
}

export class ReadinessDto {
  @ApiProperty({ example: 'ok' })
  status!: 'ok';

  @ApiProperty({ example: { database: { status: 'up', latencyMs: 2 } } })
  checks!: Record<string, CheckDto>;
}

@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(private readonly health: HealthService) {}

  @Get()
  @ApiOperation({ summary: 'Liveness: the process is up' })
  @ApiOkResponse({ type: LivenessDto })
  live(): LivenessDto {
    return { status: 'ok', uptimeSeconds: Math.round(process.uptime()) };
  }

  @Get('ready')
  @ApiOperation({
    summary: 'Readiness: the database answers (503 `not_ready` with the reason otherwise)',
  })
  @ApiOkResponse({ type: ReadinessDto })
  @ApiErrors(503)
  ready(): Promise<ReadinessDto> {
    return this.health.readiness();
  }
}
