import { CircuitBreaker } from './circuit-breaker';

describe(CircuitBreaker.name, () => {
  let now = 0;
  const breaker = () => new CircuitBreaker({ failuresToOpen: 3, cooldownMs: 1000, now: () => now });

  beforeEach(() => {
    now = 0;
  });

  it('should open after N consecutive failures, and not before', () => {
    const b = breaker();
    b.failed();
    b.failed();
    expect(b.tryAcquire()).toBe(true);
    b.failed();
    expect(b.state).toBe('open');
    expect(b.tryAcquire()).toBe(false);
    expect(b.retryInMs).toBe(1000);
  });

  it('should count only consecutive failures', () => {
    const b = breaker();
    b.failed();
    b.failed();
    b.succeeded();
    b.failed();
    b.failed();
    expect(b.state).toBe('closed');
  });

  it('should let one trial through after the cooldown: success closes, failure reopens', () => {
    const b = breaker();
    for (let i = 0; i < 3; i++) b.failed();
    now = 1000;
    expect(b.state).toBe('half-open');
    expect(b.tryAcquire()).toBe(true);
    expect(b.tryAcquire()).toBe(false);
    b.failed();
    expect(b.state).toBe('open');
    now = 2000;
    expect(b.tryAcquire()).toBe(true);
    b.succeeded();
    expect(b.state).toBe('closed');
    expect(b.tryAcquire()).toBe(true);
  });

  it('should free the trial of a call that said nothing (cancelled)', () => {
    const b = breaker();
    for (let i = 0; i < 3; i++) b.failed();
    now = 1000;
    expect(b.tryAcquire()).toBe(true);
    b.released();
    expect(b.tryAcquire()).toBe(true);
  });
});
