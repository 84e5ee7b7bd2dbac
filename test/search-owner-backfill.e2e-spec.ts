import { newId } from '../src/common/ids';
import { HEAD_CONVERSATIONS } from '../src/conversations/search/conversation-search.repository';
import { OwnerBackfillRepository } from '../src/conversations/search/owner-backfill.repository';
import { SearchIndexRepository } from '../src/conversations/search/search-index.repository';
import { CONVERSATIONS, waitUntil, withTestApp } from './utils/harness';
import { twoOwners } from './utils/owners';

const { keyA: aliceKey, keyB: bobKey, env: owners } = twoOwners();
const ALICE = { 'X-API-Key': aliceKey };
const BOB = { 'X-API-Key': bobKey };
const NIL = '00000000-0000-0000-0000-000000000000';

interface Item {
  id: string;
  match?: { rank: number; messageId: string | null };
}

describe('Search while messages.owner_id is backfilled', () => {
  const t = withTestApp({
    env: {
      ...owners,
    },
  });
  const backfill = () => t.nest.get(OwnerBackfillRepository, { strict: false });

  async function search(q: string, headers = ALICE): Promise<Item[]> {
    const res = await t.http.get(`${CONVERSATIONS}?q=${q}`).set(headers).expect(200);
    return (res.body as { data: Item[] }).data;
  }

  async function chat(headers: Record<string, string>, message: string): Promise<string> {
    const id = await t.createConversation({}, headers);
    await t.send(id, message, { headers });
    return id;
  }

  /** Messages stored before the column existed: no owner_id, and the backfill not run. */
  async function forgetOwners(): Promise<void> {
    await t.prisma.$executeRaw`update messages set owner_id = null`;
    await t.prisma.$executeRaw`update backfills set done_at = null, position = ${NIL}::uuid
      where name = 'messages.owner_id'`;
  }

  it('should find messages stored before and after the backfill, and only the owner’s', async () => {
    await waitUntil(() => backfill().isDone());
    const old = [await chat(ALICE, 'a quokka at dawn'), await chat(ALICE, 'two quokka friends')];
    const bobs = await chat(BOB, 'a quokka of my own');
    await forgetOwners();
    const fresh = await chat(ALICE, 'one more quokka today');
    const stored = await t.prisma.message.findMany({ where: { conversationId: fresh } });
    expect(stored.map((m) => m.ownerId)).toEqual(['alice', 'alice']);

    const during = await search('quokka');
    expect(during.map((c) => c.id).sort()).toEqual([...old, fresh].sort());

    // One conversation a batch (owner by owner): the same answer at every step.
    let batches = 0;
    while (!(await backfill().fillBatch(1, 1)).done) {
      batches++;
      expect(await search('quokka')).toEqual(during);
    }
    expect(batches).toBeGreaterThanOrEqual(4);
    await t.nest.get(SearchIndexRepository, { strict: false }).mergePendingEntries();
    expect(await t.prisma.message.count({ where: { ownerId: null } })).toBe(0);
    expect(await search('quokka')).toEqual(during);
    expect((await search('quokka', BOB)).map((c) => c.id)).toEqual([bobs]);
    expect(await search('wombat')).toEqual([]);
    // Done: a batch after the last claims nothing and fills nothing.
    expect(await backfill().fillBatch(10, 10)).toMatchObject({ claimed: false, messages: 0 });
  });

  it('should find a message an older replica stored without owner_id after the backfill', async () => {
    await waitUntil(() => backfill().isDone());
    // Past the newest HEAD_CONVERSATIONS, so only the owner index can find it.
    const ids = Array.from({ length: HEAD_CONVERSATIONS + 1 }, () => newId());
    await t.prisma.conversation.createMany({
      data: ids.map((id, i) => ({
        id,
        ownerId: 'alice',
        lastMessageAt: new Date(Date.now() - (ids.length - i) * 60_000),
      })),
    });
    const oldest = ids[0];
    // The older replica's insert names no owner (as before the column existed).
    await t.prisma
      .$executeRaw`insert into messages (id, conversation_id, seq, role, content, status)
      values (${newId()}::uuid, ${oldest}::uuid, 0, 'user', 'a numbat at dusk', 'complete')`;
    const stored = await t.prisma.message.findMany({ where: { conversationId: oldest } });
    expect(stored.map((m) => m.ownerId)).toEqual(['alice']);
    expect((await search('numbat')).map((c) => c.id)).toEqual([oldest]);
    expect(await search('numbat', BOB)).toEqual([]);
  });

  it('should rank the newest conversations’ matches of a word in more than 1,000 messages', async () => {
    await waitUntil(() => backfill().isDone());
    const older = await chat(ALICE, 'tea time');
    const busy = await t.createConversation({}, ALICE);
    await t.prisma.message.createMany({
      data: Array.from({ length: 1100 }, (_, seq) => ({
        id: newId(),
        conversationId: busy,
        ownerId: 'alice',
        seq,
        role: seq % 2 ? ('assistant' as const) : ('user' as const),
        content: `tea number ${seq}`,
      })),
    });
    await t.prisma.conversation.update({
      where: { id: busy },
      data: { lastMessageAt: new Date() },
    });
    const found = await search('tea');
    expect(found.map((c) => c.id).sort()).toEqual([busy, older].sort());
    expect((await search('time')).map((c) => c.id)).toEqual([older]);
  });

  it('should rank a word the newest conversations hold 1,000 times among their matches only', async () => {
    await waitUntil(() => backfill().isDone());
    await t.prisma.conversation.deleteMany();
    // 21 conversations of 50 matches, oldest first: the newest 20 hold 1,000 matches.
    const ids: string[] = [];
    for (let i = 0; i < 21; i++) {
      const id = await t.createConversation({}, ALICE);
      await t.prisma.message.createMany({
        data: Array.from({ length: 50 }, (_, seq) => ({
          id: newId(),
          conversationId: id,
          ownerId: 'alice',
          seq,
          role: 'user' as const,
          content: `chai number ${seq}`,
        })),
      });
      await t.prisma.conversation.update({
        where: { id },
        data: { lastMessageAt: new Date(Date.now() - (21 - i) * 60_000) },
      });
      ids.push(id);
    }
    const res = await t.http.get(`${CONVERSATIONS}?q=chai&limit=50`).set(ALICE).expect(200);
    const found = (res.body as { data: Item[] }).data.map((c) => c.id);
    expect(found.sort()).toEqual(ids.slice(1).sort());
  });
});
