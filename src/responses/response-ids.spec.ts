import { AppException } from '../common/errors/app.exception';
import { parseItemId, parseOpenAiId, toOpenAiId } from './response-ids';

describe('response ids', () => {
  const uuid = '0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b';

  it('should round-trip every kind through its prefix', () => {
    expect(toOpenAiId('response', uuid)).toBe('resp_0193a1b2c3d47e5f8a9b0c1d2e3f4a5b');
    for (const kind of ['response', 'conversation', 'message', 'reasoning'] as const)
      expect(parseOpenAiId(kind, toOpenAiId(kind, uuid))).toBe(uuid);
  });

  it('should take a bare UUID as /api/v1 shows it', () => {
    expect(parseOpenAiId('conversation', uuid.toUpperCase())).toBe(uuid);
  });

  it('should answer an id of another kind or shape as not found', () => {
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (error) {
        return (error as AppException).code;
      }
      return 'no error';
    };
    expect(code(() => parseOpenAiId('response', toOpenAiId('conversation', uuid)))).toBe(
      'response_not_found',
    );
    expect(code(() => parseOpenAiId('conversation', 'conv_123'))).toBe('conversation_not_found');
    expect(parseItemId(toOpenAiId('reasoning', uuid))).toBe(uuid);
  });
});
