import { documentText, ExtractError } from './document-text';

async function failure(run: () => Promise<unknown>): Promise<ExtractError> {
  const error = await run().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ExtractError);
  return error as ExtractError;
}

describe(documentText.name, () => {
  it('should keep text as it is, without a BOM or NUL', async () => {
    expect(await documentText('text/markdown', Buffer.from('\uFEFF# Title\n'), 100)).toBe(
      '# Title\n',
    );
  });

  it('should refuse more text than maxChars', async () => {
    const error = await failure(() => documentText('text/plain', Buffer.alloc(101, 'a'), 100));
    expect(error.code).toBe('extract_too_much_text');
    expect(error.message).toContain('FILE_EXTRACT_MAX_CHARS (100)');
  });

  it('should call a damaged PDF unreadable', async () => {
    const error = await failure(() =>
      documentText('application/pdf', Buffer.from('%PDF-1.4\nnot really a pdf'), 1000),
    );
    expect(error.code).toBe('extract_unreadable');
  });
});
