export type CircuitState = 'closed' | 'open' | 'half-open';

export interface CircuitBreakerOptions {
  /** Consecutive failures that open the circuit. */
  failuresToOpen: number;
  /** How long an open circuit refuses calls before one trial call is let through. */
  cooldownMs: number;
  now?: () => number;
}

/**
 * A provider that keeps failing is left alone for a while: after `failuresToOpen`
 * consecutive failures the circuit opens and calls are refused without touching the
 * network; after `cooldownMs` one trial call is let through (half-open), whose success
 * closes it and whose failure opens it again. Pure: no timers, time is read when asked.
 */
export class CircuitBreaker {
  private failures = 0;
  private openedAt: number | null = null;
  private trialRunning = false;
  private readonly now: () => number;

  constructor(private readonly options: CircuitBreakerOptions) {
    this.now = options.now ?? Date.now;
  }

  get state(): CircuitState {
    if (this.openedAt === null) return 'closed';
    return this.now() - this.openedAt >= this.options.cooldownMs ? 'half-open' : 'open';
  }

  get consecutiveFailures(): number {
    return this.failures;
  }

  /** Milliseconds until an open circuit lets a trial call through (0 unless open). */
  get retryInMs(): number {
    if (this.openedAt === null) return 0;
    return Math.max(0, this.openedAt + this.options.cooldownMs - this.now());
  }

  /** Whether a call may go now; a half-open circuit admits one trial call at a time. */
  tryAcquire(): boolean {
    const state = this.state;
    if (state === 'closed') return true;
    if (state === 'open' || this.trialRunning) return false;
    this.trialRunning = true;
    return true;
  }

  succeeded(): void {
    this.failures = 0;
    this.openedAt = null;
    this.trialRunning = false;
  }

  failed(): void {
    this.failures++;
    const trial = this.trialRunning;
    this.trialRunning = false;
    if (trial || this.failures >= this.options.failuresToOpen) this.openedAt = this.now();
  }

  /** A call that ended without saying anything about the provider's health (e.g. cancelled). */
  released(): void {
    this.trialRunning = false;
  }
}
