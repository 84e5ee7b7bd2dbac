import { types } from 'pg';

// Apart from db.ts so that a process without Kysely (the bench's floor) reads times alike.

/**
 * A timestamp read with its microseconds: PostgreSQL stores them, a Date keeps
 * milliseconds. Columns of microsecond precision (a message's createdAt, completedAt) keep
 * two events of one statement distinct and in order; the ISO string carries the digits
 * past the millisecond when there are any, so times of millisecond columns read as before.
 */
export class PreciseDate extends Date {
  constructor(
    time: number,
    /** Microseconds past the millisecond, 0 to 999. */
    readonly micros: number,
  ) {
    super(time);
  }

  override toISOString(): string {
    const iso = super.toISOString();
    return this.micros ? `${iso.slice(0, -1)}${String(this.micros).padStart(3, '0')}Z` : iso;
  }
}

const TIMESTAMPTZ_OID = 1184;
type TextParser = (text: string) => unknown;
/** pg types its parsers `any`. */
const parserOf = (oid: number) => types.getTypeParser(oid, 'text') as TextParser;
const parseTimestamptz = parserOf(TIMESTAMPTZ_OID);
/** The fraction of a second as PostgreSQL writes it: `hh:mm:ss.ffffff` (zeros trimmed). */
const FRACTION = /:\d{2}\.\d{3}(\d{1,3})/;

function parsePreciseTimestamptz(text: string): Date {
  const date = parseTimestamptz(text) as Date;
  const micros = FRACTION.exec(text)?.[1];
  return micros ? new PreciseDate(date.getTime(), Number(micros.padEnd(3, '0'))) : date;
}

/** Kysely's results (text format): timestamptz as a PreciseDate, the rest as pg parses it. */
export const preciseTypes = {
  getTypeParser: (oid: number): TextParser =>
    oid === TIMESTAMPTZ_OID ? parsePreciseTimestamptz : parserOf(oid),
};
