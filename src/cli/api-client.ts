import { ApiError, CliError } from './errors';

export interface ClientOptions {
  /** Origin of the server (a path prefix is kept), e.g. http://localhost:3000 */
  url: string;
  token?: string;
  apiKey?: string;
}

export type Query = Record<string, string | number | undefined>;

interface RequestOptions {
  query?: Query;
  body?: unknown;
  accept?: string;
  signal?: AbortSignal;
}

/** The REST API under /api/v1, with the credentials given on the command line. */
export class ApiClient {
  private readonly origin: string;

  constructor(private readonly options: ClientOptions) {
    this.origin = options.url.replace(/\/+$/, '');
  }

  async get<T>(path: string, query?: Query): Promise<T> {
    return (await this.open('GET', path, { query })).json() as Promise<T>;
  }

  async post<T>(path: string, body?: unknown): Promise<T> {
    return (await this.open('POST', path, { body })).json() as Promise<T>;
  }

  /** Sends the request; a 2xx answer comes back unread, anything else is thrown as ApiError. */
  async open(method: string, path: string, options: RequestOptions = {}): Promise<Response> {
    const url = this.url(path, options.query);
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers: this.headers(options),
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        signal: options.signal,
      });
    } catch (error) {
      throw this.translate(error);
    }
    if (!response.ok) throw await toApiError(response);
    return response;
  }

  /** A network failure as the user should read it; aborts pass through untouched. */
  translate(error: unknown): unknown {
    if (!(error instanceof TypeError)) return error;
    const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
    const detail =
      typeof cause?.code === 'string'
        ? cause.code
        : typeof cause?.message === 'string'
          ? cause.message
          : '';
    if (error.message === 'terminated')
      return new CliError(`the connection to ${this.origin} was lost (${detail || 'terminated'})`);
    return new CliError(
      `cannot reach ${this.origin}: is the server running (npm start)?${detail ? ` (${detail})` : ''}`,
    );
  }

  private url(path: string, query: Query = {}): string {
    const url = new URL(`${this.origin}/api/v1${path}`);
    for (const [key, value] of Object.entries(query))
      if (value !== undefined) url.searchParams.set(key, String(value));
    return url.toString();
  }

  private headers(options: RequestOptions): Record<string, string> {
    const headers: Record<string, string> = { Accept: options.accept ?? 'application/json' };
    if (options.body !== undefined) headers['Content-Type'] = 'application/json';
    if (this.options.token) headers.Authorization = `Bearer ${this.options.token}`;
    if (this.options.apiKey) headers['X-API-Key'] = this.options.apiKey;
    return headers;
  }
}

async function toApiError(response: Response): Promise<ApiError> {
  const text = await response.text().catch(() => '');
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (isErrorBody(body)) return new ApiError(body.error, body.message, response.status, body);
  // Not this API's error body: a proxy, or another program on that port.
  const what = `${response.status} ${response.statusText}`.trim();
  return new ApiError(`http_${response.status}`, `${what} from ${response.url}`, response.status);
}

function isErrorBody(
  value: unknown,
): value is { error: string; message: string } & Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const { error, message } = value as Record<string, unknown>;
  return typeof error === 'string' && typeof message === 'string';
}
