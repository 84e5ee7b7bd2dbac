import { AppException } from '../common/errors/app.exception';

export class ConversationNotFoundException extends AppException {
  constructor(id: string) {
    super(
      'conversation_not_found',
      `Conversation ${id} does not exist; create one with POST /api/v1/conversations`,
    );
  }
}
