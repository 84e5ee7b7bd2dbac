import { redactUrl, redactUrls, withoutUrls } from './redact-url';

describe(redactUrl.name, () => {
  it.each([
    ['http://localhost:1234/v1', 'http://localhost:1234/v1'],
    ['https://api.groq.com', 'https://api.groq.com'],
    ['http://user:secret@host:1234/v1', 'http://***@host:1234/v1'],
    ['http://user@host/v1', 'http://***@host/v1'],
    ['https://:p%40ss@host/v1', 'https://***@host/v1'],
    ['http://host/v1?api_key=abc&model=x', 'http://host/v1?api_key=***&model=x'],
    [
      'http://host/v1?token=a&Signature=b&x-amz-credential=c',
      'http://host/v1?token=***&Signature=***&x-amz-credential=***',
    ],
    ['http://host/v1?model=llama&stream=true', 'http://host/v1?model=llama&stream=true'],
  ])('should show %s as %s', (url, shown) => {
    expect(redactUrl(url)).toBe(shown);
  });

  it('should hide the userinfo of a URL that does not parse', () => {
    expect(redactUrl('http://user:secret@host:99999/v1')).toBe('http://***@host:99999/v1');
    expect(redactUrl('http://us er:se cret@bad host/v1?x=1&api_key=k k')).toBe(
      'http://***@bad host/v1?x=1&api_key=*** k',
    );
    expect(redactUrl('not a url')).toBe('not a url');
  });
});

describe(redactUrls.name, () => {
  it('should redact every URL in a message and leave the rest', () => {
    expect(
      redactUrls(
        'Could not reach LM Studio at http://u:pw@10.0.0.5:1234/v1: start it; request to https://x:y@h/v1/chat/completions?key=k failed',
      ),
    ).toBe(
      'Could not reach LM Studio at http://***@10.0.0.5:1234/v1: start it; request to https://***@h/v1/chat/completions?key=*** failed',
    );
  });
});

describe(withoutUrls.name, () => {
  it('should leave URLs out entirely', () => {
    expect(withoutUrls('Could not reach LM Studio at http://10.0.0.5:1234/v1: start it')).toBe(
      'Could not reach LM Studio at (URL hidden): start it',
    );
  });
});
