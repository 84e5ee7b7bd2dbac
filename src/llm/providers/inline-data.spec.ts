import { randomBytes } from 'node:crypto';

import { InlineData } from './inline-data';

describe(InlineData.name, () => {
  it('should put each value back where its stand-in was, bytes as their base64', () => {
    const inline = new InlineData();
    const bytes = randomBytes(200_000);
    const body = JSON.stringify({
      a: `data:image/png;base64,${inline.standIn(bytes)}`,
      b: `data:image/gif;base64,${inline.standIn('R0lGODlh')}`,
    });
    expect(JSON.parse(inline.pieces(body).join(''))).toEqual({
      a: `data:image/png;base64,${bytes.toString('base64')}`,
      b: 'data:image/gif;base64,R0lGODlh',
    });
  });

  it('should leave alone text that only looks like a stand-in of another request', () => {
    const other = new InlineData();
    const typed = other.standIn('QUJD');
    const inline = new InlineData();
    const body = JSON.stringify({ text: typed, image: inline.standIn('QUJD') });
    expect(JSON.parse(inline.pieces(body).join(''))).toEqual({ text: typed, image: 'QUJD' });
  });
});
