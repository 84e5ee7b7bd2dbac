import type { ScriptStep } from './fake-llm/fake-llm-server';
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

/**
 * An upstream that took a whole (non-streamed) request and broke: after sending the headers
 * and half the JSON body, or before sending anything. It was reached: not 503.
 */
describe('Upstream cut before a whole reply is complete', () => {
  const MODELS = ['lmstudio/default', 'groq/llama-3.3-70b'];
  const CUTS: [string, ScriptStep][] = [
    ['after half its body', { kind: 'cutBody' }],
    ['before answering', { kind: 'drop', afterChunks: 0 }],
  ];
  const ask = (model: string) =>
    JSON.stringify({ model, messages: [{ role: 'user', content: 'hello' }] });

  describe('without retries', () => {
    const t = withTestApp({ groq: 'same-fake', env: { LLM_MAX_RETRIES: '0' } });

    describe.each(CUTS)('%s', (_, cut) => {
      it.each(MODELS)(
        'should answer 502 provider_error and store the reply failed (%s)',
        async (model) => {
          t.fake.script(cut);
          const id = await t.createConversation({ model });
          const res = await t.send(id, 'hello', { expect: 502 });

          expect(res.body).toMatchObject({ statusCode: 502, error: 'provider_error' });
          expect(res.body.message).not.toMatch(/could not reach|start its local server/i);
          const stored = await t.storedMessages(id);
          expect(stored[1]).toMatchObject({ status: 'failed', errorCode: 'provider_error' });
          expect(t.fake.requests).toHaveLength(1);
        },
      );

      it.each(MODELS)(
        "should answer 502 provider_error in OpenAI's shape on /v1 (%s)",
        async (model) => {
          t.fake.script(cut);
          const res = await fetch(`${t.url}/v1/chat/completions`, {
            method: 'POST',
            headers: { 'Content-Type': 'application/json' },
            body: ask(model),
          });

          expect(res.status).toBe(502);
          const body = (await res.json()) as { error: { code: string; message: string } };
          expect(body.error.code).toBe('provider_error');
          expect(body.error.message).not.toMatch(/could not reach|start its local server/i);
        },
      );
    });
  });

  describe('with retries', () => {
    const t = withTestApp({ groq: 'same-fake', env: { LLM_MAX_RETRIES: '1' } });

    describe.each(CUTS)('%s', (_, cut) => {
      it.each(MODELS)(
        'should retry: nothing of the reply had reached the client (%s)',
        async (model) => {
          t.fake.script(cut);
          const id = await t.createConversation({ model });
          const res = await t.send(id, 'hello');

          expect(res.body.assistantMessage).toMatchObject({
            status: 'complete',
            content: expect.stringMatching(/^Echo: hello/) as unknown,
          });
          expect(t.fake.requests).toHaveLength(2);
        },
      );
    });
  });
});
