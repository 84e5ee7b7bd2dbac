import { Injectable } from '@nestjs/common';

import { AppException } from '../../common/errors/app.exception';
import { MetricsService } from '../../metrics/metrics.service';
import { FeedbackResponseDto, PutFeedbackDto } from './dto/feedback.dto';
import { FeedbackRepository, RatedMessage } from './feedback.repository';

export class MessageNotFoundException extends AppException {
  constructor(id: string) {
    super(
      'message_not_found',
      `Message ${id} is not in this conversation; list its messages with GET …/messages`,
    );
  }
}

/** Thumbs up or down on the owner's assistant replies. */
@Injectable()
export class FeedbackService {
  constructor(
    private readonly feedback: FeedbackRepository,
    private readonly metrics: MetricsService,
  ) {}

  async put(
    ownerId: string,
    conversationId: string,
    messageId: string,
    body: PutFeedbackDto,
  ): Promise<FeedbackResponseDto> {
    const message = await this.rateable(ownerId, conversationId, messageId);
    const stored = await this.feedback.set(messageId, body.rating, body.comment ?? null);
    if (!stored) throw new MessageNotFoundException(messageId);
    this.metrics.recordFeedback(message.model ?? 'unknown', body.rating);
    return {
      messageId,
      rating: stored.rating,
      comment: stored.comment,
      updatedAt: stored.feedbackAt.toISOString(),
    };
  }

  async remove(ownerId: string, conversationId: string, messageId: string): Promise<void> {
    await this.rateable(ownerId, conversationId, messageId);
    await this.feedback.clear(messageId);
  }

  /** Another owner's message answers 404 exactly like a missing one. */
  private async rateable(
    ownerId: string,
    conversationId: string,
    messageId: string,
  ): Promise<RatedMessage> {
    const message = await this.feedback.findOwned(ownerId, conversationId, messageId);
    if (!message) throw new MessageNotFoundException(messageId);
    if (message.role !== 'assistant')
      throw new AppException(
        'not_an_assistant_message',
        `Message ${messageId} is a ${message.role} message; feedback rates assistant replies only`,
      );
    return message;
  }
}
