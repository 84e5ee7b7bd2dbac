import { Injectable } from '@nestjs/common';
import { sql } from 'kysely';

import { Db } from '../database/db';

/**
 * Whether the process holding a conversation's claim (`c.active_process_id`, with the
 * conversation aliased `c`) is still beating: the one liveness test every claim uses.
 */
export const holderAlive = (deadAfterMs: number) =>
  sql<boolean>`exists (select 1 from processes p where p.id = c.active_process_id
    and p.heartbeat_at > now() - ${deadAfterMs} * interval '1 millisecond')`;

/** The processes table beyond the heartbeat (which ClusterService writes on its own connection). */
@Injectable()
export class ProcessesRepository {
  constructor(private readonly db: Db) {}

  /** Forgets processes long gone (their rows only serve liveness checks; their event_listeners go too). */
  async forgetSilentFor(olderThanMs: number): Promise<void> {
    await this.db
      .deleteFrom('processes')
      .where('heartbeatAt', '<', sql<Date>`now() - ${olderThanMs} * interval '1 millisecond'`)
      .execute();
  }
}
