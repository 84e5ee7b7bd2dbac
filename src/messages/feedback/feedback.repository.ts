import { Injectable } from '@nestjs/common';
import { sql } from 'kysely';

import { Db } from '../../database/db';
import type { Rating } from './dto/feedback.dto';

/** The message feedback is about, as its owner may see it. */
export interface RatedMessage {
  role: string;
  /** The alias that wrote the reply. */
  model: string | null;
}

export interface StoredFeedback {
  rating: Rating;
  comment: string | null;
  feedbackAt: Date;
}

@Injectable()
export class FeedbackRepository {
  constructor(private readonly db: Db) {}

  /** The message, if it is in this conversation of this owner. */
  findOwned(ownerId: string, conversationId: string, messageId: string) {
    return this.db
      .selectFrom('messages as m')
      .innerJoin('conversations as c', 'c.id', 'm.conversationId')
      .select(['m.role', 'm.model'])
      .where('m.id', '=', messageId)
      .where('m.conversationId', '=', conversationId)
      .where('c.ownerId', '=', ownerId)
      .executeTakeFirst() as Promise<RatedMessage | undefined>;
  }

  async set(
    messageId: string,
    rating: Rating,
    comment: string | null,
  ): Promise<StoredFeedback | undefined> {
    const row = await this.db
      .updateTable('messages')
      .set({ feedbackRating: rating, feedbackComment: comment, feedbackAt: sql<Date>`now()` })
      .where('id', '=', messageId)
      .where('role', '=', 'assistant')
      .returning(['feedbackComment', 'feedbackAt'])
      .executeTakeFirst();
    return row?.feedbackAt
      ? { rating, comment: row.feedbackComment, feedbackAt: row.feedbackAt }
      : undefined;
  }

  async clear(messageId: string): Promise<void> {
    await this.db
      .updateTable('messages')
      .set({ feedbackRating: null, feedbackComment: null, feedbackAt: null })
      .where('id', '=', messageId)
      .execute();
  }
}
