import { newId } from '../src/common/ids';
import { RetentionRepository } from '../src/conversations/retention/retention.repository';
import { waitUntil, withTestApp } from './utils/harness';

// Its own file: lines logged outside a request (the sweep's) go to the first app a test
// process starts, so this spec's app must be that one.
describe('Retention', () => {
  const t = withTestApp({ logs: true, env: { RETENTION_DAYS: '30', RETENTION_SWEEP_MS: '200' } });

  it('should delete conversations inactive past RETENTION_DAYS, in batches, and nothing else', async () => {
    const old = new Date(Date.now() - 40 * 24 * 3600_000);
    const recent = await t.createConversation({ title: 'recent' });
    const stale = await t.createConversation({ title: 'stale' });
    await t.send(stale, 'old news');
    const running = await t.createConversation({ title: 'running' });
    const [{ id: processId }] = await t.prisma.process.findMany();
    // A turn holds this one (claimed by this live process): never deleted under it.
    await t.prisma.conversation.update({
      where: { id: running },
      data: { lastMessageAt: old, activeTurnId: newId(), activeProcessId: processId },
    });
    await t.prisma.conversation.update({ where: { id: stale }, data: { lastMessageAt: old } });
    const many = Array.from({ length: 1200 }, () => ({ id: newId(), lastMessageAt: old }));
    await t.prisma.conversation.createMany({ data: many });

    await waitUntil(async () => (await t.prisma.conversation.count()) === 2, 15_000);
    const left = await t.prisma.conversation.findMany({ select: { id: true } });
    expect(left.map((c) => c.id).sort()).toEqual([recent, running].sort());
    expect(await t.prisma.message.count({ where: { conversationId: stale } })).toBe(0);
    const metrics = (await t.http.get('/metrics').expect(200)).text;
    expect(metrics).toMatch(/^conversations_retention_deleted_total 1201$/m);
    const swept = () =>
      t.logs.filter(
        (line) => line.msg === 'deleted inactive conversations' && line.retentionDays === 30,
      );
    await waitUntil(
      () => swept().reduce((sum, line) => sum + Number(line.deleted), 0) === 1201,
      10_000,
    );
  });

  it('should stop a batch once about RETENTION_BATCH_MESSAGES messages are taken', async () => {
    // 20 days old: past the 10 days asked here, not the sweep's 30.
    const old = new Date(Date.now() - 20 * 24 * 3600_000);
    const big = Array.from({ length: 3 }, (_, i) => ({
      id: newId(),
      nextSeq: 3_000,
      lastMessageAt: new Date(old.getTime() + i),
    }));
    await t.prisma.conversation.createMany({ data: big });
    const retention = t.nest.get(RetentionRepository, { strict: false });
    // 0 and 3,000 messages before the first two: under 5,000; the third would pass it.
    expect(await retention.deleteExpired(10, 500, 5_000)).toBe(2);
    expect(await retention.deleteExpired(10, 500, 5_000)).toBe(1);
    expect(await retention.deleteExpired(10, 500, 5_000)).toBe(0);
  });
});
