/**
 * Work a request starts and does not wait for (a title, a summary), kept track of so that
 * shutdown can abort it and wait for it while the database is still there. Once stopping,
 * nothing new starts: turns still draining would start jobs the closing database fails.
 */
export class BackgroundJobs {
  private readonly jobs = new Set<{ abort: AbortController; done: Promise<void> }>();
  private stopped = false;

  get stopping(): boolean {
    return this.stopped;
  }

  /** Runs `work` in the background unless stopping; its signal aborts at shutdown. */
  run(work: (signal: AbortSignal) => Promise<void>): void {
    if (this.stopped) return;
    const abort = new AbortController();
    const job = { abort, done: work(abort.signal).catch(() => undefined) };
    this.jobs.add(job);
    void job.done.finally(() => this.jobs.delete(job));
  }

  /** Aborts every running job with `reason` and resolves once all have ended. */
  async stop(reason: Error): Promise<void> {
    this.stopped = true;
    for (const job of this.jobs) job.abort.abort(reason);
    await Promise.all([...this.jobs].map((job) => job.done));
  }
}
