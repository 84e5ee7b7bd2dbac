import { Injectable } from '@nestjs/common';
import { sql } from 'kysely';

import { AppException } from '../common/errors/app.exception';
import { withoutUrls } from '../common/text/redact-url';
import { LlmService } from '../llm/llm.service';
import { describeDatabaseError } from '../common/errors/database-errors';
import { Db } from '../database/db';
import { ServerToolsService } from '../tools';
import type { ReadinessDto } from './dto/health.dto';

const CHECK_TIMEOUT_MS = 2000;
const SERVER_STATUS = { ready: 'up', starting: 'starting', unavailable: 'down' } as const;

@Injectable()
export class HealthService {
  constructor(
    private readonly db: Db,
    private readonly llm: LlmService,
    private readonly tools: ServerToolsService,
  ) {}

  /**
   * The database is required: without it nothing works, so it alone fails readiness (503).
   * Providers are reported with their reachability but do not fail it: conversations
   * and history stay usable, and a provider outage is answered per turn. MCP servers
   * likewise (`mcp:<name>`): a turn whose tools are down goes on without them.
   */
  async readiness(): Promise<ReadinessDto> {
    const [database, providers] = await Promise.all([this.database(), this.llm.providerHealth()]);
    const checks: ReadinessDto['checks'] = { database };
    for (const p of providers) {
      checks[`provider:${p.name}`] = {
        status: p.status,
        latencyMs: p.latencyMs,
        circuit: p.circuit,
        // Anyone may read this: no upstream URL, even redacted (GET /api/v1/models has it).
        ...(p.reason && { reason: withoutUrls(p.reason) }),
      };
    }
    for (const server of this.tools.health()) {
      checks[`mcp:${server.name}`] = {
        status: SERVER_STATUS[server.status],
        latencyMs: null,
        tools: server.tools,
        ...(server.error && { reason: withoutUrls(server.error) }),
      };
    }
    if (database.status !== 'up') {
      throw new AppException('not_ready', `Database unreachable: ${database.reason}`);
    }
    return { status: 'ok', checks };
  }

  private async database(): Promise<ReadinessDto['checks'][string]> {
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        // A round trip on the pool every query uses, not a domain read: no repository.
        sql`select 1`.execute(this.db),
        new Promise((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)),
            CHECK_TIMEOUT_MS,
          );
        }),
      ]);
      return { status: 'up', latencyMs: Math.round(performance.now() - started) };
    } catch (error) {
      const reason = describeDatabaseError(error);
      return { status: 'down', latencyMs: Math.round(performance.now() - started), reason };
    } finally {
      clearTimeout(timer);
    }
  }
}
