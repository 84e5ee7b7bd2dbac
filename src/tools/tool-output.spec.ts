import { capOutput, renderToolContent } from './tool-output';

describe(renderToolContent.name, () => {
  it('should join text parts and describe the others', () => {
    const text = renderToolContent([
      { type: 'text', text: 'first' },
      { type: 'image', data: 'iVBORw0KGgo=', mimeType: 'image/png' },
      { type: 'audio', data: 'AAAA', mimeType: 'audio/wav' },
      { type: 'resource_link', uri: 'file:///a.txt', name: 'a.txt' },
      { type: 'resource', resource: { uri: 'file:///b.txt', text: 'inline text' } },
      {
        type: 'resource',
        resource: { uri: 'file:///c.bin', mimeType: 'application/zip', blob: 'AAAAAA==' },
      },
      { type: 'text', text: 'last' },
    ]);
    expect(text.split('\n')).toEqual([
      'first',
      '[image: image/png, 8 bytes]',
      '[audio: audio/wav, 3 bytes]',
      '[resource link: file:///a.txt (a.txt)]',
      'inline text',
      '[resource: file:///c.bin, application/zip, 4 bytes]',
      'last',
    ]);
  });

  it('should give structured content as JSON when there is no content', () => {
    expect(renderToolContent([], { temperature: 21 })).toBe('{"temperature":21}');
    expect(renderToolContent(undefined)).toBe('');
  });
});

describe(capOutput.name, () => {
  it('should leave an output within the limit as it is', () => {
    expect(capOutput('short', 5)).toBe('short');
  });

  it('should cut a long output on a character boundary and say so, within the limit', () => {
    const output = capOutput('é'.repeat(1000), 300);
    expect(Buffer.byteLength(output)).toBeLessThanOrEqual(300);
    expect(output).not.toContain('\uFFFD');
    expect(output).toMatch(/^(é)+\n\[output cut: the first \d+ of 2000 bytes shown\]$/);
  });
});
