import { INestApplicationContext } from '@nestjs/common';
import { Test } from '@nestjs/testing';

import { AppModule } from '../src/app.module';
import { ChatService } from '../src/chat/chat.service';
import type { ChatEvent, Turn } from '../src/chat/turn';
import { AppConfig } from '../src/config/app-config';
import { loadEnv } from '../src/config/env';
import { ConversationsService } from '../src/conversations/conversations.service';
import { PrismaService } from '../src/database/prisma.service';
import { LLM_PROVIDERS, LlmChunk, LlmRequest, ToolCall } from '../src/llm/llm.types';
import { createTestDatabase, TestDatabase } from './utils/database';
import { Behaviour, ScriptedProvider } from './utils/scripted-provider';

const WEATHER = {
  type: 'function' as const,
  function: {
    name: 'get_weather',
    description: 'The weather in a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } } },
  },
};
const TIME = { type: 'function' as const, function: { name: 'get_time' } };

/** A reply that calls these tools (after some text, if given). */
function calls(toolCalls: ToolCall[], text = ''): Behaviour {
  return async function* (): AsyncIterable<LlmChunk> {
    await Promise.resolve();
    if (text) yield { type: 'delta', text };
    for (const [index, call] of toolCalls.entries())
      yield { type: 'tool_call', index, id: call.id, name: call.name, arguments: call.arguments };
    yield {
      type: 'done',
      upstreamModel: 'scripted',
      finishReason: 'tool_calls',
      usage: null,
      toolCalls,
    };
  };
}

const weatherCall = { id: 'call_1', name: 'get_weather', arguments: '{"city":"Lisbon"}' };
const timeCall = { id: 'call_2', name: 'get_time', arguments: '{}' };

function events(turn: Turn): Promise<ChatEvent[]> {
  return turn.outcome.then(() => turn.events.filter((event) => event !== undefined));
}

describe('Tool calls on conversation turns (service level, real PostgreSQL)', () => {
  let db: TestDatabase;
  let app: INestApplicationContext;
  let chat: ChatService;
  let prisma: PrismaService;
  let conversations: ConversationsService;
  const provider = new ScriptedProvider('lmstudio');

  beforeAll(async () => {
    db = await createTestDatabase();
    const config = new AppConfig(
      loadEnv({ LOG_LEVEL: 'silent', DEFAULT_MODEL: 'lmstudio/default', TITLES: 'off' }),
      db.url,
    );
    const moduleRef = await Test.createTestingModule({ imports: [AppModule.forRoot(config)] })
      .overrideProvider(LLM_PROVIDERS)
      .useValue([provider, new ScriptedProvider('groq')])
      .compile();
    app = await moduleRef.init();
    chat = app.get(ChatService);
    prisma = app.get(PrismaService);
    conversations = app.get(ConversationsService);
  });

  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  beforeEach(() => provider.reset());

  const newConversation = async (fields = {}): Promise<string> =>
    (await conversations.create('local', { systemPrompt: 'sys', ...fields })).id;

  const stored = (id: string) =>
    prisma.message.findMany({ where: { conversationId: id }, orderBy: { seq: 'asc' } });

  /** A turn whose reply called weather and time, finished. */
  async function waitingReply(id: string) {
    provider.next(calls([weatherCall, timeCall], 'Let me check.'));
    const turn = await chat.startTurn('local', id, {
      message: 'Weather and time in Lisbon?',
      tools: [WEATHER, TIME],
      mode: 'stream',
    });
    return { turn, outcome: await turn.outcome };
  }

  const submit = (
    id: string,
    messageId: string,
    results: { toolCallId: string; output: string }[],
    key?: string,
  ) =>
    chat.startTurn('local', id, {
      message: null,
      toolResults: { messageId, results },
      mode: 'complete',
      ...(key && { idempotencyKey: key }),
    });

  it('should store a reply that calls tools as requires_action, announce each call, and free the conversation', async () => {
    const id = await newConversation();
    const { turn, outcome } = await waitingReply(id);

    expect(outcome.failure).toBeNull();
    expect(outcome.assistantMessage).toMatchObject({
      status: 'requires_action',
      content: 'Let me check.',
      toolCalls: [weatherCall, timeCall],
      finishReason: 'tool_calls',
    });
    const types = (await events(turn)).map((e) => e.type);
    expect(types).toEqual([
      'message.created',
      'message.delta',
      'tool.call',
      'tool.call',
      'message.completed',
    ]);
    // The tools were offered as our definitions.
    expect(provider.requests[0].tools?.map((t) => t.name)).toEqual(['get_weather', 'get_time']);
    const conversation = await prisma.conversation.findUniqueOrThrow({ where: { id } });
    expect(conversation.activeTurnId).toBeNull();
  });

  it('should store each result as a tool message after the call, and send the model the OpenAI sequence', async () => {
    const id = await newConversation();
    const { outcome } = await waitingReply(id);
    const waiting = outcome.assistantMessage!;
    // Results in another order than the calls: stored in the calls' order.
    const turn = await submit(id, waiting.id, [
      { toolCallId: 'call_2', output: '10:00' },
      { toolCallId: 'call_1', output: '{"sky":"clear"}' },
    ]);
    const next = await turn.outcome;

    expect(next.failure).toBeNull();
    const rows = await stored(id);
    expect(rows.map((m) => [m.role, m.status])).toEqual([
      ['user', 'complete'],
      ['assistant', 'complete'],
      ['tool', 'complete'],
      ['tool', 'complete'],
      ['assistant', 'complete'],
    ]);
    const [, reply, first, second, answer] = rows;
    expect([first.parentId, second.parentId, answer.parentId]).toEqual([
      reply.id,
      first.id,
      second.id,
    ]);
    expect([first.toolCallId, second.toolCallId]).toEqual(['call_1', 'call_2']);
    expect(next.assistantMessage?.id).toBe(answer.id);
    expect((await prisma.conversation.findUniqueOrThrow({ where: { id } })).currentLeafId).toBe(
      answer.id,
    );

    const sent = provider.requests[1].messages;
    expect(sent.slice(1)).toEqual([
      { role: 'user', content: 'Weather and time in Lisbon?' },
      { role: 'assistant', content: 'Let me check.', toolCalls: [weatherCall, timeCall] },
      { role: 'tool', content: '{"sky":"clear"}', toolCallId: 'call_1' },
      { role: 'tool', content: '10:00', toolCallId: 'call_2' },
    ]);
    // The next reply answers the results: tools are offered again only if the turn gives them.
    expect(provider.requests[1].tools).toBeUndefined();
    // And a later turn's history keeps the sequence whole.
    await (
      await chat.startTurn('local', id, { message: 'Thanks', mode: 'complete' })
    ).outcome;
    expect(provider.requests[2].messages.slice(1).map((m) => m.role)).toEqual([
      'user',
      'assistant',
      'tool',
      'tool',
      'assistant',
      'user',
    ]);
    expect(next.assistantMessage?.context).toMatchObject({
      userMessage: { messageId: second.id, count: 2 },
    });
  });

  it('should refuse results that do not answer the calls exactly, storing nothing and leaving the reply waiting', async () => {
    const id = await newConversation();
    const { outcome } = await waitingReply(id);
    const waitingId = outcome.assistantMessage!.id;
    const before = await stored(id);

    await expect(
      submit(id, waitingId, [{ toolCallId: 'call_9', output: 'x' }]),
    ).rejects.toMatchObject({
      code: 'unknown_tool_call',
    });
    await expect(
      submit(id, waitingId, [{ toolCallId: 'call_1', output: 'x' }]),
    ).rejects.toMatchObject({
      code: 'tool_results_incomplete',
      message: expect.stringContaining('call_2 (get_time)'),
    });
    await expect(
      submit(id, waitingId, [
        { toolCallId: 'call_1', output: 'x' },
        { toolCallId: 'call_1', output: 'y' },
        { toolCallId: 'call_2', output: 'z' },
      ]),
    ).rejects.toMatchObject({ code: 'duplicate_tool_result' });
    await expect(
      submit(id, crypto.randomUUID(), [{ toolCallId: 'call_1', output: 'x' }]),
    ).rejects.toMatchObject({
      code: 'message_not_found',
    });

    expect(await stored(id)).toEqual(before);
    const conversation = await prisma.conversation.findUniqueOrThrow({ where: { id } });
    expect(conversation.activeTurnId).toBeNull();
  });

  it("should take a reply's results once, and refuse them for a message that is not waiting", async () => {
    const id = await newConversation();
    const { outcome } = await waitingReply(id);
    const waitingId = outcome.assistantMessage!.id;
    const results = [
      { toolCallId: 'call_1', output: 'sunny' },
      { toolCallId: 'call_2', output: 'noon' },
    ];
    await (
      await submit(id, waitingId, results)
    ).outcome;

    await expect(submit(id, waitingId, results)).rejects.toMatchObject({
      code: 'message_not_waiting',
    });
    const user = (await stored(id))[0];
    await expect(submit(id, user.id, results)).rejects.toMatchObject({
      code: 'message_not_waiting',
    });
  });

  it('should replay tool results sent again with the same Idempotency-Key, and refuse the key with other results', async () => {
    const id = await newConversation();
    const { outcome } = await waitingReply(id);
    const waitingId = outcome.assistantMessage!.id;
    const results = [
      { toolCallId: 'call_1', output: 'sunny' },
      { toolCallId: 'call_2', output: 'noon' },
    ];
    const first = await (await submit(id, waitingId, results, 'tools-1')).outcome;
    const again = await (await submit(id, waitingId, results, 'tools-1')).outcome;

    expect(again.assistantMessage?.id).toBe(first.assistantMessage?.id);
    expect((await stored(id)).filter((m) => m.role === 'tool')).toHaveLength(2);
    await expect(
      submit(id, waitingId, [{ toolCallId: 'call_1', output: 'rain' }, results[1]], 'tools-1'),
    ).rejects.toMatchObject({ code: 'idempotency_key_reused' });
  });

  it('should regenerate the answer to tool results from the same results, as a new branch', async () => {
    const id = await newConversation();
    const { outcome } = await waitingReply(id);
    const results = [
      { toolCallId: 'call_1', output: 'sunny' },
      { toolCallId: 'call_2', output: 'noon' },
    ];
    const answer = (await (await submit(id, outcome.assistantMessage!.id, results)).outcome)
      .assistantMessage!;
    const again = await (
      await chat.startTurn('local', id, {
        message: null,
        branch: { anchor: 'regenerate', messageId: answer.id },
        mode: 'complete',
      })
    ).outcome;

    expect(again.failure).toBeNull();
    expect(again.assistantMessage?.parentId).toBe(answer.parentId);
    expect(provider.requests[2].messages).toEqual(provider.requests[1].messages);
    expect((await stored(id)).filter((m) => m.role === 'tool')).toHaveLength(2);
  });

  it('should send a reply whose calls were never answered without them when the user goes on talking', async () => {
    const id = await newConversation();
    await waitingReply(id);
    await (
      await chat.startTurn('local', id, { message: 'Never mind.', mode: 'complete' })
    ).outcome;

    expect(provider.requests[1].messages.slice(1)).toEqual([
      { role: 'user', content: 'Weather and time in Lisbon?' },
      { role: 'assistant', content: 'Let me check.' },
      { role: 'user', content: 'Never mind.' },
    ]);
  });

  it("should offer the conversation's tools unless a send gives its own, and refuse a choice of a tool not offered", async () => {
    const id = await newConversation({ tools: [WEATHER] });
    await (
      await chat.startTurn('local', id, { message: 'a', mode: 'complete' })
    ).outcome;
    await (
      await chat.startTurn('local', id, {
        message: 'b',
        tools: [TIME],
        toolChoice: { type: 'function', function: { name: 'get_time' } },
        mode: 'complete',
      })
    ).outcome;
    await (
      await chat.startTurn('local', id, { message: 'c', tools: [], mode: 'complete' })
    ).outcome;

    const offered = provider.requests.map((r) => [r.tools?.map((t) => t.name), r.toolChoice]);
    expect(offered).toEqual([
      [['get_weather'], undefined],
      [['get_time'], { name: 'get_time' }],
      [undefined, undefined],
    ]);
    const tokens = (r: LlmRequest) => r.messages.length;
    expect(tokens(provider.requests[0])).toBeGreaterThan(0);
    await expect(
      chat.startTurn('local', id, {
        message: 'd',
        toolChoice: { type: 'function', function: { name: 'get_time' } },
        mode: 'complete',
      }),
    ).rejects.toMatchObject({ code: 'validation_failed' });
    expect(
      (await prisma.conversation.findUniqueOrThrow({ where: { id } })).activeTurnId,
    ).toBeNull();
  });

  it('should count the tool definitions in the prompt and the manifest', async () => {
    const id = await newConversation();
    await (
      await chat.startTurn('local', id, { message: 'hi', mode: 'complete' })
    ).outcome;
    const without = await (
      await chat.startTurn('local', await newConversation(), {
        message: 'hi',
        tools: [WEATHER],
        mode: 'complete',
      })
    ).outcome;
    const plain = (await stored(id))[1].context as { promptTokens: number };
    const tooled = without.assistantMessage?.context as {
      promptTokens: number;
      tools: { names: string[]; tokens: number };
    };
    expect(tooled.tools.names).toEqual(['get_weather']);
    expect(tooled.tools.tokens).toBeGreaterThan(10);
    expect(tooled.promptTokens - plain.promptTokens).toBe(tooled.tools.tokens);
  });
});
