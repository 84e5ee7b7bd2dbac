import { Injectable } from '@nestjs/common';

import type { AppException } from '../common/errors/app.exception';
import { Turn } from './turn';

/** The turns running in this process, by conversation. */
@Injectable()
export class TurnRegistry {
  private readonly byConversation = new Map<string, Turn>();

  add(turn: Turn): void {
    this.byConversation.set(turn.conversationId, turn);
    void turn.outcome.finally(() => {
      if (this.byConversation.get(turn.conversationId) === turn) {
        this.byConversation.delete(turn.conversationId);
      }
    });
  }

  get(conversationId: string): Turn | undefined {
    return this.byConversation.get(conversationId);
  }

  byTurnId(turnId: string): Turn | undefined {
    for (const turn of this.byConversation.values())
      if (turn.assistantMessageId === turnId) return turn;
    return undefined;
  }

  get size(): number {
    return this.byConversation.size;
  }

  /** Lets running turns finish until the deadline, then stops the rest with `reason`. */
  async drain(deadlineMs: number, reason: AppException): Promise<void> {
    const all = () => Promise.all([...this.byConversation.values()].map((g) => g.outcome));
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'deadline'>(
      (resolve) => (timer = setTimeout(() => resolve('deadline'), deadlineMs)),
    );
    const result = await Promise.race([all().then(() => 'done' as const), deadline]);
    clearTimeout(timer);
    if (result === 'deadline') {
      for (const turn of this.byConversation.values()) turn.stop(reason);
      await all();
    }
  }
}
