import { AppException } from '../common/errors/app.exception';

/** Another turn holds the conversation's claim (one turn at a time, across every replica). */
export class ConversationBusyException extends AppException {
  constructor() {
    super(
      'conversation_busy',
      'Another turn is running on this conversation; wait for it to finish (GET …/generation) or cancel it (POST …/cancel)',
    );
  }
}
