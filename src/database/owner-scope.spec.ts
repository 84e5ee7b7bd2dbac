import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Distribution by owner (docs/scale.md, "Past one PostgreSQL"): every statement on owners'
 * data filters on owner_id, or is listed here with how it reaches that data. The lists are
 * the work left before `owner_id` can be the distribution column: a statement that starts
 * filtering on owner_id must leave its list (the test says so), a new one must join one.
 */
const QUERIES = path.join(__dirname, '..', 'queries');
const OWNER_TABLES = ['conversations', 'messages', 'memory_marks', 'turn_checkpoints'];

/** Keyed by a conversation or message id an earlier, owner-checked statement handed them. */
const THROUGH_A_KEY: Record<string, string> = {
  'HistoryRepository.buildPreview': 'the conversation the request was authorised for',
  'TurnLeaseRepository.buildRelease': 'the conversation this turn claimed for its owner',
  'TurnLeaseRepository.buildCheckpoint': 'the running turns this process claimed',
  'TurnsRepository.buildFinish': 'the conversation the claim (owner-checked) took',
};

/** Background work across owners: a fan-out query once data is distributed. */
const ACROSS_OWNERS: Record<string, string> = {
  'TurnLeaseRepository.buildSweepDead': 'claims of dead processes, whoever owns them',
  'RetentionRepository.expiredQuery': 'conversations past the retention horizon, any owner',
  'OwnerBackfillRepository.buildFillBatch': 'copies each conversation’s owner_id to its messages',
};

function statements(): { name: string; sql: string }[] {
  return readdirSync(QUERIES)
    .filter((file) => file.endsWith('.sql'))
    .flatMap((file) => {
      const parts = readFileSync(path.join(QUERIES, file), 'utf8').split(/^-- ([A-Z]\w+\.\w+).*$/m);
      const found: { name: string; sql: string }[] = [];
      for (let i = 1; i < parts.length; i += 2) found.push({ name: parts[i], sql: parts[i + 1] });
      return found;
    });
}

const touchesOwnerData = (sql: string): boolean =>
  OWNER_TABLES.some((table) => new RegExp(`\\b(from|join|into|update)\\s+"?${table}\\b`).test(sql));
/** A condition on owner_id (where, and, on), not an assignment (`set owner_id = …`). */
const filtersOnOwner = (sql: string): boolean =>
  /\b(where|and|on)\s+("?\w+"?\.)?"?owner_id"?\s*=/.test(sql);

describe('owner scope of the committed SQL (src/queries)', () => {
  const all = statements();

  it('should find the generated statements', () => {
    expect(all.length).toBeGreaterThan(5);
  });

  it('should filter every statement on owners’ data by owner_id, or list how it reaches it', () => {
    const unlisted = all
      .filter(({ sql }) => touchesOwnerData(sql) && !filtersOnOwner(sql))
      .map(({ name }) => name)
      .filter((name) => !(name in THROUGH_A_KEY) && !(name in ACROSS_OWNERS));
    expect(unlisted).toEqual([]);
  });

  it('should list only statements that exist and do not filter by owner yet', () => {
    for (const name of [...Object.keys(THROUGH_A_KEY), ...Object.keys(ACROSS_OWNERS)]) {
      const found = all.filter((statement) => statement.name === name);
      expect({ name, found: found.length > 0 }).toEqual({ name, found: true });
      expect({ name, filters: found.some(({ sql }) => filtersOnOwner(sql)) }).toEqual({
        name,
        filters: false,
      });
    }
  });
});
