import { Injectable } from '@nestjs/common';
import { sql } from 'kysely';

import { Db } from '../database/db';

/** Where a process says it has gained listeners for an owner (the payload is the owner id). */
export const LISTENERS_CHANGED_CHANNEL = 'event_listeners_changed';

/**
 * Which processes have subscribers to which owner's events (OwnerEvents): the durable
 * truth behind each process's in-memory set, so a missed notification costs a reload, not
 * an event. A process's rows go with its `processes` row (foreign key, on delete cascade).
 */
@Injectable()
export class EventListenersRepository {
  constructor(private readonly db: Db) {}

  /** Records the process's listeners for the owner and, if that is news, tells every process. */
  async add(processId: string, ownerId: string): Promise<void> {
    await this.db
      .with('added', (db) =>
        db
          .insertInto('eventListeners')
          .values({ processId, ownerId })
          .onConflict((oc) => oc.doNothing())
          .returning('ownerId'),
      )
      .selectFrom('added')
      .select(sql`pg_notify(${LISTENERS_CHANGED_CHANNEL}, added.owner_id)`.as('notified'))
      .execute();
  }

  /** No notification: the others drop the owner at their next reload (until then, a few spare NOTIFYs). */
  async remove(processId: string, ownerId: string): Promise<void> {
    await this.db
      .deleteFrom('eventListeners')
      .where('processId', '=', processId)
      .where('ownerId', '=', ownerId)
      .execute();
  }

  /** Owners with listeners on a live process (one still beating), this one included. */
  async ownersListenedTo(deadAfterMs: number): Promise<string[]> {
    const rows = await this.db
      .selectFrom('eventListeners as l')
      .innerJoin('processes as p', 'p.id', 'l.processId')
      .select('l.ownerId')
      .distinct()
      .where('p.heartbeatAt', '>', sql<Date>`now() - ${deadAfterMs} * interval '1 millisecond'`)
      .execute();
    return rows.map((row) => row.ownerId);
  }
}
