/**
 * What a large file costs the service's memory: a FILE_BYTES upload (multipart, streamed
 * by the client from random bytes, so no two rounds deduplicate) and its download, each
 * with the service's RSS sampled every few milliseconds; the figure is the peak above the
 * RSS just before. Stored in PostgreSQL (file_chunks, the default). The floor stores no
 * files: nothing to compare with; the target is "a few 256 KiB chunks", not the file. The
 * same file embedded (base64) in a conversation's json export is measured the same way.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';

import { PNG_1X1 } from '../../test/utils/files';
import { createConversations } from '../lib/database';
import { progress } from '../lib/progress';
import { rssBytes } from '../lib/processes';
import { mb, ms, num, reportRow, Row } from '../lib/report';
import { defineScenario } from '../lib/scenario';
import type { Target } from '../lib/servers';
import { summarize } from '../lib/stats';

const SAMPLE_MS = 5;
const WRITE_BYTES = 64 * 1024;
const BOUNDARY = 'bench-files-boundary';

interface FilesConfig {
  fileBytes: number;
  fileRounds: number;
}

interface Transfer {
  peakRssGrowth: number;
  wallMs: number;
}

interface Round {
  upload: Transfer;
  download: Transfer;
  /** The json export of a conversation carrying the file, with include=files. */
  exported: Transfer;
}

export const files = defineScenario<FilesConfig>({
  name: 'files',
  summary: 'a large upload and download: peak RSS growth of the service, throughput',
  config: {
    full: { fileBytes: 50 * 1024 * 1024, fileRounds: 3 },
    smoke: { fileBytes: 5 * 1024 * 1024, fileRounds: 1 },
  },
  settings: (config) => [
    `files: ${config.fileRounds} rounds of a ${mb(config.fileBytes)} upload, download and json export (FILE_STORAGE=postgres)`,
  ],
  async run(bench, config) {
    const target = await bench.servers.service('service-files', bench.upstreams.fake, {
      env: {
        FILE_MAX_BYTES: String(config.fileBytes),
        FILE_QUOTA_BYTES: String(100 * config.fileBytes),
        HTTP_REQUEST_TIMEOUT_MS: '600000',
      },
    });
    const rounds: Round[] = [];
    try {
      // One small file first, so the first measured round does not pay for lazy loading.
      await measure(target, () => upload(target, 1024));
      for (let i = 0; i < config.fileRounds; i++)
        rounds.push(await round(target, config.fileBytes));
    } finally {
      await bench.servers.stop(target);
    }
    progress('files done');
    return { rows: fileRows(rounds, config.fileBytes), figures: rounds };
  },
});

async function round(target: Target, bytes: number): Promise<Round> {
  let id = '';
  const up = await measure(target, async () => (id = await upload(target, bytes)));
  const down = await measure(target, () => download(target, id, bytes));
  const conversation = await carrying(target, id);
  const exported = await measure(target, () => exportFiles(target, conversation, bytes));
  await request(target, 'DELETE', `/api/v1/conversations/${conversation}`);
  await request(target, 'DELETE', `/api/v1/files/${id}`);
  return { upload: up, download: down, exported };
}

/**
 * A conversation whose first message carries the file, written straight to the database:
 * a send refuses an image this large (20 MiB), the export does not care how it got there.
 */
async function carrying(target: Target, fileId: string): Promise<string> {
  const [conversation] = await createConversations(target.pool, 1, 2);
  await target.pool.query(
    `INSERT INTO message_attachments (message_id, file_id, position)
     SELECT id, $2, 0 FROM messages WHERE conversation_id = $1 AND seq = 0`,
    [conversation, fileId],
  );
  return conversation;
}

/** Reads the json export with include=files and drops it; checks it holds the file's base64. */
function exportFiles(target: Target, conversation: string, bytes: number): Promise<void> {
  const path = `/api/v1/conversations/${conversation}/export?include=files`;
  const base64 = 4 * Math.ceil(bytes / 3);
  return new Promise((resolve, reject) => {
    http
      .get(`${target.origin}${path}`, (res) => {
        let length = 0;
        res.on('data', (chunk: Buffer) => (length += chunk.length));
        res.on('end', () =>
          res.statusCode === 200 && length > base64
            ? resolve()
            : reject(new Error(`export answered ${res.statusCode} with ${length} bytes`)),
        );
      })
      .on('error', reject);
  });
}

/** Runs `work` while sampling the service's RSS; the peak above where it started. */
async function measure(target: Target, work: () => Promise<unknown>): Promise<Transfer> {
  const pid = target.child.pid;
  const before = rssBytes(pid);
  let peak = before;
  const timer = setInterval(() => (peak = Math.max(peak, rssBytes(pid))), SAMPLE_MS);
  const started = performance.now();
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
  peak = Math.max(peak, rssBytes(pid));
  return { peakRssGrowth: peak - before, wallMs: performance.now() - started };
}

/** Streams a multipart body of `bytes` random bytes; resolves with the new file's id. */
function upload(target: Target, bytes: number): Promise<string> {
  const head = Buffer.from(
    `--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="bench.bin"\r\n` +
      'Content-Type: application/octet-stream\r\n\r\n',
  );
  const tail = Buffer.from(`\r\n--${BOUNDARY}--\r\n`);
  return new Promise((resolve, reject) => {
    const req = http.request(`${target.origin}/api/v1/files`, {
      method: 'POST',
      headers: {
        'Content-Type': `multipart/form-data; boundary=${BOUNDARY}`,
        'Content-Length': head.length + bytes + tail.length,
      },
    });
    req.on('error', reject);
    req.on('response', (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () =>
        res.statusCode === 201
          ? resolve((JSON.parse(body) as { id: string }).id)
          : reject(new Error(`upload answered ${res.statusCode}: ${body}`)),
      );
    });
    // A whole PNG first (random bytes alone are no allowed type), then random bytes.
    const png = PNG_1X1;
    let sent = 0;
    const write = (): void => {
      while (sent < bytes) {
        const piece = sent === 0 ? png : randomBytes(Math.min(WRITE_BYTES, bytes - sent));
        sent += piece.length;
        if (!req.write(piece)) return void req.once('drain', write);
      }
      req.end(tail);
    };
    req.write(head);
    write();
  });
}

/** Reads the file's bytes and drops them; checks the length. */
function download(target: Target, id: string, bytes: number): Promise<void> {
  return new Promise((resolve, reject) => {
    http
      .get(`${target.origin}/api/v1/files/${id}/content`, (res) => {
        let length = 0;
        res.on('data', (chunk: Buffer) => (length += chunk.length));
        res.on('end', () =>
          length === bytes
            ? resolve()
            : reject(new Error(`downloaded ${length} of ${bytes} bytes`)),
        );
      })
      .on('error', reject);
  });
}

function request(target: Target, method: string, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${target.origin}${path}`, { method }, (res) => {
      res.resume();
      res.on('end', () => resolve());
    });
    req.on('error', reject);
    req.end();
  });
}

function fileRows(rounds: Round[], bytes: number): Row[] {
  const peak = (pick: (r: Round) => Transfer) =>
    Math.max(...rounds.map((r) => pick(r).peakRssGrowth));
  const rate = (pick: (r: Round) => Transfer) =>
    bytes / 1024 / 1024 / (summarize(rounds.map((r) => pick(r).wallMs)).p50 / 1000);
  const size = mb(bytes);
  return [
    reportRow(
      `files: ${size} upload, service RSS growth (peak of rounds)`,
      mb(peak((r) => r.upload)),
      '—',
      '',
    ),
    reportRow(
      `files: ${size} download, service RSS growth (peak of rounds)`,
      mb(peak((r) => r.download)),
      '—',
      '',
    ),
    reportRow(
      `files: ${size} embedded in a json export (include=files), service RSS growth (peak of rounds)`,
      mb(peak((r) => r.exported)),
      '—',
      '',
    ),
    reportRow(
      `files: ${size} upload, p50`,
      ms(summarize(rounds.map((r) => r.upload.wallMs)).p50),
      '—',
      '',
    ),
    reportRow(
      `files: upload throughput, MiB/s (p50)`,
      num(
        rate((r) => r.upload),
        1,
      ),
      '—',
      '',
    ),
    reportRow(
      `files: download throughput, MiB/s (p50)`,
      num(
        rate((r) => r.download),
        1,
      ),
      '—',
      '',
    ),
  ];
}
