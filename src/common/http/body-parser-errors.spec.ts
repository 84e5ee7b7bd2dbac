import { AppException } from '../errors/app.exception';
import { translateBodyParserError } from './body-parser-errors';

/** Shaped like the errors body-parser raises (an Error with type and status). */
const bodyParserError = (type: string, status: number, extra: { limit?: number } = {}): Error =>
  Object.assign(new Error(`body-parser: ${type}`), { type, status, ...extra });

describe(translateBodyParserError.name, () => {
  it('should turn a JSON parse failure into 400 invalid_json', () => {
    const translated = translateBodyParserError(bodyParserError('entity.parse.failed', 400));
    expect(translated).toBeInstanceOf(AppException);
    expect(translated).toMatchObject({ status: 400, code: 'invalid_json' });
    expect((translated as AppException).message).toContain('not valid JSON');
  });

  it('should call valid JSON that is no object (null, 42) not an object, not invalid JSON', () => {
    for (const body of ['null', ' 42', '"text"', 'true']) {
      const translated = translateBodyParserError(
        Object.assign(bodyParserError('entity.parse.failed', 400), { body }),
      );
      expect(translated).toMatchObject({ status: 400, code: 'invalid_body' });
      expect((translated as AppException).message).toBe('The request body must be a JSON object');
    }
    const broken = Object.assign(bodyParserError('entity.parse.failed', 400), { body: 'nul' });
    expect(translateBodyParserError(broken)).toMatchObject({ code: 'invalid_json' });
  });

  it('should turn a too-large body into 413 payload_too_large naming the limit', () => {
    const translated = translateBodyParserError(
      bodyParserError('entity.too.large', 413, { limit: 1048576 }),
    );
    expect(translated).toBeInstanceOf(AppException);
    expect(translated).toMatchObject({ status: 413, code: 'payload_too_large' });
    expect((translated as AppException).message).toContain('1048576 bytes');
  });

  it('should turn an unsupported charset or encoding into 415 unsupported_media_type', () => {
    for (const type of ['charset.unsupported', 'encoding.unsupported']) {
      expect(translateBodyParserError(bodyParserError(type, 415))).toMatchObject({
        status: 415,
        code: 'unsupported_media_type',
      });
    }
  });

  it('should turn other body-parser failures into 400 invalid_body', () => {
    expect(translateBodyParserError(bodyParserError('request.aborted', 400))).toMatchObject({
      status: 400,
      code: 'invalid_body',
    });
  });

  it('should turn a stream error body-parser passes on, such as zlib on a bad gzip body, into 400 invalid_body', () => {
    const zlibError = Object.assign(new Error('incorrect header check'), {
      code: 'Z_DATA_ERROR',
      status: 400,
      expose: true,
    });
    expect(translateBodyParserError(zlibError)).toMatchObject({
      status: 400,
      code: 'invalid_body',
    });
  });

  it('should name an unsupported Content-Encoding', () => {
    const error = Object.assign(bodyParserError('encoding.unsupported', 415), { encoding: 'zip' });
    expect((translateBodyParserError(error) as AppException).message).toContain('"zip"');
  });

  it('should pass errors that are not from body-parser through unchanged', () => {
    const plain = new Error('something else');
    expect(translateBodyParserError(plain)).toBe(plain);
    const app = new AppException('not_found', 'nope');
    expect(translateBodyParserError(app)).toBe(app);
    const typedWithoutStatus = Object.assign(new Error('x'), { type: 'entity.parse.failed' });
    expect(translateBodyParserError(typedWithoutStatus)).toBe(typedWithoutStatus);
    expect(translateBodyParserError('oops')).toBe('oops');
    expect(translateBodyParserError(null)).toBeNull();
    expect(translateBodyParserError(undefined)).toBeUndefined();
  });
});
