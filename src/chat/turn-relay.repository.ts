import { Injectable } from '@nestjs/common';
import { sql } from 'kysely';

import { Db } from '../database/db';
import type { TurnEventFrame } from './turn-events';

/** The relay table through which a turn's frames reach followers on other processes. */
@Injectable()
export class TurnRelayRepository {
  constructor(private readonly db: Db) {}

  /**
   * Stores frames `first`, `first + 1`, … of a turn (a frame already stored is kept) and
   * signals `channel` with the turn's id, in one statement: the signal goes out with the rows.
   */
  async append(
    channel: string,
    turnId: string,
    first: number,
    frames: TurnEventFrame[],
  ): Promise<void> {
    const column = <T>(values: T[], type: string) => sql`unnest(${values}::${sql.raw(type)}[])`;
    await this.db
      .with('relayed', (db) =>
        db
          .insertInto('turnEvents')
          .columns(['turnId', 'idx', 'event', 'eventId', 'data'])
          .expression(
            db.selectNoFrom([
              sql<string>`${turnId}::uuid`.as('turnId'),
              column(
                frames.map((_, i) => first + i),
                'int',
              ).as('idx'),
              column(
                frames.map((f) => f.event),
                'text',
              ).as('event'),
              column(
                frames.map((f) => String(f.id)),
                'bigint',
              ).as('eventId'),
              column(
                frames.map((f) => JSON.stringify(f.data)),
                'text',
              ).as('data'),
            ]),
          )
          .onConflict((oc) => oc.doNothing())
          .returning('idx'),
      )
      .selectNoFrom(sql`pg_notify(${channel}, ${turnId})`.as('notified'))
      .execute();
  }

  /** The turn's frames from index `fromIdx` on, in order. */
  async framesFrom(turnId: string, fromIdx: number): Promise<TurnEventFrame[]> {
    const rows = await this.db
      .selectFrom('turnEvents')
      .select(['event', 'eventId', 'data'])
      .where('turnId', '=', turnId)
      .where('idx', '>=', fromIdx)
      .orderBy('idx')
      .execute();
    return rows.map((row) => ({
      id: Number(row.eventId),
      event: row.event,
      data: JSON.parse(row.data) as unknown,
    }));
  }

  /** Forgets frames stored more than `keepMs` ago. */
  async deleteOlderThan(keepMs: number): Promise<void> {
    await this.db
      .deleteFrom('turnEvents')
      .where('createdAt', '<', sql<Date>`now() - ${keepMs} * interval '1 millisecond'`)
      .execute();
  }
}
