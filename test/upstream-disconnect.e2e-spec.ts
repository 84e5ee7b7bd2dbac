import { withTestApp } from './utils/harness';
import { streamedText } from './utils/sse';

/** An upstream that sends a few chunks at once and resets the connection right after. */
describe('Upstream cut right after a burst of chunks', () => {
  const t = withTestApp({ groq: 'same-fake' });

  for (const model of ['lmstudio/default', 'groq/llama-3.3-70b']) {
    it(`should keep the chunks received and store them with the failed reply (${model})`, async () => {
      t.fake.script({ kind: 'drop', afterChunks: 3, burst: true });
      const id = await t.createConversation({ model });
      const stream = await t.stream(id, 'a b c d e f');

      expect(streamedText(stream.events)).toBe('Echo: a b');
      const last = stream.events.at(-1)!;
      expect(last.event).toBe('error');
      expect(JSON.parse(last.data)).toMatchObject({
        code: 'provider_error',
        assistantMessage: { status: 'failed', content: 'Echo: a b' },
      });
      const stored = await t.storedMessages(id);
      expect(stored[1]).toMatchObject({
        role: 'assistant',
        status: 'failed',
        content: 'Echo: a b',
      });
      expect(t.fake.requests).toHaveLength(1);
    });
  }
});
