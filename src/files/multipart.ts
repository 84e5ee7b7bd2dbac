import type { Readable } from 'node:stream';

import busboy from 'busboy';
import type { Request } from 'express';

import { AppException } from '../common/errors/app.exception';

/** The one file of an upload, as it streams in, and the form's text fields. */
export interface MultipartUpload {
  filename: string;
  stream: Readable;
  /** Every text field, once the whole body has been read (OpenAI's SDK sends `purpose` after the file). */
  fields: Promise<Record<string, string>>;
}

/** Bytes of multipart framing and small fields allowed beyond FILE_MAX_BYTES. */
const FORM_OVERHEAD_BYTES = 64 * 1024;

const invalid = (message: string): AppException => new AppException('invalid_upload', message);

/**
 * Starts reading a multipart/form-data body with busboy and resolves as soon as its `file`
 * part begins, so the service streams the bytes on to storage as they arrive. A body
 * declared larger than `maxBytes` (plus the form's framing) is refused before any byte is read.
 */
export function readMultipart(req: Request, maxBytes: number): Promise<MultipartUpload> {
  const declared = Number(req.headers['content-length']);
  if (declared > maxBytes + FORM_OVERHEAD_BYTES)
    return Promise.reject(tooLarge(maxBytes, declared));
  let parser: busboy.Busboy;
  try {
    parser = busboy({
      headers: req.headers,
      limits: { files: 1, fields: 10, fieldSize: 1024, parts: 12 },
      defParamCharset: 'utf8',
    });
  } catch {
    return Promise.reject(
      invalid('Send the file as multipart/form-data with the file in a part named "file"'),
    );
  }
  const fields: Record<string, string> = {};
  const finished = new Promise<Record<string, string>>((resolve, reject) => {
    parser.on('close', () => resolve(fields));
    parser.on('error', (error) =>
      reject(invalid(`The multipart body is malformed: ${String(error)}`)),
    );
  });
  // Read by whoever awaits it; until then a failure must not go unhandled.
  finished.catch(() => undefined);
  return new Promise<MultipartUpload>((resolve, reject) => {
    let found = false;
    parser.on('field', (name, value) => (fields[name] = value));
    parser.on('file', (name, stream, info) => {
      if (name !== 'file' || found) {
        stream.resume();
        return;
      }
      found = true;
      resolve({ filename: cleanFilename(info.filename), stream, fields: finished });
    });
    finished.then(
      () => found || reject(invalid('The form has no part named "file": send the file in it')),
      reject,
    );
    // A client gone mid-body ends nothing by itself (pipe forwards no abort): the file
    // stream fails, so the upload is dropped instead of waiting forever.
    req.once('close', () => {
      if (!req.complete)
        parser.destroy(new AppException('client_closed_request', 'The client went away'));
    });
    req.pipe(parser);
  });
}

export function tooLarge(maxBytes: number, bytes?: number): AppException {
  const size = bytes === undefined ? 'The file is' : `The body is ${bytes} bytes,`;
  return new AppException(
    'file_too_large',
    `${size} larger than FILE_MAX_BYTES (${maxBytes} bytes); send a smaller file`,
  );
}

/** A name to show and to offer on download: no path, no control characters, at most 255 characters. */
export function cleanFilename(raw: string | undefined): string {
  const base = (raw ?? '').split(/[\\/]/).pop() ?? '';
  // eslint-disable-next-line no-control-regex
  const clean = base.replace(/[\u0000-\u001f\u007f]/g, '').trim();
  return (clean || 'file').slice(0, 255);
}

/** Reading stopped early (a refused upload): the rest of the body is read and dropped. */
export function discardRest(req: Request): void {
  req.unpipe();
  req.resume();
}

/**
 * Runs `work` on the upload of `req`; when it fails before the body was read to its end
 * (a refused type, a size or quota passed), the rest is read and dropped so the client
 * gets the error instead of a reset connection.
 */
export async function withUpload<T>(
  req: Request,
  maxBytes: number,
  work: (upload: MultipartUpload) => Promise<T>,
): Promise<T> {
  try {
    return await work(await readMultipart(req, maxBytes));
  } catch (error) {
    discardRest(req);
    throw error;
  }
}
