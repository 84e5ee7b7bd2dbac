import { AppException } from '../common/errors/app.exception';

export class ConversationBusyException extends AppException {
  constructor() {
    super(
      'conversation_busy',
      'Another turn is running on this conversation; wait for it to finish (GET …/generation) or cancel it (POST …/cancel)',
    );
  }
}

export class NoActiveGenerationException extends AppException {
  constructor() {
    super('no_active_generation', 'No turn is running on this conversation');
  }
}

export class TooManyGenerationsException extends AppException {
  constructor(max: number) {
    super(
      'too_many_generations',
      `At most ${max} replies may be generated at once; wait for one to finish`,
      { retryAfter: 1 },
    );
  }
}
