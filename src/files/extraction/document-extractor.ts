import { existsSync } from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';

import type { ExtractJob, ExtractOutcome, ToWorker } from './extraction.types';

export interface ExtractLimits {
  timeoutMs: number;
  memoryMb: number;
  maxChars: number;
}

/**
 * The worker's file: the compiled .js beside this one, or, run from the TypeScript sources
 * (ts-jest, tsx), the .ts through tsx's loader.
 */
function startWorker(job: ExtractJob, memoryMb: number): Worker {
  const options = {
    workerData: job,
    resourceLimits: { maxOldGenerationSizeMb: memoryMb, maxYoungGenerationSizeMb: 16 },
    stdout: true,
    stderr: true,
  };
  const compiled = path.join(__dirname, 'extract.worker.js');
  if (existsSync(compiled)) return new Worker(compiled, options);
  const source = path.join(__dirname, 'extract.worker.ts');
  const boot = `require('tsx/cjs/api').register(); require(${JSON.stringify(source)});`;
  return new Worker(boot, { ...options, eval: true });
}

/**
 * Extracts a document's text in a worker thread of its own: bounded in time (terminated
 * at timeoutMs) and memory (its own heap limit), so a hostile file ends in a failed
 * outcome and the server goes on. One worker per document; they are short-lived.
 */
export async function extractInWorker(
  mimeType: string,
  pieces: AsyncIterable<Buffer>,
  limits: ExtractLimits,
  signal: AbortSignal,
): Promise<ExtractOutcome> {
  const worker = startWorker({ mimeType, maxChars: limits.maxChars }, limits.memoryMb);
  // Its stdout/stderr are piped so a library's console noise stays out of the logs; drained.
  worker.stdout.resume();
  worker.stderr.resume();
  let timer: NodeJS.Timeout | undefined;
  const outcome = new Promise<ExtractOutcome>((resolve) => {
    const fail = (code: Extract<ExtractOutcome, { ok: false }>['code'], message: string): void =>
      resolve({ ok: false, code, message });
    timer = setTimeout(
      () =>
        fail(
          'extract_timeout',
          `Extraction took longer than FILE_EXTRACT_TIMEOUT_MS (${limits.timeoutMs} ms)`,
        ),
      limits.timeoutMs,
    );
    signal.addEventListener('abort', () => fail('extract_interrupted', 'The server is stopping'), {
      once: true,
    });
    worker.once('message', (message: ExtractOutcome) => resolve(message));
    worker.once('error', (error: Error & { code?: string }) =>
      error.code === 'ERR_WORKER_OUT_OF_MEMORY'
        ? fail(
            'extract_out_of_memory',
            `Extraction needed more than FILE_EXTRACT_MEMORY_MB (${limits.memoryMb} MB)`,
          )
        : fail('extract_failed', String(error)),
    );
    worker.once('exit', () => fail('extract_failed', 'The extraction worker stopped'));
  });
  try {
    const send = async (): Promise<void> => {
      for await (const piece of pieces) {
        const data = new Uint8Array(piece);
        worker.postMessage({ type: 'bytes', data } satisfies ToWorker, [data.buffer]);
      }
      worker.postMessage({ type: 'end' } satisfies ToWorker);
    };
    const sent = send().then(
      () => undefined,
      (error: unknown): ExtractOutcome => ({
        ok: false,
        code: 'extract_failed',
        message: `Could not read the file: ${String(error)}`,
      }),
    );
    return await Promise.race([sent.then((failed) => failed ?? outcome), outcome]);
  } finally {
    clearTimeout(timer);
    await worker.terminate();
  }
}
