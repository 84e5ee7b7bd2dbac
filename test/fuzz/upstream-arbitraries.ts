import fc from 'fast-check';

/**
 * fast-check arbitraries of what an OpenAI-compatible upstream answers to one chat
 * request, as bytes on the wire for the fake's `raw` step: SSE events (`data: …\n\n`) for
 * a stream, a JSON body for a whole reply, each broken in the ways real servers and
 * proxies break them. Text carries NUL, C0/C1 controls, lone surrogates (JSON `\ud800`),
 * `<think>` tags and invalid UTF-8 bytes; chunks are empty or megabytes long; the bytes
 * are cut anywhere (inside a character, inside a JSON escape); usage holds absurd numbers
 * or strings; the end is a clean one, no `[DONE]`, a close or a reset.
 */

export type Mode = 'whole' | 'stream';
export type Ending = 'end' | 'close' | 'reset';

export interface UpstreamBehaviour {
  mode: Mode;
  writes: Buffer[];
  ending: Ending;
  /** What was generated, short enough to print with a failure. */
  summary: string;
}

/** Bytes no UTF-8 decoder accepts: a stray continuation, a lone lead, overlong NUL, CESU surrogate, 0xff. */
const INVALID_UTF8 = [
  [0x80],
  [0xc3],
  [0xe2, 0x82],
  [0xc0, 0x80],
  [0xed, 0xa0, 0x80],
  [0xff, 0xfe],
  [0xf4, 0x90, 0x80, 0x80],
].map((bytes) => Buffer.from(bytes));

/** Replaced in a serialized frame by invalid bytes: JSON.stringify cannot write them. */
const RAW_MARK = 'RAW_BYTES_MARK';

const c0 = fc.integer({ min: 0, max: 0x1f }).map((c) => String.fromCharCode(c));
const c1 = fc.integer({ min: 0x7f, max: 0x9f }).map((c) => String.fromCharCode(c));
const lone = fc.constantFrom('\ud800', '\udbff', '\udc00', '\udfff');
const tags = fc.constantFrom(
  '<think>',
  '</think>',
  '<think',
  '</thi',
  'nk>',
  '🙂',
  'é',
  '\\u0000',
  '"',
  '\\',
  '\n',
  '\u2028',
);

const piece = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: 'binary', maxLength: 24 }) },
  { weight: 3, arbitrary: fc.string({ unit: fc.oneof(c0, c1, lone), maxLength: 6 }) },
  { weight: 2, arbitrary: tags },
  { weight: 2, arbitrary: fc.lorem({ maxCount: 4 }) },
);

/** Mostly short hostile text; now and then a single piece of 2–5 MB. */
const text = fc.oneof(
  { weight: 20, arbitrary: fc.array(piece, { maxLength: 8 }).map((parts) => parts.join('')) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(
        fc.constantFrom('x', 'é', '🙂', '\u0000', ' word', '<think>'),
        fc.integer({ min: 2e6, max: 5e6 }),
      )
      .map(([unit, bytes]) => unit.repeat(Math.ceil(bytes / Buffer.byteLength(unit)))),
  },
);

const count = fc.oneof(
  { weight: 3, arbitrary: fc.nat({ max: 100_000 }) },
  {
    weight: 3,
    arbitrary: fc.constantFrom<unknown>(-1, -(2 ** 31), 2 ** 31, 2 ** 53, 1e30, -1e30, 1.5, 0.0001),
  },
  { weight: 1, arbitrary: fc.double() },
  { weight: 2, arbitrary: fc.constantFrom<unknown>('12', 'many', '', null, true, [], {}) },
);

const usage = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record(
      { prompt_tokens: count, completion_tokens: count, total_tokens: count },
      { requiredKeys: [] },
    ),
  },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(null, 'usage', 42, []) },
);

const finishReason = fc.oneof(
  fc.constantFrom<unknown>(null, 'stop', 'length', 'content_filter', 'tool_calls', 7),
  fc.string({ unit: fc.oneof(c0, lone, fc.constant('x')), maxLength: 4 }),
);

/** A value that a field meant for text might hold instead. */
const textOrWorse = fc.oneof(
  { weight: 12, arbitrary: text },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(null, 42, ['a'], { text: 'a' }, true) },
);

const BASE = { id: 'chatcmpl-fuzz', created: 1700000000, model: 'fake-model' };

type Frame = { json: Record<string, unknown>; raw?: Buffer } | { line: string };

const delta = fc.record(
  {
    role: fc.constantFrom<unknown>('assistant', '', null),
    content: textOrWorse,
    reasoning_content: text,
  },
  { requiredKeys: [] },
);

const streamFrame: fc.Arbitrary<Frame> = fc.oneof(
  {
    weight: 10,
    arbitrary: fc
      .tuple(delta, finishReason, fc.option(usage, { nil: undefined }))
      .map(([d, finish, u]) => ({
        json: {
          ...BASE,
          object: 'chat.completion.chunk',
          choices: [{ index: 0, delta: d, logprobs: null, finish_reason: finish }],
          ...(u === undefined ? {} : { usage: u }),
        },
      })),
  },
  {
    weight: 2,
    arbitrary: fc.tuple(fc.boolean(), usage).map(([groq, u]) => ({
      json: {
        ...BASE,
        object: 'chat.completion.chunk',
        choices: [],
        ...(groq ? { x_groq: { usage: u } } : { usage: u }),
      },
    })),
  },
  {
    weight: 2,
    arbitrary: fc.constantFrom(...INVALID_UTF8).map((raw) => ({
      json: {
        ...BASE,
        object: 'chat.completion.chunk',
        choices: [{ index: 0, delta: { content: `a${RAW_MARK}b` }, finish_reason: null }],
      },
      raw,
    })),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom<Frame>(
      { json: { ...BASE, choices: 'none' } },
      { json: { ...BASE, choices: [null] } },
      { json: { ...BASE, choices: [{ index: 0, delta: null }] } },
      { json: { error: { message: 'upstream fell over', type: 'server_error' } } },
    ),
  },
  {
    weight: 3,
    arbitrary: fc
      .oneof(
        fc.constantFrom(
          'data: \n\n',
          'data:\n\n',
          ': keep-alive\n\n',
          'event: ping\n\n',
          'id: 7\nretry: x\n\n',
          'data: {"choices":[{"delta":{"content":"unterminated\n\n',
          'data: [DONE\n\n',
          '\n\n\n',
          'DATA: {}\n\n',
        ),
        fc.string({ unit: 'binary', maxLength: 40 }).map((garbage) => `${garbage}\n`),
      )
      .map((line) => ({ line })),
  },
);

function encode(frame: Frame, sse: boolean, separator: string): Buffer {
  if ('line' in frame) return Buffer.from(frame.line);
  const json = JSON.stringify(frame.json);
  const framed = (body: Buffer): Buffer =>
    sse ? Buffer.concat([Buffer.from('data: '), body, Buffer.from(separator)]) : body;
  if (!frame.raw) return framed(Buffer.from(json));
  const [before, after] = json.split(RAW_MARK);
  return framed(Buffer.concat([Buffer.from(before), frame.raw, Buffer.from(after)]));
}

/** The bytes cut into writes at arbitrary offsets (inside characters and escapes too), some empty. */
function cut(bytes: Buffer, at: number[]): Buffer[] {
  const offsets = at.map((f) => Math.floor(f * bytes.length)).sort((a, b) => a - b);
  const writes: Buffer[] = [];
  let from = 0;
  for (const offset of offsets) {
    writes.push(bytes.subarray(from, offset));
    from = offset;
  }
  writes.push(bytes.subarray(from));
  return writes;
}

const cuts = fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 6 });
const ending = fc.constantFrom<Ending>('end', 'end', 'end', 'close', 'reset');

const streamed: fc.Arbitrary<UpstreamBehaviour> = fc
  .record({
    frames: fc.array(streamFrame, { maxLength: 10 }),
    separator: fc.constantFrom('\n\n', '\n\n', '\r\n\r\n', '\r\r'),
    done: fc.boolean(),
    cuts,
    ending,
  })
  .map(({ frames, separator, done, cuts: at, ending: end }) => {
    const bytes = Buffer.concat([
      ...frames.map((frame) => encode(frame, true, separator)),
      ...(done ? [Buffer.from(`data: [DONE]${separator}`)] : []),
    ]);
    return {
      mode: 'stream' as const,
      writes: cut(bytes, at),
      ending: end,
      summary: summarize('stream', frames, { done, separator, bytes: bytes.length, end }),
    };
  });

const wholeBody: fc.Arbitrary<Frame> = fc.oneof(
  {
    weight: 10,
    arbitrary: fc
      .record(
        {
          message: fc.record(
            { role: fc.constant('assistant'), content: textOrWorse, reasoning_content: text },
            { requiredKeys: ['role'] },
          ),
          finish: finishReason,
          usage: fc.option(usage, { nil: undefined }),
          raw: fc.option(fc.constantFrom(...INVALID_UTF8), { nil: undefined }),
        },
        { requiredKeys: ['message', 'finish'] },
      )
      .map(({ message, finish, usage: u, raw }) => ({
        json: {
          ...BASE,
          object: 'chat.completion',
          choices: [
            {
              index: 0,
              message: raw ? { ...message, content: `a${RAW_MARK}b` } : message,
              logprobs: null,
              finish_reason: finish,
            },
          ],
          ...(u === undefined ? {} : { usage: u }),
        },
        raw,
      })),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom<Frame>(
      { json: { ...BASE, choices: [] } },
      { json: { ...BASE, choices: 'none' } },
      { json: { ...BASE, choices: [{ index: 0 }] } },
      { json: { error: { message: 'upstream fell over', type: 'server_error' } } },
      { line: 'not json at all' },
      { line: '' },
      { line: 'data: {"choices":[]}\n\n' },
    ),
  },
);

const whole: fc.Arbitrary<UpstreamBehaviour> = fc
  .record({
    body: wholeBody,
    // Below 1: the body is cut off there (the response still ends as `ending` says).
    keep: fc.oneof(
      { weight: 4, arbitrary: fc.constant(1) },
      fc.double({ min: 0, max: 1, noNaN: true }),
    ),
    cuts,
    ending,
  })
  .map(({ body, keep, cuts: at, ending: end }) => {
    const full = encode(body, false, '');
    const bytes = full.subarray(0, Math.floor(full.length * keep));
    return {
      mode: 'whole' as const,
      writes: cut(bytes, at),
      ending: end,
      summary: summarize('whole', [body], { keep, bytes: bytes.length, end }),
    };
  });

export const upstreamBehaviour: fc.Arbitrary<UpstreamBehaviour> = fc.oneof(streamed, whole);

function summarize(mode: Mode, frames: Frame[], rest: Record<string, unknown>): string {
  const short = (value: unknown): unknown =>
    typeof value === 'string' && value.length > 200
      ? `${JSON.stringify(value.slice(0, 20))}…(${value.length} chars)`
      : value;
  const frameText = frames.map((frame) =>
    'line' in frame
      ? frame.line
      : JSON.stringify(frame.json, (_, v: unknown) => short(v)) +
        (frame.raw ? ` raw=${frame.raw.toString('hex')}` : ''),
  );
  return JSON.stringify({ mode, ...rest, frames: frameText }).slice(0, 4000);
}
