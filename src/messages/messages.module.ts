import { Module } from '@nestjs/common';

import { HistoryModule } from '../history/history.module';
import { FeedbackController } from './feedback/feedback.controller';
import { FeedbackRepository } from './feedback/feedback.repository';
import { FeedbackService } from './feedback/feedback.service';
import { MessagesController } from './messages.controller';
import { MessagesRepository } from './messages.repository';
import { MessagesService } from './messages.service';

/** The read side of a conversation's messages. */
@Module({
  imports: [HistoryModule],
  controllers: [MessagesController, FeedbackController],
  providers: [MessagesService, MessagesRepository, FeedbackService, FeedbackRepository],
  exports: [MessagesService],
})
export class MessagesModule {}
