import { CONVERSATIONS, type TestHandle, waitUntil, withTestApp } from './utils/harness';

/** A reply long enough that its words fill pending-list pages, as real replies do. */
const REPLY = Array.from({ length: 300 }, (_, i) => `word${i} tea`).join(' ');

/** The two search indexes' pending lists together: pages, and messages in them. */
interface Pending {
  pages: number;
  tuples: number;
}

async function pending(t: TestHandle): Promise<Pending> {
  await t.prisma.$executeRawUnsafe('create extension if not exists pgstattuple');
  const [row] = await t.prisma.$queryRawUnsafe<{ pages: number; tuples: number }[]>(
    `select sum(pending_pages)::int as pages, sum(pending_tuples)::int as tuples
     from (select (pgstatginindex(i)).* from unnest(array[
       'messages_search_idx'::regclass, 'messages_owner_search_idx'::regclass]) i) s`,
  );
  return row;
}

async function chatAndSearch(t: TestHandle): Promise<void> {
  for (let i = 0; i < 3; i++) {
    t.fake.script({ kind: 'reply', content: REPLY });
    const id = await t.createConversation();
    await t.send(id, `question ${i} about tea`);
  }
  const found = await t.http.get(`${CONVERSATIONS}?q=word7`).expect(200);
  expect((found.body as { data: unknown[] }).data).toHaveLength(3);
}

describe('Search index merges (SEARCH_INDEX_MERGE_MS)', () => {
  describe('on an interval', () => {
    const t = withTestApp({ env: { SEARCH_INDEX_MERGE_MS: '100', TITLES: 'off' } });

    it('should leave no pending entries for searches to read shortly after turns', async () => {
      await chatAndSearch(t);
      let last: Pending | undefined;
      await waitUntil(async () => {
        last = await pending(t);
        return last.pages === 0 && last.tuples === 0;
      }, 5_000).catch(() => expect(last).toEqual({ pages: 0, tuples: 0 }));
      const metrics = (await t.http.get('/metrics').expect(200)).text;
      const merged = /^search_index_merged_pages_total (\d+)$/m.exec(metrics);
      expect(Number(merged?.[1])).toBeGreaterThan(0);
      expect(metrics).toMatch(/^search_index_merge_seconds_count [1-9]\d*$/m);
    });
  });

  describe('off', () => {
    const t = withTestApp({ env: { SEARCH_INDEX_MERGE_MS: '0', TITLES: 'off' } });

    it('should leave the turns’ entries pending, every probe reading them', async () => {
      await chatAndSearch(t);
      await new Promise((resolve) => setTimeout(resolve, 300));
      // pgstatginindex counts messages (heap tuples): 3 turns × 2 messages × 2 indexes.
      expect(await pending(t)).toEqual({ pages: expect.any(Number), tuples: 12 });
      const metrics = (await t.http.get('/metrics').expect(200)).text;
      expect(metrics).toMatch(/^search_index_merged_pages_total 0$/m);
    });
  });
});
