import http from 'node:http';
import { setFlagsFromString } from 'node:v8';

import fc from 'fast-check';
import { SignJWT } from 'jose';

import { FuzzRequest, KnownValues, OpenApiDocument, requestsFor } from './fuzz/openapi-arbitraries';
import { withTestApp } from './utils/harness';

/**
 * Requests generated from /docs-json, well-formed and hostile, against the real app on the
 * embedded PostgreSQL with the fake LLM: none may answer 5xx (or an SSE internal_error),
 * and every one must answer within REQUEST_BOUND_MS. FUZZ_RUNS and FUZZ_SEED explore more
 * locally (FUZZ_STATS=1 prints the statuses seen); CI runs the default count with a fixed
 * seed, so a failure is reproducible.
 */
const RUNS = Number(process.env.FUZZ_RUNS ?? 250);
const SEED = Number(process.env.FUZZ_SEED ?? 20261130);
const TIME_LIMIT_MS = Number(process.env.FUZZ_TIME_LIMIT_MS ?? 20_000);
const REQUEST_BOUND_MS = 10_000;
const SECRET = 'fuzz-secret-that-is-long-enough-0123456789';
const UPSTREAM_MODELS = [
  'fake-model',
  'llama-3.3-70b-versatile',
  'llama-3.1-8b-instant',
  'openai/gpt-oss-120b',
  'qwen/qwen3-32b',
];

interface Outcome {
  status: number;
  text: string;
}

/** node:http rather than fetch, which refuses a body on GET and a few other things a client may send. */
function send(base: string, request: FuzzRequest): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${base}${request.path}`, {
      method: request.method,
      headers: request.headers,
      timeout: REQUEST_BOUND_MS,
      // A connection of its own: a kept-alive one the server just closed would fail the next.
      agent: false,
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${REQUEST_BOUND_MS} ms`)));
    req.on('error', reject);
    req.on('response', (res) => {
      // The owner event stream never ends by itself: its status line says how it answered.
      if (request.path.startsWith('/api/v1/events') && res.statusCode === 200) {
        res.destroy();
        return resolve({ status: 200, text: '' });
      }
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
      );
    });
    req.end(request.body);
  });
}

const describeRequest = (r: FuzzRequest): string =>
  JSON.stringify({ ...r, body: r.body === undefined ? undefined : String(r.body).slice(0, 300) });

/** V8's array-species protector (see hostile-input.e2e-spec.ts): a poisoned body breaks it. */
function arraySpeciesIntact(): boolean {
  setFlagsFromString('--allow-natives-syntax');
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  return (new Function('return %ArraySpeciesProtector()') as () => boolean)();
}

const token = (sub: string, expires = '1h'): Promise<string> =>
  new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setExpirationTime(expires)
    .sign(new TextEncoder().encode(SECRET));

describe.each([
  ['none', {}],
  ['jwt', { AUTH_MODE: 'jwt', JWT_SECRET: SECRET }],
] as const)('Fuzz from /docs-json (AUTH_MODE=%s)', (_, authEnv) => {
  const t = withTestApp({
    fake: { models: UPSTREAM_MODELS },
    groq: 'same-fake',
    env: {
      ...authEnv,
      LMSTUDIO_MODEL: 'fake-model',
      RATE_LIMIT_PER_MINUTE: '1000000',
      AUTH_FAILURES_PER_MINUTE: '1000000',
      LLM_MAX_RETRIES: '0',
    },
  });

  it(
    'should answer every generated request below 500, in bounded time',
    async () => {
      const intactBefore = arraySpeciesIntact();
      const doc = (await (await fetch(`${t.url}/docs-json`)).json()) as OpenApiDocument;
      const alice = await token('alice');
      const authorizations =
        'AUTH_MODE' in authEnv
          ? [
              // Mostly valid, so requests get past authentication to the rest.
              ...Array.from({ length: 5 }, () => `Bearer ${alice}`),
              `Bearer ${await token('bob')}`,
              `Bearer ${await token('bob')}`,
              `Bearer ${await token('carol', '-1m')}`,
              `Bearer ${await token('x'.repeat(201))}`,
              'Bearer not.a.jwt',
              'Basic YWxpY2U6c2VjcmV0',
              '',
            ]
          : [];
      const owner = authorizations[0] ? { Authorization: authorizations[0] } : undefined;
      const create = async (): Promise<string> => {
        const res = await fetch(`${t.url}/api/v1/conversations`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', ...owner },
          body: JSON.stringify({ title: 'fuzz', systemPrompt: 'Be brief.' }),
        });
        return ((await res.json()) as { id: string }).id;
      };
      const ids = await Promise.all([1, 2, 3, 4].map(create));
      // A turn in each, so routes on a message ({messageId}) find real ones too.
      const messageIds: string[] = [];
      for (const id of ids) {
        const res = await fetch(`${t.url}/api/v1/conversations/${id}/messages`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', ...owner },
          body: JSON.stringify({ message: 'hello' }),
        });
        const turn = (await res.json()) as {
          userMessage: { id: string };
          assistantMessage: { id: string };
        };
        messageIds.push(turn.userMessage.id, turn.assistantMessage.id);
      }
      // Requests keep finding conversations to work on, however many the run deletes.
      const replaceDeleted = async (path: string): Promise<void> => {
        const at = ids.findIndex((id) => path.includes(id));
        if (at >= 0) ids[at] = await create();
      };
      const models = (await (await fetch(`${t.url}/api/v1/models`, { headers: owner })).json()) as {
        data: { alias: string }[];
      };
      // Files of the owner, so routes on a file ({id}) find real ones too.
      const fileIds: string[] = [];
      for (const text of ['one', 'two']) {
        const form = new FormData();
        form.append('file', new Blob([`fuzz file ${text}`]), `${text}.txt`);
        const res = await fetch(`${t.url}/api/v1/files`, {
          method: 'POST',
          headers: owner,
          body: form,
        });
        fileIds.push(((await res.json()) as { id: string }).id);
      }
      const known: KnownValues = {
        ids,
        messageIds,
        strings: models.data.map((m) => m.alias),
        authorizations,
        fileIds,
      };

      const statuses = new Map<number, number>();
      await fc.assert(
        fc.asyncProperty(requestsFor(doc, known), async (request) => {
          let outcome: Outcome;
          try {
            outcome = await send(t.url, request);
          } catch (error) {
            throw new Error(`no answer (${String(error)}) to ${describeRequest(request)}`);
          }
          statuses.set(outcome.status, (statuses.get(outcome.status) ?? 0) + 1);
          if (request.method === 'DELETE' && outcome.status === 204)
            await replaceDeleted(request.path);
          if (outcome.status >= 500 || outcome.text.includes('"internal_error"'))
            throw new Error(
              `${outcome.status} ${outcome.text.slice(0, 500)} for ${describeRequest(request)}`,
            );
        }),
        {
          numRuns: RUNS,
          seed: SEED,
          endOnFailure: true,
          plugins: [fc.interruptAfterTimeLimit(TIME_LIMIT_MS)],
        },
      );

      if (process.env.FUZZ_STATS)
        process.stdout.write(`statuses: ${JSON.stringify([...statuses])}\n`);
      // Still serving, and no request left V8's array fast paths poisoned for the process.
      expect((await fetch(`${t.url}/health`)).status).toBe(200);
      if (intactBefore) expect(arraySpeciesIntact()).toBe(true);
      const total = [...statuses.values()].reduce((a, b) => a + b, 0);
      expect(total).toBeGreaterThan(Math.min(RUNS, 50));
      // Enough of those past authentication succeed that the deep paths ran too (the
      // bad credentials in the jwt run are meant to end at 401). One in 15: tool results,
      // responses and uploads mostly refuse a generated body, as they should.
      const count = (keep: (status: number) => boolean): number =>
        [...statuses].filter(([s]) => keep(s)).reduce((a, [, n]) => a + n, 0);
      expect(count((s) => s < 300)).toBeGreaterThan(count((s) => s !== 401) / 15);
    },
    TIME_LIMIT_MS + 30_000,
  );
});
