import { describeDatabaseError, toDatabaseUnavailable } from './database-errors';

/** Shaped like what Prisma 6 throws through the pg adapter when the server is gone. */
const prismaError = (code: string, cause: object): Error =>
  Object.assign(new Error('\nInvalid `prisma.conversation.findMany()` invocation:\n\n…'), {
    code,
    meta: { driverAdapterError: Object.assign(new Error('DriverAdapterError'), { cause }) },
  });

const socketError = (code: string): Error =>
  Object.assign(new Error(`connect ${code} 10.0.0.5:5432`), {
    code,
    syscall: 'connect',
    errno: -1,
  });

describe(toDatabaseUnavailable.name, () => {
  it('should turn an unreachable server, seen through Prisma, into 503 database_unavailable with Retry-After', () => {
    const error = toDatabaseUnavailable(
      prismaError('P1001', { kind: 'DatabaseNotReachable', host: '10.0.0.5', port: 5432 }),
    );
    expect(error).toMatchObject({ status: 503, code: 'database_unavailable', retryAfter: 5 });
    expect(error?.message).toContain('server not reachable');
    expect(error?.message).not.toContain('10.0.0.5');
  });

  it('should recognise the driver’s own connection errors', () => {
    for (const error of [
      socketError('ECONNREFUSED'),
      socketError('ECONNRESET'),
      new Error('Connection terminated unexpectedly'),
      new Error('timeout exceeded when trying to connect'),
      Object.assign(new Error('terminating connection due to administrator command'), {
        code: '57P01',
      }),
      Object.assign(new Error('connection failure'), { code: '08006' }),
    ]) {
      expect(toDatabaseUnavailable(error)?.code).toBe('database_unavailable');
    }
  });

  it('should leave other errors alone', () => {
    expect(toDatabaseUnavailable(new Error('boom'))).toBeUndefined();
    expect(
      toDatabaseUnavailable(prismaError('P2002', { kind: 'UniqueConstraintViolation' })),
    ).toBeUndefined();
    expect(toDatabaseUnavailable(undefined)).toBeUndefined();
  });
});

describe(describeDatabaseError.name, () => {
  it('should name the reason and its code, never the host', () => {
    expect(describeDatabaseError(socketError('ECONNREFUSED'))).toBe(
      'connection refused (ECONNREFUSED)',
    );
  });

  it('should give the first non-empty line of any other error', () => {
    expect(describeDatabaseError(new Error('\n\nsyntax error\nat …'))).toBe('syntax error');
  });
});
