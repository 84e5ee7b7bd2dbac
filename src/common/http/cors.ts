import type { NextFunction, Request, RequestHandler, Response } from 'express';

import { AppException } from '../errors/app.exception';

/** Pages a development server on this machine serves (Vite, Next, …), whatever their port. */
const LOOPBACK_ORIGIN = /^http:\/\/(localhost|127\.0\.0\.1|\[::1\])(:\d{1,5})?$/;

const ALLOWED_METHODS = 'GET,HEAD,POST,PUT,PATCH,DELETE';

/**
 * Request headers a page may send: this API's own, and those OpenAI clients send (`openai`
 * with dangerouslyAllowBrowser adds `x-stainless-*` to every request).
 */
const ALLOWED_HEADERS = new Set([
  'accept',
  'authorization',
  'cache-control',
  'content-type',
  'idempotency-key',
  'last-event-id',
  'openai-beta',
  'openai-organization',
  'openai-project',
  'x-api-key',
  'x-correlation-id',
  'x-request-id',
]);
const ALLOWED_HEADER_PREFIXES = ['x-stainless-'];

/** Response headers a page may read: each one this service sends that a client acts on. */
export const EXPOSED_HEADERS = [
  'Content-Disposition',
  'Retry-After',
  'X-RateLimit-Limit',
  'X-RateLimit-Remaining',
  'X-RateLimit-Reset',
  'X-Cache',
  'X-Correlation-ID',
  'X-Request-Id',
  'X-Process-Time',
].join(', ');

const DEFAULT_HINT =
  ' (pages on http://localhost:* are allowed by default only with AUTH_MODE=none and HOST=127.0.0.1)';

/** HOST values that serve this machine only. */
export const isLoopbackHost = (host: string): boolean =>
  host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);

const headerAllowed = (name: string): boolean =>
  ALLOWED_HEADERS.has(name) || ALLOWED_HEADER_PREFIXES.some((prefix) => name.startsWith(prefix));

/** The settings the policy reads (the validated environment's, by the same names). */
export interface CorsSettings {
  CORS_ORIGINS?: string;
  AUTH_MODE: string;
  HOST: string;
}

/**
 * Which pages may call this service, over HTTP (CORS) and WebSocket alike: the server's own
 * origin, CORS_ORIGINS (`*`: any), and development servers on this machine when the service
 * is itself a development one (AUTH_MODE=none, reachable from this machine only).
 */
export class CorsPolicy {
  private readonly listed: Set<string>;
  private readonly loopbackPages: boolean;

  constructor(settings: CorsSettings) {
    this.listed = new Set(
      (settings.CORS_ORIGINS ?? '')
        .split(',')
        .map((origin) => origin.trim())
        .filter(Boolean),
    );
    this.loopbackPages = settings.AUTH_MODE === 'none' && isLoopbackHost(settings.HOST);
  }

  /** Whether a page from `origin` may call the server that `host` (the Host header) names. */
  allows(origin: string, host: string | undefined): boolean {
    if (this.listed.has('*') || this.listed.has(origin)) return true;
    if (this.loopbackPages && LOOPBACK_ORIGIN.test(origin)) return true;
    try {
      return new URL(origin).host === host;
    } catch {
      return false; // "null": a sandboxed or file: page
    }
  }

  /** What to tell the operator about a refused origin. */
  refusalHint(origin: string): string {
    return (
      `set CORS_ORIGINS=${origin} (comma-separated) to let its pages call this API` +
      (LOOPBACK_ORIGIN.test(origin) ? DEFAULT_HINT : '')
    );
  }
}

/**
 * CORS on every route, before routing: a preflight is answered here (204, or 403
 * `origin_not_allowed`), never by the router's 404. A refused origin is logged once.
 */
export function cors(policy: CorsPolicy, warn: (message: string) => void): RequestHandler {
  const warned = new Set<string>();
  const refuse = (origin: string): AppException => {
    // Bounded: a client making up origins cannot grow it forever.
    if (!warned.has(origin) && warned.size < 1000) {
      warned.add(origin);
      warn(`Refused cross-origin requests from ${origin}: ${policy.refusalHint(origin)}`);
    }
    return new AppException(
      'origin_not_allowed',
      `Pages from ${origin} may not call this API; add the origin to CORS_ORIGINS`,
    );
  };

  return (req: Request, res: Response, next: NextFunction): void => {
    const origin = req.headers.origin;
    if (origin === undefined) return next();
    res.vary('Origin');
    const preflight =
      req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined;
    if (!policy.allows(origin, req.headers.host)) {
      const refusal = refuse(origin);
      // An actual request runs as before: the browser keeps its answer from the page.
      return preflight ? next(refusal) : next();
    }
    res.setHeader('Access-Control-Allow-Origin', origin);
    if (!preflight) {
      res.setHeader('Access-Control-Expose-Headers', EXPOSED_HEADERS);
      return next();
    }
    res.vary('Access-Control-Request-Headers');
    res.setHeader('Access-Control-Allow-Methods', ALLOWED_METHODS);
    // The allowed ones of the requested headers: the browser names any other in its error.
    const requested = (req.headers['access-control-request-headers'] ?? '')
      .split(',')
      .map((name) => name.trim().toLowerCase())
      .filter((name) => name && headerAllowed(name));
    if (requested.length > 0) res.setHeader('Access-Control-Allow-Headers', requested.join(','));
    res.setHeader('Access-Control-Max-Age', '600');
    res.status(204).end();
  };
}
