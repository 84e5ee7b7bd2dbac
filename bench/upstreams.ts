/**
 * The upstreams, in a process of their own (so they do not share the load generator's
 * event loop): the test suite's FakeLlmServer, and the chunk-stamping upstream. Prints one
 * JSON line `{ "fake": origin, "stamp": origin }` once both listen.
 *
 * Env: BENCH_LATENCY_MS, BENCH_TOKEN_DELAY_MS (the fake's options; 0 by default).
 */
import { FakeLlmServer } from '../test/fake-llm/fake-llm-server';
import { StampUpstream } from './stamp-upstream';

async function main(): Promise<void> {
  const fake = new FakeLlmServer({
    latencyMs: Number(process.env.BENCH_LATENCY_MS ?? 0),
    tokenDelayMs: Number(process.env.BENCH_TOKEN_DELAY_MS ?? 0),
  });
  const stamp = new StampUpstream();
  const [fakeUrl, stampUrl] = await Promise.all([fake.start(), stamp.start()]);
  // The fake records every request for tests to inspect; a benchmark would only grow its heap.
  setInterval(() => fake.reset(), 1000).unref();
  const stop = (): void => {
    void Promise.all([fake.stop(), stamp.stop()]).finally(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.stdout.write(`${JSON.stringify({ fake: fakeUrl, stamp: stampUrl })}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`upstreams failed: ${String(error)}\n`);
  process.exit(1);
});
