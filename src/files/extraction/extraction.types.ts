/** What the extraction worker is given (workerData); the bytes follow as messages. */
export interface ExtractJob {
  mimeType: string;
  maxChars: number;
}

/** How an extraction failed, stored as the file's error code. */
export type ExtractErrorCode =
  | 'extract_timeout'
  | 'extract_out_of_memory'
  | 'extract_encrypted'
  | 'extract_too_much_text'
  | 'extract_unreadable'
  | 'extract_interrupted'
  | 'extract_failed';

/** The worker's one answer. */
export type ExtractOutcome =
  | { ok: true; text: string; tokens: number }
  | { ok: false; code: ExtractErrorCode; message: string };

/** Messages to the worker: the document's bytes in order, then the end. */
export type ToWorker = { type: 'bytes'; data: Uint8Array } | { type: 'end' };
