import type { LlmChunk } from './llm.types';

/** A call that hands its chunks to `onChunk` and settles when the reply has ended. */
export type ChunkCall<C = LlmChunk> = (
  signal: AbortSignal,
  onChunk: (chunk: C) => void,
) => Promise<void>;

/**
 * The chunks of a push-style call as an async iterable, for callers that read a reply in a
 * loop (titles, summaries, the OpenAI-compatible door). Its failure is thrown after the
 * chunks that came before it; leaving the loop early aborts the call upstream.
 */
export async function* pulledChunks<C = LlmChunk>(
  call: ChunkCall<C>,
  signal: AbortSignal,
): AsyncGenerator<C> {
  const left = new AbortController();
  const queue: C[] = [];
  let wake: (() => void) | undefined;
  let settled = false;
  let failure: { error: unknown } | undefined;
  const settle = (failed?: { error: unknown }): void => {
    settled = true;
    failure = failed;
    wake?.();
  };
  call(AbortSignal.any([signal, left.signal]), (chunk) => {
    queue.push(chunk);
    wake?.();
  }).then(
    () => settle(),
    (error: unknown) => settle({ error }),
  );
  try {
    for (;;) {
      while (queue.length > 0) yield queue.shift() as C;
      if (failure) throw failure.error;
      if (settled) return;
      await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
    }
  } finally {
    // Only a loop left early: a finished call's socket goes back to the keep-alive pool.
    if (!settled) left.abort();
  }
}
