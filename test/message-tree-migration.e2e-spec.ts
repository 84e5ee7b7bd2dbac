import { cpSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { Client } from 'pg';

import { newId } from '../src/common/ids';
import { applyMigrations } from '../src/database/migrations';
import { createTestDatabase, TestDatabase } from './utils/database';
import { CLOSED_PROVIDER_URL, CONVERSATIONS } from './utils/harness';
import { startTestApp, TestApp } from './utils/test-app';

const TREE_MIGRATION = '20261130070000_message_tree';
const ROOT = path.join(__dirname, '..');

/**
 * A copy of the package as it was before the tree: the migrations before this one, with the
 * CLI wrapper, the config and the dependencies linked from the real package.
 */
function packageBeforeTree(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'before-tree-'));
  for (const linked of ['node_modules', 'scripts'])
    symlinkSync(path.join(ROOT, linked), path.join(dir, linked));
  cpSync(path.join(ROOT, 'prisma.config.ts'), path.join(dir, 'prisma.config.ts'));
  cpSync(path.join(ROOT, 'prisma', 'schema.prisma'), path.join(dir, 'prisma', 'schema.prisma'));
  const migrations = path.join(ROOT, 'prisma', 'migrations');
  // The migrations before this one (named by timestamp), and the lock file.
  for (const entry of readdirSync(migrations).filter(
    (name) => name < TREE_MIGRATION || name === 'migration_lock.toml',
  ))
    cpSync(path.join(migrations, entry), path.join(dir, 'prisma', 'migrations', entry), {
      recursive: true,
    });
  return dir;
}

interface Row {
  id: string;
  conversation_id: string;
  parent_id: string | null;
  seq: number;
  content: string;
}

describe('Migration to a tree of messages', () => {
  let database: TestDatabase;
  let client: Client;
  let before: string;
  let app: TestApp | undefined;
  // Conversations filled through the previous schema: seqs with gaps, rows inserted out of order.
  const linear = { id: newId(), seqs: [0, 1, 2, 3, 5, 6] };
  const shuffled = { id: newId(), seqs: [3, 0, 2, 1] };
  const empty = { id: newId(), seqs: [] as number[] };
  let hadParentBefore: boolean | undefined;

  beforeAll(async () => {
    before = packageBeforeTree();
    database = await createTestDatabase({ empty: true });
    await applyMigrations(database.url, before);
    client = new Client({ connectionString: database.url });
    await client.connect();
    const columns = await client.query(
      "SELECT 1 FROM information_schema.columns WHERE table_name = 'messages' AND column_name = 'parent_id'",
    );
    hadParentBefore = columns.rowCount !== 0;
    for (const conversation of [linear, shuffled, empty]) {
      await client.query('INSERT INTO conversations (id, next_seq) VALUES ($1, $2)', [
        conversation.id,
        conversation.seqs.length,
      ]);
      for (const seq of conversation.seqs)
        await client.query(
          `INSERT INTO messages (id, conversation_id, seq, role, content, status)
           VALUES ($1, $2, $3, $4, $5, 'complete')`,
          [newId(), conversation.id, seq, seq % 2 === 0 ? 'user' : 'assistant', `m${seq}`],
        );
    }
    await applyMigrations(database.url);
  }, 120_000);

  afterAll(async () => {
    await app?.close();
    await client?.end();
    await database?.drop();
    rmSync(before, { recursive: true, force: true });
  });

  async function messages(conversationId: string): Promise<Row[]> {
    const result = await client.query<Row>(
      'SELECT id, conversation_id, parent_id, seq, content FROM messages WHERE conversation_id = $1 ORDER BY seq',
      [conversationId],
    );
    return result.rows;
  }

  async function leafOf(conversationId: string): Promise<string | null> {
    const result = await client.query<{ current_leaf_id: string | null }>(
      'SELECT current_leaf_id FROM conversations WHERE id = $1',
      [conversationId],
    );
    return result.rows[0].current_leaf_id;
  }

  it('should have filled the database through the schema before the tree', () => {
    expect(hadParentBefore).toBe(false);
  });

  it('should make each conversation one linear path ending at its last message, losing nothing', async () => {
    for (const conversation of [linear, shuffled]) {
      const rows = await messages(conversation.id);
      expect(rows.map((row) => row.seq)).toEqual([...conversation.seqs].sort((a, b) => a - b));
      expect(rows[0].parent_id).toBeNull();
      for (let i = 1; i < rows.length; i++) expect(rows[i].parent_id).toBe(rows[i - 1].id);
      expect(await leafOf(conversation.id)).toBe(rows.at(-1)!.id);
    }
    expect(await leafOf(empty.id)).toBeNull();
  });

  it('should keep a parent inside its own conversation', async () => {
    const [foreignParent] = await messages(linear.id);
    const insert = client.query(
      `INSERT INTO messages (id, conversation_id, parent_id, seq, role, content)
       VALUES ($1, $2, $3, 99, 'user', 'x')`,
      [newId(), shuffled.id, foreignParent.id],
    );
    await expect(insert).rejects.toMatchObject({ constraint: 'messages_parent_fkey' });
  });

  it('should serve the migrated path through the API', async () => {
    app = await startTestApp(database.url, {
      LMSTUDIO_BASE_URL: CLOSED_PROVIDER_URL,
      DEFAULT_MODEL: 'lmstudio/default',
    });
    const res = await app.http.get(`${CONVERSATIONS}/${linear.id}/messages`).expect(200);
    const read = res.body as { data: { content: string; siblingCount: number }[] };
    expect(read.data.map((m) => m.content)).toEqual(linear.seqs.map((seq) => `m${seq}`));
    expect(read.data.every((m) => m.siblingCount === 1)).toBe(true);
    const conversation = await app.http.get(`${CONVERSATIONS}/${linear.id}`).expect(200);
    expect(conversation.body.currentLeafId).toBe((await messages(linear.id)).at(-1)!.id);
  });

  it('should delete a migrated conversation with its whole tree', async () => {
    await client.query('DELETE FROM conversations WHERE id = $1', [shuffled.id]);
    expect(await messages(shuffled.id)).toEqual([]);
  });
});
