import { ReplyEvent, ResponseEventMapper } from './response-events';
import { ReplyView, STORED_ECHO } from './response.mapper';

const start: ReplyView = {
  id: '0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b',
  conversationId: '0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5c',
  status: 'in_progress',
  text: '',
  reasoning: null,
  model: 'lmstudio/default',
  createdAt: 1,
  completedAt: null,
  usage: null,
  error: null,
};

function run(events: ReplyEvent[]) {
  const mapper = new ResponseEventMapper(start, STORED_ECHO);
  return events.flatMap((event) => mapper.map(event));
}

describe(ResponseEventMapper.name, () => {
  const reasoned: ReplyEvent[] = [
    { type: 'started' },
    { type: 'reasoning', delta: 'think' },
    { type: 'text', delta: 'Hel' },
    { type: 'text', delta: 'lo' },
    {
      type: 'ended',
      view: {
        ...start,
        status: 'completed',
        text: 'Hello',
        reasoning: 'think',
        usage: { input: 3, output: 2 },
      },
    },
  ];

  it('should number events from 0 and put reasoning in an item before the message', () => {
    const events = run(reasoned);
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
    expect(events.map((e) => e.type)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      'response.reasoning_text.delta',
      'response.reasoning_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.delta',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ]);
    expect(events[8]).toMatchObject({
      output_index: 1,
      item: { id: 'msg_0193a1b2c3d47e5f8a9b0c1d2e3f4a5b' },
    });
    expect(events.at(-1)).toMatchObject({
      response: { status: 'completed', output_text: 'Hello', usage: { total_tokens: 5 } },
    });
  });

  it('should number the same events the same way every time (what starting_after relies on)', () => {
    expect(run(reasoned)).toEqual(run(reasoned));
  });

  it('should end a reply that failed before any text with response.failed and no message', () => {
    const failed = {
      ...start,
      status: 'failed' as const,
      error: { code: 'provider_unavailable', message: 'down' },
    };
    const events = run([{ type: 'started' }, { type: 'ended', view: failed }]);
    expect(events.map((e) => e.type)).toEqual([
      'response.created',
      'response.in_progress',
      'response.failed',
    ]);
    expect(events[2]).toMatchObject({
      response: { status: 'failed', error: { code: 'provider_unavailable' } },
    });
  });

  it('should stream function calls after the message, at the output indexes of the final output', () => {
    const calls = [
      { id: 'call_1', name: 'get_weather', arguments: '{"city":"Lisbon"}' },
      { id: 'call_2', name: 'get_time', arguments: '{}' },
    ];
    const view: ReplyView = {
      ...start,
      status: 'completed',
      text: 'Let me look',
      toolCalls: calls,
    };
    const events = run([
      { type: 'started' },
      { type: 'text', delta: 'Let me look' },
      { type: 'ended', view },
    ]);
    const final = events.at(-1)?.response as { output: { id: string; type: string }[] };
    expect(final.output.map((item) => item.type)).toEqual([
      'message',
      'function_call',
      'function_call',
    ]);
    const done = events.filter((e) => e.type === 'response.function_call_arguments.done');
    expect(done).toEqual([
      expect.objectContaining({
        output_index: 1,
        item_id: final.output[1].id,
        name: 'get_weather',
        arguments: '{"city":"Lisbon"}',
      }),
      expect.objectContaining({ output_index: 2, item_id: final.output[2].id, name: 'get_time' }),
    ]);
    // A reply that only called tools shows no message item, streamed or not.
    const bare = run([{ type: 'started' }, { type: 'ended', view: { ...view, text: '' } }]);
    expect(bare.filter((e) => e.type === 'response.output_text.done')).toEqual([]);
    expect(bare.find((e) => e.type === 'response.output_item.added')).toMatchObject({
      output_index: 0,
      item: { type: 'function_call', arguments: '', status: 'in_progress' },
    });
  });
});
