import { newId } from '../src/common/ids';
import { RetentionRepository } from '../src/conversations/retention/retention.repository';
import { waitUntil, withTestApp } from './utils/harness';

// Its own file: lines logged outside a request (the sweep's) go to the first app a test
// process starts, so this spec's app must be that one.
describe('Retention', () => {
  const t = withTestApp({
    logs: true,
    env: {
      RETENTION_DAYS: '30',
      RETENTION_SWEEP_MS: '200',
      // The files' own orphan sweep waits far longer: what goes here, retention deleted.
      FILE_ORPHAN_TTL: String(100 * 86_400),
    },
  });
  const old = (): Date => new Date(Date.now() - 40 * 24 * 3600_000);

  /** A text file of the default owner, once its text is read. */
  async function upload(text: string, filename: string): Promise<string> {
    const res = await t.http.post('/api/v1/files').attach('file', Buffer.from(text), filename);
    expect(res.status).toBe(201);
    const id = res.body.id as string;
    await waitUntil(
      async () => (await t.http.get(`/api/v1/files/${id}`)).body.status === 'ready',
      20_000,
    );
    return id;
  }

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

  it('should delete the files expired conversations leave unreferenced, and old orphans', async () => {
    const [only, shared, orphan, fresh] = [
      await upload('only in the expired conversation', 'only.txt'),
      await upload('in both conversations', 'shared.txt'),
      await upload('attached to nothing, long ago', 'orphan.txt'),
      await upload('attached to nothing, just now', 'fresh.txt'),
    ];
    const stale = await t.createConversation({ title: 'stale with files' });
    await t.send(stale, 'read these', { ...({ attachments: [only, shared] } as object) });
    const live = await t.createConversation({ title: 'live with a file' });
    await t.send(live, 'read this', { ...({ attachments: [shared] } as object) });
    await t.prisma.file.update({ where: { id: orphan }, data: { createdAt: old() } });
    await t.prisma.conversation.update({ where: { id: stale }, data: { lastMessageAt: old() } });

    const exists = async (id: string): Promise<boolean> =>
      (await t.http.get(`/api/v1/files/${id}`)).status === 200;
    await waitUntil(async () => !(await exists(only)) && !(await exists(orphan)), 10_000);
    expect(await t.prisma.conversation.count({ where: { id: stale } })).toBe(0);
    expect(await exists(shared)).toBe(true);
    expect(await exists(fresh)).toBe(true);
    // Their bytes went with them: only the kept files' blobs (and chunks) are left.
    const blobs = await t.prisma.fileBlob.findMany({ include: { files: true } });
    expect(blobs.flatMap((b) => b.files.map((f) => f.id)).sort()).toEqual([shared, fresh].sort());
    const chunks = await t.prisma.fileChunk.findMany({ select: { blobId: true } });
    expect(new Set(chunks.map((c) => c.blobId))).toEqual(new Set(blobs.map((b) => b.id)));
    const list = await t.http.get(`/api/v1/conversations/${live}/messages`).expect(200);
    expect(list.body.data[0].attachments.map((f: { id: string }) => f.id)).toEqual([shared]);
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
    expect((await retention.deleteExpired(10, 500, 5_000)).deleted).toBe(2);
    expect((await retention.deleteExpired(10, 500, 5_000)).deleted).toBe(1);
    expect((await retention.deleteExpired(10, 500, 5_000)).deleted).toBe(0);
  });
});
