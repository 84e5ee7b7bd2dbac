import { Injectable, OnModuleDestroy } from '@nestjs/common';

/**
 * Whether the process is draining. Nest calls onModuleDestroy first on close (SIGTERM or
 * SIGINT in main.ts), before running turns are drained and long before the HTTP server
 * stops listening; from then on new work is refused so that the drain can end.
 */
@Injectable()
export class ShutdownState implements OnModuleDestroy {
  private draining = false;

  get isDraining(): boolean {
    return this.draining;
  }

  onModuleDestroy(): void {
    this.draining = true;
  }
}
