/**
 * The exports' RSS growth alone, on the scale scenario's cached database (built by
 * `npm run bench -- --only scale`), one service and nothing else running:
 * `npm run -s build && PROBE=account,medium,long,account npx tsx bench/export-probe.ts [node flags]`.
 * PROBE lists the downloads in order: medium (500 messages), long (10,000), account (the big
 * owner's json export), accountmd (its markdown), warm (searches and message pages, no
 * figure); `:N` pauses N ms after each piece read (a
 * slow client). Node flags go to the service, e.g. --trace-gc or --max-semi-space-size=1.
 */
import { spawn } from 'node:child_process';
import http from 'node:http';

import { Pool } from 'pg';

import { EmbeddedDatabase } from '../src/database/embedded-database';
import { freePort, rssBytes } from './lib/processes';
import { bigOwner } from './scale/dataset';
import { apiKeyOf, apiKeysEnv } from './scale/http';
import { SCALE_DATABASES, scaleDataDir } from './scale/seed';

const BIG = bigOwner(0);
const mb = (b: number) => `${(b / 1024 / 1024).toFixed(1)} MB`;

function get(url: string, slowMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers: { 'X-API-Key': apiKeyOf(BIG) } }, (res) => {
      let bytes = 0;
      res.on('data', (part: Buffer) => {
        bytes += part.length;
        if (slowMs > 0) {
          res.pause();
          setTimeout(() => res.resume(), slowMs);
        }
      });
      res.on('end', () => resolve(bytes));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

async function measure(pid: number, url: string, slowMs = 0) {
  const before = rssBytes(pid);
  let peak = before;
  const timer = setInterval(() => (peak = Math.max(peak, rssBytes(pid))), 5);
  const started = performance.now();
  const bytes = await get(url, slowMs);
  clearInterval(timer);
  peak = Math.max(peak, rssBytes(pid));
  return { bytes, growth: peak - before, before, ms: performance.now() - started };
}

async function main() {
  const flags = process.argv.slice(2);
  const { dataDir } = await scaleDataDir(1, console.log);
  const db = new EmbeddedDatabase({ dataDir, port: await freePort(), persistent: true });
  await db.start();
  const pool = new Pool({ connectionString: db.url(SCALE_DATABASES.big), max: 2 });
  pool.on('error', () => undefined);
  const paths = await pool.query<{ id: string }>(
    'SELECT id FROM conversations WHERE owner_id = $1 ORDER BY next_seq DESC LIMIT 2',
    [BIG],
  );
  const [long, medium] = paths.rows.map((r) => r.id);
  const port = await freePort();
  const child = spawn(process.execPath, [...flags, 'dist/main.js'], {
    env: {
      PATH: process.env.PATH,
      NODE_ENV: 'production',
      PORT: String(port),
      HOST: '127.0.0.1',
      DATABASE_URL: db.url(SCALE_DATABASES.big),
      AUTH_MODE: 'api-key',
      API_KEYS: apiKeysEnv([BIG]),
      OWNER_BACKFILL: 'off',
      LOG_LEVEL: 'warn',
      DB_POOL_SIZE: '20',
      TITLES: 'off',
      SUMMARIES: 'off',
      LMSTUDIO_BASE_URL: 'http://127.0.0.1:9/v1',
      LMSTUDIO_MODEL: 'x',
      DEFAULT_MODEL: 'lmstudio/default',
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  try {
    for (let i = 0; i < 100; i++) {
      const up = await fetch(`http://127.0.0.1:${port}/health/live`).catch(() => null);
      if (up?.ok) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    const base = `http://127.0.0.1:${port}/api/v1`;
    const pid = child.pid!;
    const one = (id: string) => `${base}/conversations/${id}/export?format=json`;
    const which = (process.env.PROBE ?? 'medium,medium,long,medium,long,account').split(',');
    for (const w of which) {
      const [name, slow] = w.split(':');
      if (name === 'warm') {
        // Other work first, as the bench's service has done: searches and pages.
        for (let i = 0; i < 60; i++) {
          await get(`${base}/conversations?q=tea`, 0);
          await get(`${base}/conversations/${long}/messages?order=desc`, 0);
          await get(`${base}/conversations/${long}/messages`, 0);
        }
        console.log(`warm: rss ${mb(rssBytes(pid))}`);
        continue;
      }
      const url =
        name === 'account'
          ? `${base}/export?format=json`
          : name === 'accountmd'
            ? `${base}/export?format=markdown`
            : one(name === 'long' ? long : medium);
      const r = await measure(pid, url, Number(slow ?? 0));
      console.log(
        `${w}: ${mb(r.growth)} growth for ${mb(r.bytes)} in ${(r.ms / 1000).toFixed(1)} s (rss before ${mb(r.before)})`,
      );
    }
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    await pool.end();
    await db.stop();
  }
}

void main();
