import { ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';

import { pdfSaying, PNG_1X1 } from './utils/files';
import { freePort } from './utils/free-port';
import { waitUntil, withTestApp } from './utils/harness';

const FILES = '/api/v1/files';
const BUCKET = 'chat-files';
const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

/**
 * s3rver (an S3-compatible server written for Node) in a process of its own, on a free
 * port, with an empty bucket; its default credentials are S3RVER/S3RVER.
 */
async function startS3rver(dir: string): Promise<{ child: ChildProcess; endpoint: string }> {
  const port = await freePort();
  const bin = path.join(__dirname, '..', 'node_modules', 's3rver', 'bin', 's3rver.js');
  const child = spawn(
    process.execPath,
    [bin, '-d', dir, '-a', '127.0.0.1', '-p', String(port), '--configure-bucket', BUCKET],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout?.on('data', (data: Buffer) => (output += data.toString()));
  child.stderr?.on('data', (data: Buffer) => (output += data.toString()));
  await waitUntil(() => /listening/i.test(output), 15_000).catch(() => {
    throw new Error(`s3rver did not start: ${output}`);
  });
  return { child, endpoint: `http://127.0.0.1:${port}` };
}

describe('Files in an S3-compatible bucket (FILE_STORAGE=s3)', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 's3rver-'));
  let s3: { child: ChildProcess; endpoint: string };
  let client: S3Client;

  beforeAll(async () => {
    s3 = await startS3rver(dir);
    client = new S3Client({
      endpoint: s3.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    });
  });
  afterAll(() => {
    client?.destroy();
    s3?.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  const t = withTestApp({
    env: () => ({
      FILE_STORAGE: 's3',
      S3_BUCKET: BUCKET,
      S3_ENDPOINT: s3.endpoint,
      S3_REGION: 'us-east-1',
      S3_ACCESS_KEY_ID: 'S3RVER',
      S3_SECRET_ACCESS_KEY: 'S3RVER',
      S3_FORCE_PATH_STYLE: 'true',
      RETENTION_DAYS: '30',
      RETENTION_SWEEP_MS: '200',
    }),
  });

  const objects = async (): Promise<string[]> =>
    ((await client.send(new ListObjectsV2Command({ Bucket: BUCKET }))).Contents ?? []).map(
      (o) => o.Key ?? '',
    );
  const download = (id: string) =>
    t.http
      .get(`${FILES}/${id}/content`)
      .buffer(true)
      .parse((res, done) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () => done(null, Buffer.concat(parts)));
      })
      .expect(200);

  it('should stream a multipart upload into the bucket and back, and delete it', async () => {
    // Larger than one 5 MiB part: lib-storage sends it as a multipart upload.
    const bytes = Buffer.alloc(7 * 1024 * 1024, 'lorem ipsum ');
    const res = await t.http.post(FILES).attach('file', bytes, 'big.txt').expect(201);
    expect(res.body).toMatchObject({ bytes: bytes.length, sha256: sha256(bytes) });
    expect(await objects()).toHaveLength(1);
    expect(await t.prisma.fileChunk.count()).toBe(0);
    const back = await download(res.body.id);
    expect(sha256(back.body as Buffer)).toBe(sha256(bytes));

    await t.http.delete(`${FILES}/${res.body.id}`).expect(204);
    expect(await objects()).toEqual([]);
  });

  it('should keep one object for the same bytes uploaded twice', async () => {
    const first = await t.http.post(FILES).attach('file', PNG_1X1, 'a.png').expect(201);
    const second = await t.http.post(FILES).attach('file', PNG_1X1, 'b.png').expect(201);
    expect(second.body.id).not.toBe(first.body.id);
    expect(await objects()).toHaveLength(1);
    expect(sha256((await download(second.body.id)).body as Buffer)).toBe(sha256(PNG_1X1));
  });

  it("should extract a document's text from the bucket", async () => {
    const res = await t.http
      .post(FILES)
      .attach('file', await pdfSaying('Stored in a bucket'), 'b.pdf')
      .expect(201);
    let status = 'processing';
    await waitUntil(async () => {
      status = (await t.http.get(`${FILES}/${res.body.id}`).expect(200)).body.status;
      return status !== 'processing';
    }, 20_000);
    expect(status).toBe('ready');
    const blob = await t.prisma.fileBlob.findFirstOrThrow({ where: { sha256: res.body.sha256 } });
    expect(blob).toMatchObject({ storage: 's3', storageKey: `files/${blob.id}` });
    expect(blob.text).toContain('Stored in a bucket');
  });

  it('should delete the objects of files retention left unreferenced, after their rows', async () => {
    const res = await t.http
      .post(FILES)
      .attach('file', Buffer.from('kept only by an old conversation'), 'old.txt')
      .expect(201);
    const id = res.body.id as string;
    await waitUntil(
      async () => (await t.http.get(`${FILES}/${id}`)).body.status === 'ready',
      20_000,
    );
    const blob = await t.prisma.fileBlob.findFirstOrThrow({ where: { sha256: res.body.sha256 } });
    const conversation = await t.createConversation();
    await t.send(conversation, 'read it', { ...({ attachments: [id] } as object) });
    expect(await objects()).toContain(blob.storageKey);

    await t.prisma.conversation.update({
      where: { id: conversation },
      data: { lastMessageAt: new Date(Date.now() - 40 * 24 * 3600_000) },
    });
    await waitUntil(async () => !(await objects()).includes(blob.storageKey!), 10_000);
    await t.http.get(`${FILES}/${id}`).expect(404);
    expect(await t.prisma.fileBlob.count({ where: { id: blob.id } })).toBe(0);
  });
});
