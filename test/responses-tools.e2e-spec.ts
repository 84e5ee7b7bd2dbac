import OpenAI from 'openai';
import type {
  ResponseFunctionToolCall,
  ResponseStreamEvent,
} from 'openai/resources/responses/responses';

import { apiError } from './utils/owners';
import { AppClient, CONVERSATIONS, withTestApp } from './utils/harness';

const ALIAS = 'lmstudio/default';

const WEATHER = {
  type: 'function' as const,
  name: 'get_weather',
  description: 'The current weather in a city',
  parameters: {
    type: 'object',
    properties: { city: { type: 'string' } },
    required: ['city'],
    additionalProperties: false,
  },
  strict: true,
};

function sdk(t: AppClient): OpenAI {
  return new OpenAI({ baseURL: `${t.url}/v1`, apiKey: 'not-needed', maxRetries: 0 });
}

const uuidOf = (id: string): string => {
  const hex = id.replace(/^[a-z]+_/, '');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
};

const callsOf = (output: { type: string }[]): ResponseFunctionToolCall[] =>
  output.filter((item): item is ResponseFunctionToolCall => item.type === 'function_call');

describe('Function tools on the Responses API', () => {
  const t = withTestApp({ env: { LMSTUDIO_MODEL: 'fake-model', LLM_MAX_RETRIES: '0' } });
  let client: OpenAI;
  beforeAll(() => (client = sdk(t)));

  it('should output a function call, then answer its output with previous_response_id', async () => {
    const first = await client.responses.create({
      model: ALIAS,
      input: 'What is the get_weather in Lisbon? {"city":"Lisbon"}',
      tools: [WEATHER],
    });
    expect(first.status).toBe('completed');
    const [call] = callsOf(first.output);
    expect(first.output).toEqual([call]);
    expect(call).toMatchObject({
      type: 'function_call',
      name: 'get_weather',
      arguments: '{"city":"Lisbon"}',
      status: 'completed',
    });
    expect(call.id).toMatch(/^fc_[0-9a-f]{36}$/);
    expect(call.call_id).toEqual(expect.any(String));
    // The model saw the tool in OpenAI's nested shape.
    expect(t.fake.requests.at(-1)?.toolsOffered).toEqual(['get_weather']);

    const second = await client.responses.create({
      model: ALIAS,
      previous_response_id: first.id,
      input: [{ type: 'function_call_output', call_id: call.call_id, output: '21°C, sunny' }],
      tools: [WEATHER],
    });
    expect(second.status).toBe('completed');
    expect(second.output_text).toBe('Tool results: 21°C, sunny');
    expect(second.previous_response_id).toBe(first.id);

    // The conversation holds the call and its output, as /api/v1 and the items show them.
    const conversationId = second.conversation!.id;
    const messages = await t.http
      .get(`${CONVERSATIONS}/${uuidOf(conversationId)}/messages`)
      .expect(200);
    expect(messages.body.data.map((m: { role: string }) => m.role)).toEqual([
      'user',
      'assistant',
      'tool',
      'assistant',
    ]);
    const items = await client.conversations.items.list(conversationId, { order: 'asc' });
    expect(items.data.map((item) => item.type)).toEqual([
      'message',
      'function_call',
      'function_call_output',
      'message',
    ]);
    expect(items.data[1]).toMatchObject({ id: call.id, call_id: call.call_id });
    expect(items.data[2]).toMatchObject({ call_id: call.call_id, output: '21°C, sunny' });
    const inputItems = await client.responses.inputItems.list(second.id, { order: 'asc' });
    expect(inputItems.data.map((item) => item.type)).toEqual([
      'message',
      'function_call',
      'function_call_output',
    ]);
    // Retrieved later, the first response still shows its call.
    const again = await client.responses.retrieve(first.id);
    expect(callsOf(again.output)).toEqual([call]);
  });

  it('should take the calls sent back with their outputs, without previous_response_id', async () => {
    const first = await client.responses.create({
      model: ALIAS,
      input: 'get_weather {"city":"Porto"}',
      tools: [WEATHER],
    });
    const [call] = callsOf(first.output);
    const second = await client.responses.create({
      model: ALIAS,
      input: [
        { role: 'user', content: 'get_weather {"city":"Porto"}' },
        { ...call },
        { type: 'function_call_output', call_id: call.call_id, output: 'rain' },
      ],
      tools: [WEATHER],
    });
    expect(second.output_text).toBe('Tool results: rain');
    expect(second.conversation).toEqual(first.conversation);

    // A reply stored before messages carried their owner (owner_id null until the backfill
    // reaches it) is found by its call id all the same.
    const legacy = await client.responses.create({
      model: ALIAS,
      input: 'get_weather {"city":"Braga"}',
      tools: [WEATHER],
    });
    const [legacyCall] = callsOf(legacy.output);
    await t.prisma
      .$executeRaw`UPDATE messages SET owner_id = NULL WHERE status = 'requires_action'`;
    const answered = await client.responses.create({
      model: ALIAS,
      input: [
        { role: 'user', content: 'get_weather {"city":"Braga"}' },
        // Without its item id, as the AI SDK sends it: found by its call id alone.
        { ...legacyCall, id: undefined },
        { type: 'function_call_output', call_id: legacyCall.call_id, output: 'fog' },
      ],
      tools: [WEATHER],
    });
    expect(answered.output_text).toBe('Tool results: fog');
    expect(answered.conversation).toEqual(legacy.conversation);

    // An output for a call the response did not make is refused, naming it.
    const third = await client.responses.create({
      model: ALIAS,
      input: 'get_weather {"city":"Faro"}',
      tools: [WEATHER],
    });
    const wrong = await apiError(
      client.responses.create({
        model: ALIAS,
        previous_response_id: third.id,
        input: [{ type: 'function_call_output', call_id: 'call_nope', output: 'x' }],
      }),
    );
    expect(wrong.status).toBe(400);
    expect(wrong.message).toContain('call_nope');
  });

  it('should take tool_choice required and a named function', async () => {
    const required = await client.responses.create({
      model: ALIAS,
      input: 'Anything at all',
      tools: [WEATHER],
      tool_choice: 'required',
    });
    expect(callsOf(required.output).map((c) => c.name)).toEqual(['get_weather']);
    expect(t.fake.requests.at(-1)?.toolChoice).toBe('required');
    const named = await client.responses.create({
      model: ALIAS,
      input: 'Anything',
      tools: [WEATHER],
      tool_choice: { type: 'function', name: 'get_weather' },
    });
    expect(callsOf(named.output)).toHaveLength(1);
    const none = await client.responses.create({
      model: ALIAS,
      input: 'get_weather please',
      tools: [WEATHER],
      tool_choice: 'none',
    });
    expect(callsOf(none.output)).toHaveLength(0);
    expect(none.output_text).toBe('Echo: get_weather please [messages=2]');
  });

  it('should stream a function call with its arguments events', async () => {
    const stream = await client.responses.create({
      model: ALIAS,
      input: 'get_weather {"city":"Braga"}',
      tools: [WEATHER],
      stream: true,
    });
    const events: ResponseStreamEvent[] = [];
    for await (const event of stream) events.push(event);
    const types = events.map((e) => e.type);
    expect(types.slice(-5)).toEqual([
      'response.output_item.added',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.done',
      'response.output_item.done',
      'response.completed',
    ]);
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
    const added = events.find((e) => e.type === 'response.output_item.added');
    expect(added).toMatchObject({ item: { type: 'function_call', arguments: '' } });
    const done = events.find((e) => e.type === 'response.function_call_arguments.done');
    expect(done).toMatchObject({ name: 'get_weather', arguments: '{"city":"Braga"}' });
    const completed = events.at(-1) as Extract<ResponseStreamEvent, { type: 'response.completed' }>;
    const [call] = callsOf(completed.response.output);
    expect(call).toMatchObject({ name: 'get_weather', arguments: '{"city":"Braga"}' });

    // Replayed later, the same events with the same numbers.
    const replay = await client.responses.retrieve(completed.response.id, { stream: true });
    const replayed: ResponseStreamEvent[] = [];
    for await (const event of replay) replayed.push(event);
    expect(replayed.map((e) => [e.sequence_number, e.type])).toEqual(
      events.map((e) => [e.sequence_number, e.type]),
    );

    // Its output, streamed too.
    const next = await client.responses.create({
      model: ALIAS,
      previous_response_id: completed.response.id,
      input: [{ type: 'function_call_output', call_id: call.call_id, output: 'cloudy' }],
      stream: true,
    });
    let text = '';
    for await (const event of next)
      if (event.type === 'response.output_text.delta') text += event.delta;
    expect(text).toBe('Tool results: cloudy');
  });
});
