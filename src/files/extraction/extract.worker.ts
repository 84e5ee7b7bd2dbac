/**
 * The extraction worker (a worker thread with a heap limit, see DocumentExtractor): reads a
 * document's bytes from its messages, answers its text and token count, or an error code.
 * A PDF bomb runs out of this thread's heap, never the server's.
 */
import { parentPort, workerData } from 'node:worker_threads';

import { countTokensConservatively } from '../../prompts/token-counter';
import { documentText, ExtractError } from './document-text';
import type { ExtractJob, ExtractOutcome, ToWorker } from './extraction.types';

const job = workerData as ExtractJob;
const pieces: Uint8Array[] = [];

async function extract(): Promise<ExtractOutcome> {
  try {
    const text = await documentText(job.mimeType, Buffer.concat(pieces), job.maxChars);
    pieces.length = 0;
    return { ok: true, text, tokens: countTokensConservatively(text) };
  } catch (error) {
    if (error instanceof ExtractError)
      return { ok: false, code: error.code, message: error.message };
    return { ok: false, code: 'extract_failed', message: String(error) };
  }
}

parentPort?.on('message', (message: ToWorker) => {
  if (message.type === 'bytes') pieces.push(message.data);
  else void extract().then((outcome) => parentPort?.postMessage(outcome));
});
