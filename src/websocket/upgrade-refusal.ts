import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';

import type { AppException } from '../common/errors/app.exception';
import { renderError } from '../common/errors/all-exceptions.filter';

/**
 * Answers an upgrade request with the design's JSON error body and its status (401 with
 * WWW-Authenticate, 403, 404, 503) instead of switching protocols. Browsers only see a
 * failed connection; other clients get the same answer as over HTTP.
 */
export function refuseUpgrade(socket: Duplex, error: AppException, correlationId: string): void {
  const { status, body, headers } = renderError(error) as NonNullable<
    ReturnType<typeof renderError>
  >;
  const json = JSON.stringify({ ...body, correlationId });
  const head = [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}`,
    'Content-Type: application/json; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(json)}`,
    `X-Correlation-ID: ${correlationId}`,
    `X-Request-Id: ${correlationId}`,
    'Connection: close',
    ...Object.entries(headers ?? {}).map(([name, value]) => `${name}: ${value}`),
  ];
  if (socket.writable) socket.end(`${head.join('\r\n')}\r\n\r\n${json}`);
  else socket.destroy();
}
