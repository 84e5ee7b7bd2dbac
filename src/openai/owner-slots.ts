import { Injectable } from '@nestjs/common';

import { AppException } from '../common/errors/app.exception';
import { AppConfig } from '../config/app-config';

/** MAX_CONCURRENT_GENERATIONS_PER_OWNER for the stateless door's upstream calls, per process. */
@Injectable()
export class OwnerSlots {
  private readonly used = new Map<string, number>();
  private readonly max: number;

  constructor(config: AppConfig) {
    this.max = config.get('MAX_CONCURRENT_GENERATIONS_PER_OWNER');
  }

  /** Takes a slot synchronously (so two requests cannot both take the last); returns its release. */
  take(owner: string): () => void {
    const used = this.used.get(owner) ?? 0;
    if (used >= this.max) {
      throw new AppException(
        'too_many_generations',
        `At most ${this.max} replies may be generated at once; wait for one to finish`,
        { retryAfter: 1 },
      );
    }
    this.used.set(owner, used + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.used.get(owner) ?? 1) - 1;
      if (left > 0) this.used.set(owner, left);
      else this.used.delete(owner);
    };
  }
}
