import type { IncomingMessage, ServerResponse } from 'node:http';

import type { NextFunction, Request, RequestHandler, Response } from 'express';
import helmet, { HelmetOptions } from 'helmet';

/**
 * helmet's headers, worked out once. With options that hold no functions (a CSP nonce would
 * be one) helmet sets the same headers on every response, so its thirteen middlewares per
 * request only recompute constants; here each request gets the recorded list.
 */
export function securityHeaders(options: HelmetOptions): RequestHandler {
  const headers = headersSetBy(helmet(options));
  return (_req: Request, res: Response, next: NextFunction): void => {
    for (const [name, value] of headers) res.setHeader(name, value);
    next();
  };
}

/** Runs a header-setting middleware once against a recorder. */
function headersSetBy(middleware: ReturnType<typeof helmet>): [string, string][] {
  const headers: [string, string][] = [];
  const recorder = {
    setHeader: (name: string, value: string | number) => headers.push([name, String(value)]),
    // helmet removes X-Powered-By, which setupApp already turns off in Express.
    removeHeader: () => undefined,
  };
  let failure: Error | undefined;
  middleware({} as IncomingMessage, recorder as unknown as ServerResponse, (error?: unknown) => {
    if (error) failure = error instanceof Error ? error : new Error('helmet refused its options');
  });
  if (failure) throw failure;
  return headers;
}
