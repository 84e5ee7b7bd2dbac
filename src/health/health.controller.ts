import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';

import { ApiErrors } from '../common/http/api-errors.decorator';
import { LivenessDto, ReadinessDto } from './dto/health.dto';
import { HealthService } from './health.service';
import { SkipThrottle } from '@nestjs/throttler';

import { Public } from '../auth/current-owner.decorator';

@ApiTags('health')
@Public()
@SkipThrottle()
@Controller('health')
export class HealthController {
  constructor(private readonly health: HealthService) {}

  @Get()
  @ApiOperation({ summary: 'Liveness: the process is up', security: [] })
  @ApiOkResponse({ type: LivenessDto })
  live(): LivenessDto {
    return { status: 'ok', uptimeSeconds: Math.round(process.uptime()) };
  }

  @Get('ready')
  @ApiOperation({
    summary: 'Readiness: database (503 `not_ready` when down) and provider reachability',
    security: [],
  })
  @ApiOkResponse({ type: ReadinessDto })
  @ApiErrors(503)
  ready(): Promise<ReadinessDto> {
    return this.health.readiness();
  }
}
