import { AppException } from '../common/errors/app.exception';

/** A message id that is not in the conversation (or not the owner's): 404, like an unknown id. */
export class MessageNotFoundException extends AppException {
  constructor(id: string) {
    super(
      'message_not_found',
      `Message ${id} is not in this conversation; take ids from GET /api/v1/conversations/{id}/messages`,
    );
  }
}
