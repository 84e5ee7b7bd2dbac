import http from 'node:http';

import type { Target } from './servers';

/** The model id the upstreams answer as. */
export const MODEL = 'fake-model';
export const DEFAULT_SYSTEM_PROMPT =
  'You are a helpful assistant. Answer accurately and concisely, and say so when you do not know.';
export const SYSTEM_MESSAGE = { role: 'system', content: DEFAULT_SYSTEM_PROMPT };
/** Seeded short messages in each fresh conversation of the load scenarios. */
export const SEED_HISTORY = 6;

export const turnPath = (id: string): string => `/api/v1/conversations/${id}/messages`;
export const streamUrl = (target: Target, id: string): string =>
  `${target.origin}/api/v1/conversations/${id}/messages/stream`;
/** The body of a whole-reply turn sent to the service or the floor. */
export const TURN_BODY = JSON.stringify({ message: 'bench turn' });

// What the service sends upstream for a fresh load-scenario conversation, give or take a turn.
const loadHistory = Array.from({ length: SEED_HISTORY + 6 }, (_, s) =>
  s % 2 === 0
    ? { role: 'user', content: 'bench turn' }
    : { role: 'assistant', content: `Echo: bench turn [messages=${s + 1}]` },
);
/** The direct baseline of a load-scenario turn: the same completion sent to the upstream. */
export const DIRECT_BODY = {
  model: MODEL,
  max_tokens: 1024,
  messages: [SYSTEM_MESSAGE, ...loadHistory, { role: 'user', content: 'bench turn' }],
};
export const keepAliveAgent = (): http.Agent =>
  new http.Agent({ keepAlive: true, maxSockets: Infinity });

export function postJson(
  url: string,
  body: object,
  agent: http.Agent,
): Promise<{ status: number; ms: number }> {
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = http.request(url, {
      method: 'POST',
      agent,
      headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) },
    });
    req.setTimeout(60_000, () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.on('response', (res) => {
      res.resume();
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, ms: performance.now() - started }),
      );
    });
    req.end(payload);
  });
}
