import {
  ArgumentsHost,
  BadRequestException,
  ConflictException,
  HttpException,
  Logger,
  NotFoundException,
  PayloadTooLargeException,
} from '@nestjs/common';

import { AllExceptionsFilter, renderError } from './all-exceptions.filter';
import { AppException, ValidationFailedException } from './app.exception';

describe(renderError.name, () => {
  it('should render an AppException with its status, code, message and headers', () => {
    const error = new AppException('provider_rate_limited', 'Slow down', {
      headers: { 'Retry-After': '3' },
    });
    expect(renderError(error)).toEqual({
      status: 429,
      body: { statusCode: 429, error: 'provider_rate_limited', message: 'Slow down' },
      headers: { 'Retry-After': '3' },
    });
  });

  it('should include the details of a validation failure', () => {
    const details = [{ field: 'title', errors: ['title must be a string'] }];
    const rendered = renderError(new ValidationFailedException(details));
    expect(rendered).toEqual({
      status: 400,
      body: {
        statusCode: 400,
        error: 'validation_failed',
        message: 'Invalid request: title: title must be a string',
        details,
      },
      headers: undefined,
    });
  });

  it('should leave details out of the body when there are none', () => {
    const rendered = renderError(new AppException('conversation_not_found', 'Gone'));
    expect(rendered?.body).not.toHaveProperty('details');
    expect(rendered?.headers).toBeUndefined();
  });

  it('should map NotFoundException to not_found', () => {
    expect(renderError(new NotFoundException('Cannot GET /nope'))).toEqual({
      status: 404,
      body: { statusCode: 404, error: 'not_found', message: 'Cannot GET /nope' },
    });
  });

  it('should map BadRequestException with a list of messages to bad_request, joined', () => {
    expect(renderError(new BadRequestException(['a', 'b']))).toEqual({
      status: 400,
      body: { statusCode: 400, error: 'bad_request', message: 'a; b' },
    });
  });

  it('should map PayloadTooLargeException to payload_too_large', () => {
    const rendered = renderError(new PayloadTooLargeException());
    expect(rendered?.status).toBe(413);
    expect(rendered?.body).toEqual({
      statusCode: 413,
      error: 'payload_too_large',
      message: 'Payload Too Large',
    });
  });

  it('should map other known statuses and fall back to http_error for unmapped ones', () => {
    expect(renderError(new ConflictException('busy'))?.body.error).toBe('conflict');
    expect(renderError(new HttpException('I am a teapot', 418))).toEqual({
      status: 418,
      body: { statusCode: 418, error: 'http_error', message: 'I am a teapot' },
    });
  });

  it('should return undefined for unknown errors', () => {
    expect(renderError(new Error('secret database detail'))).toBeUndefined();
    expect(renderError('a string')).toBeUndefined();
    expect(renderError(undefined)).toBeUndefined();
  });
});

interface FakeResponse {
  headersSent: boolean;
  statusCode?: number;
  body?: unknown;
  headers: Record<string, string>;
  ended: boolean;
  status(code: number): FakeResponse;
  json(body: unknown): FakeResponse;
  setHeader(name: string, value: string): FakeResponse;
  end(): FakeResponse;
}

function fakeResponse(headersSent = false): FakeResponse {
  const response: FakeResponse = {
    headersSent,
    headers: {},
    ended: false,
    status(code) {
      response.statusCode = code;
      return response;
    },
    json(body) {
      response.body = body;
      return response;
    },
    setHeader(name, value) {
      response.headers[name] = value;
      return response;
    },
    end() {
      response.ended = true;
      return response;
    },
  };
  return response;
}

function fakeHost(request: { id?: unknown }, response: FakeResponse): ArgumentsHost {
  const http = { getRequest: () => request, getResponse: () => response, getNext: () => undefined };
  return { switchToHttp: () => http } as unknown as ArgumentsHost;
}

describe(AllExceptionsFilter.name, () => {
  const filter = new AllExceptionsFilter();
  let logError: jest.SpyInstance;

  beforeEach(() => {
    logError = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
  });
  afterEach(() => logError.mockRestore());

  it('should answer an unknown error with 500 internal_error and the correlation id, leaking nothing', () => {
    const response = fakeResponse();
    const error = new Error('connection to db-host-42 failed: password xyz');
    filter.catch(error, fakeHost({ id: 'corr-123' }, response));

    expect(response.statusCode).toBe(500);
    expect(response.body).toEqual({
      statusCode: 500,
      error: 'internal_error',
      message: expect.stringContaining('corr-123') as unknown,
      correlationId: 'corr-123',
    });
    const text = JSON.stringify(response.body);
    expect(text).not.toContain('db-host-42');
    expect(text).not.toContain('password');
    expect(text).not.toContain(String(error.stack).split('\n')[1].trim());
    expect(text).not.toContain('Error:');
    expect(response.body).not.toHaveProperty('stack');
    expect(response.headers).toEqual({});
  });

  it('should log server errors with the correlation id and the request', () => {
    const error = new Error('boom');
    const request = { id: 'corr-9' };
    filter.catch(error, fakeHost(request, fakeResponse()));
    expect(logError).toHaveBeenCalledWith(
      { err: error, correlationId: 'corr-9', req: request },
      'request failed',
    );
  });

  it('should log an expected 5xx (a refusal while draining) as one warning, without a stack', () => {
    const logWarn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const request = { id: 'corr-7' };
    const refusal = new AppException('shutting_down', 'This server is shutting down', {
      retryAfter: 1,
    });
    filter.catch(refusal, fakeHost(request, fakeResponse()));
    expect(logError).not.toHaveBeenCalled();
    expect(logWarn).toHaveBeenCalledWith(
      { correlationId: 'corr-7', req: request, code: 'shutting_down' },
      'This server is shutting down',
    );
    logWarn.mockRestore();
  });

  it('should not log client errors', () => {
    filter.catch(new NotFoundException(), fakeHost({ id: 'c' }, fakeResponse()));
    expect(logError).not.toHaveBeenCalled();
  });

  it('should send an AppException with its status, headers and the correlation id', () => {
    const response = fakeResponse();
    const error = new AppException('provider_rate_limited', 'Slow down', {
      headers: { 'Retry-After': '2' },
    });
    filter.catch(error, fakeHost({ id: 'corr-1' }, response));
    expect(response.statusCode).toBe(429);
    expect(response.headers).toEqual({ 'Retry-After': '2' });
    expect(response.body).toEqual({
      statusCode: 429,
      error: 'provider_rate_limited',
      message: 'Slow down',
      correlationId: 'corr-1',
    });
  });

  it('should use an empty correlation id when the request has none', () => {
    const response = fakeResponse();
    filter.catch(new BadRequestException('nope'), fakeHost({}, response));
    expect(response.body).toMatchObject({ error: 'bad_request', correlationId: '' });
  });

  it('should only end the response when a stream has already started', () => {
    const response = fakeResponse(true);
    filter.catch(new Error('mid-stream'), fakeHost({ id: 'c' }, response));
    expect(response.ended).toBe(true);
    expect(response.statusCode).toBeUndefined();
    expect(response.body).toBeUndefined();
  });
});
