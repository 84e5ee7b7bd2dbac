import type { INestApplication } from '@nestjs/common';

import type { Env } from '../config/env';
import { LlmService } from '../llm/llm.service';

/** A URL a person can open: a wildcard address is reachable as localhost. */
function originOf(env: Env): string {
  const host = ['0.0.0.0', '::'].includes(env.HOST) ? 'localhost' : env.HOST;
  return `http://${host.includes(':') ? `[${host}]` : host}:${env.PORT}`;
}

/**
 * The one line that says the service is up: where, on which database, and whether each
 * provider answers now (local servers are probed, cloud keys only checked for presence).
 * A provider that does not answer makes it a warning, not a failure: it may come up later.
 */
export async function startupSummary(
  app: INestApplication,
  env: Env,
  database: string,
): Promise<{ line: string; warning: boolean }> {
  const providers = await app.get(LlmService).providerHealth();
  const reachability = providers
    .map(
      (p) =>
        `${p.name}: ${p.status.replace('_', ' ')}${p.status === 'down' ? ` (${p.baseUrl})` : ''}`,
    )
    .join(', ');
  const down = providers.filter((p) => p.status === 'down');
  const later = down.length > 0 ? ` (${down.map((p) => p.name).join(', ')} may come up later)` : '';
  return {
    line: `listening on ${originOf(env)} (Swagger UI at /docs); database: ${database}; providers: ${reachability}${later}`,
    warning: down.length > 0,
  };
}
