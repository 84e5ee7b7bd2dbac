import { ApiExtraModels, ApiProperty, getSchemaPath } from '@nestjs/swagger';

export class LivenessDto {
  @ApiProperty({ example: 'ok' })
  status!: 'ok';

  @ApiProperty({ example: 3600 })
  uptimeSeconds!: number;
}

export class CheckDto {
  @ApiProperty({
    enum: ['up', 'down', 'configured', 'not_configured', 'starting'],
    description: 'starting: an MCP server being connected, or restarted after it went away',
    example: 'up',
  })
  status!: 'up' | 'down' | 'configured' | 'not_configured' | 'starting';

  @ApiProperty({ type: Number, nullable: true, example: 2 })
  latencyMs!: number | null;

  @ApiProperty({
    required: false,
    description: 'Why it is not up (upstream URLs left out; GET /api/v1/models names them)',
    example:
      'Could not reach LM Studio at (URL hidden): start its local server or set LMSTUDIO_BASE_URL',
  })
  reason?: string;

  @ApiProperty({
    required: false,
    enum: ['closed', 'open', 'half-open'],
    description:
      "A provider's circuit breaker: open while it cools down after consecutive failures " +
      '(PROVIDER_FAILURES_TO_OPEN, PROVIDER_COOLDOWN_MS), during which it is not called; ' +
      'half-open lets one trial call through',
    example: 'closed',
  })
  circuit?: 'closed' | 'open' | 'half-open';

  @ApiProperty({
    required: false,
    description: 'An MCP server: how many tools it serves now (0 unless up)',
    example: 3,
  })
  tools?: number;
}

@ApiExtraModels(CheckDto)
export class ReadinessDto {
  @ApiProperty({ example: 'ok' })
  status!: 'ok';

  @ApiProperty({
    type: 'object',
    additionalProperties: { $ref: getSchemaPath(CheckDto) },
    description:
      'database (fails readiness when down), provider:<name> and mcp:<server> (MCP_SERVERS_FILE; both reported only)',
    example: {
      database: { status: 'up', latencyMs: 2 },
      'provider:lmstudio': { status: 'up', latencyMs: 4, circuit: 'closed' },
      'mcp:files': { status: 'up', latencyMs: null, tools: 3 },
    },
  })
  checks!: Record<string, CheckDto>;
}
