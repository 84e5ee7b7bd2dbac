import { createHash } from 'node:crypto';
import http from 'node:http';

export interface Answer {
  status: number;
  ms: number;
  bytes: number;
  body: string;
}

/** One request with an API key; the body is kept (up to `keep` bytes) for checks. */
export function request(
  agent: http.Agent,
  method: string,
  url: string,
  apiKey: string,
  body?: object,
  keep = 1 << 20,
): Promise<Answer> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = http.request(url, {
      method,
      agent,
      headers: {
        'X-API-Key': apiKey,
        ...(payload === undefined
          ? {}
          : { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) }),
      },
    });
    req.setTimeout(120_000, () => req.destroy(new Error(`${method} ${url} timed out`)));
    req.on('error', reject);
    req.on('response', (res) => {
      let bytes = 0;
      const parts: Buffer[] = [];
      res.on('data', (part: Buffer) => {
        bytes += part.length;
        if (bytes <= keep) parts.push(part);
      });
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          ms: performance.now() - started,
          bytes,
          body: Buffer.concat(parts).toString('utf8'),
        }),
      );
      res.on('error', reject);
    });
    req.end(payload);
  });
}

/** The bench's API key of an owner (fixed, so every run's services accept it). */
export const apiKeyOf = (owner: string): string => `scale-bench-${owner}`;

/** API_KEYS for `owners`: owner:sha256(key) pairs. */
export const apiKeysEnv = (owners: string[]): string =>
  owners
    .map((owner) => `${owner}:${createHash('sha256').update(apiKeyOf(owner)).digest('hex')}`)
    .join(',');
