import { AppException, ValidationFailedException } from '../common/errors/app.exception';
import { readInput, splitForTurn } from './response-input';

const user = (...content: Record<string, unknown>[]) => [{ role: 'user', content }];

describe('readInput with image and file parts', () => {
  it('should read file_id parts and data URLs as the files of the message, text apart', () => {
    const [entry] = readInput(
      user(
        { type: 'input_text', text: 'look' },
        { type: 'input_image', file_id: 'f1', detail: 'auto' },
        { type: 'input_file', file_data: 'data:text/plain;base64,aGk=', filename: 'a.txt' },
        { type: 'input_image', image_url: 'data:image/png;base64,iVBO' },
      ),
    );
    expect(entry).toEqual({
      kind: 'message',
      message: {
        role: 'user',
        text: 'look',
        files: [
          { kind: 'id', fileId: 'f1' },
          { kind: 'data', mimeType: 'text/plain', data: 'aGk=', filename: 'a.txt' },
          { kind: 'data', mimeType: 'image/png', data: 'iVBO', filename: 'image.png' },
        ],
      },
    });
  });

  it('should refuse remote URLs, a non-image data URL as an image, and a part with nothing', () => {
    const code = (content: Record<string, unknown>) => {
      try {
        readInput(user({ type: 'input_text', text: 'x' }, content));
      } catch (error) {
        return (error as AppException).code;
      }
      return 'none';
    };
    expect(code({ type: 'input_image', image_url: 'https://example.com/a.png' })).toBe(
      'unsupported_input',
    );
    expect(code({ type: 'input_file', file_url: 'http://example.com/a.pdf' })).toBe(
      'unsupported_input',
    );
    expect(() =>
      readInput(user({ type: 'input_image', image_url: 'data:text/plain;base64,aGk=' })),
    ).toThrow(ValidationFailedException);
    expect(() => readInput(user({ type: 'input_file' }))).toThrow(ValidationFailedException);
  });
});

describe('splitForTurn with files', () => {
  it('should take files on the last user message only, beside some text', () => {
    const files = [{ kind: 'id' as const, fileId: 'f1' }];
    expect(splitForTurn([{ role: 'user', text: 'hi', files }]).files).toEqual(files);
    expect(() =>
      splitForTurn([
        { role: 'user', text: 'earlier', files },
        { role: 'user', text: 'now' },
      ]),
    ).toThrow(/ride on the last input item/);
    expect(() => splitForTurn([{ role: 'user', text: ' ', files }])).toThrow(
      ValidationFailedException,
    );
  });
});
