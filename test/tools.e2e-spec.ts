import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { CONVERSATIONS, waitUntil, withTestApp } from './utils/harness';
import { openSse } from './utils/sse';
import { TestSocket } from './utils/ws-client';

const ROOT = path.resolve(__dirname, '..');
const STDIO_SERVER = path.join(ROOT, 'test/mcp/stdio-server.ts');
/** Starting a server under tsx takes seconds on a busy machine. */
const START_MS = 45_000;

const WEATHER = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'The weather in a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } } },
  },
};

interface Call {
  id: string;
  name: string;
  arguments: string;
}

describe('Tools on conversation turns, over HTTP, SSE and the WebSocket (fake LLM, real MCP server)', () => {
  const serversFile = path.join(os.tmpdir(), `mcp-${randomBytes(6).toString('hex')}.json`);
  writeFileSync(
    serversFile,
    JSON.stringify({
      mcpServers: {
        local: { command: process.execPath, args: ['--import', 'tsx', STDIO_SERVER], cwd: ROOT },
      },
    }),
  );
  const t = withTestApp({
    env: { MCP_SERVERS_FILE: serversFile, TOOL_TIMEOUT_MS: '1500', TOOL_MAX_STEPS: '2' },
    models: [
      { alias: 'lmstudio/default', provider: 'lmstudio', contextWindow: 32768 },
      { alias: 'lmstudio/plain', provider: 'lmstudio', contextWindow: 32768, tools: false },
    ],
  });
  const messages = (id: string) => `${CONVERSATIONS}/${id}/messages`;

  /** Once /health/ready shows the MCP server up (it starts in the background, under tsx). */
  const mcpReady = () =>
    waitUntil(async () => {
      const { body } = await t.http.get('/health/ready');
      const checks = (body as { checks?: Record<string, { status: string }> }).checks;
      return checks?.['mcp:local']?.status === 'up';
    }, START_MS);
  afterAll(() => rmSync(serversFile, { force: true }));

  it('should store a tool call, take its result, and answer with it, as a client runs the loop', async () => {
    const id = await t.createConversation({ tools: [WEATHER] });
    const first = await t.http
      .post(messages(id))
      .send({ message: 'Use get_weather {"city":"Lisbon"}' })
      .expect(201);
    const waiting = first.body.assistantMessage;
    expect(waiting).toMatchObject({ status: 'requires_action', finishReason: 'tool_calls' });
    const [call] = waiting.toolCalls as Call[];
    expect(call).toMatchObject({ name: 'get_weather', arguments: '{"city":"Lisbon"}' });
    // Operators see a turn that waits for tool results as such, not as a complete one.
    const metrics = await t.http.get('/metrics').expect(200);
    expect(metrics.text).toMatch(
      /^chat_turns_total\{alias="lmstudio\/default",outcome="requires_action"\} 1$/m,
    );

    const answered = await t.http
      .post(`${messages(id)}/${waiting.id}/tool-results`)
      .send({ results: [{ toolCallId: call.id, output: 'clear, 21 C' }] })
      .expect(201);
    expect(answered.body.response).toBe('Tool results: clear, 21 C');
    expect(answered.body.userMessage).toMatchObject({ role: 'tool', toolCallId: call.id });
    // The model got OpenAI's sequence: the call with content null, then its result.
    const sent = t.fake.requests[1].body.messages;
    expect(sent.slice(-2)).toEqual([
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          {
            id: call.id,
            type: 'function',
            function: { name: 'get_weather', arguments: call.arguments },
          },
        ],
      },
      { role: 'tool', content: 'clear, 21 C', tool_call_id: call.id },
    ]);

    const list = await t.http.get(messages(id)).expect(200);
    expect(list.body.data.map((m: { role: string; status: string }) => [m.role, m.status])).toEqual(
      [
        ['user', 'complete'],
        ['assistant', 'complete'],
        ['tool', 'complete'],
        ['assistant', 'complete'],
      ],
    );
    const md = await t.http.get(`${CONVERSATIONS}/${id}/export?format=markdown`).expect(200);
    expect(md.text).toContain('## Tool result');
    expect(md.text).toContain(`- called \`get_weather\` (${call.id})`);
  });

  it('should answer bad tool results with clear 4xx codes', async () => {
    const id = await t.createConversation();
    const first = await t.http
      .post(messages(id))
      .send({ message: 'get_weather {"city":"Oslo"}', tools: [WEATHER] })
      .expect(201);
    const { id: replyId, toolCalls } = first.body.assistantMessage;
    const url = `${messages(id)}/${replyId}/tool-results`;

    const unknown = await t.http.post(url).send({ results: [{ toolCallId: 'nope', output: 'x' }] });
    expect([unknown.status, unknown.body.error]).toEqual([400, 'unknown_tool_call']);
    const empty = await t.http.post(url).send({ results: [] });
    expect([empty.status, empty.body.error]).toEqual([400, 'validation_failed']);
    const wrongType = await t.http
      .post(url)
      .send({ results: [{ toolCallId: toolCalls[0].id, output: 7 }] });
    expect([wrongType.status, wrongType.body.error]).toEqual([400, 'validation_failed']);
    const user = first.body.userMessage.id;
    const notWaiting = await t.http
      .post(`${messages(id)}/${user}/tool-results`)
      .send({ results: [{ toolCallId: toolCalls[0].id, output: 'x' }] });
    expect([notWaiting.status, notWaiting.body.error]).toEqual([409, 'message_not_waiting']);
    const badTool = await t.http
      .post(messages(id))
      .send({ message: 'hi', tools: [{ type: 'function', function: { name: 'bad name!' } }] });
    expect([badTool.status, badTool.body.error]).toEqual([400, 'validation_failed']);
    const incapable = await t.http
      .post(messages(id))
      .send({ message: 'hi', model: 'lmstudio/plain', tools: [WEATHER] });
    expect([incapable.status, incapable.body.error]).toEqual([400, 'tools_not_supported']);
    // Nothing of the refusals was stored, and the reply still waits.
    const rows = await t.storedMessages(id);
    expect(rows.map((m) => m.status)).toEqual(['complete', 'requires_action']);
  });

  it('should stream the call before the end, and the next reply from the results stream', async () => {
    const id = await t.createConversation();
    const stream = await t.stream(id, 'get_weather {"city":"Rome"}', { tools: [WEATHER] } as never);
    const types = stream.events.map((e) => e.event);
    expect(types.slice(-2)).toEqual(['tool.call', 'message.completed']);
    const { assistantMessageId, toolCall } = JSON.parse(stream.events.at(-2)!.data);

    const next = await openSse(
      `${t.url}${messages(id)}/${assistantMessageId}/tool-results/stream`,
      {
        body: { results: [{ toolCallId: toolCall.id, output: 'sunny' }] },
      },
    );
    await next.ended;
    const created = JSON.parse(next.events[0].data);
    expect(created.toolMessages).toHaveLength(1);
    const completed = JSON.parse(next.events.at(-1)!.data);
    expect(completed.assistantMessage).toMatchObject({
      status: 'complete',
      content: 'Tool results: sunny',
    });
  });

  it('should take tool results over the WebSocket', async () => {
    const id = await t.createConversation({ tools: [WEATHER] });
    const socket = await TestSocket.open(t.url);
    socket.send({
      type: 'message.send',
      conversationId: id,
      message: 'get_weather {"city":"Bern"}',
    });
    const end = await socket.turnEnd(id);
    const waiting = (end.data as { assistantMessage: { id: string; toolCalls: Call[] } })
      .assistantMessage;
    socket.send({
      type: 'message.toolResults',
      conversationId: id,
      messageId: waiting.id,
      results: [{ toolCallId: waiting.toolCalls[0].id, output: 'snow' }],
    });
    await waitUntil(
      () =>
        socket.messages.some(
          (m) =>
            m.type === 'message.completed' && JSON.stringify(m.data).includes('Tool results: snow'),
        ),
      15_000,
    );
    socket.ws.close();
  });

  it(
    'should run MCP server tools inside the turn and answer with their output',
    async () => {
      await mcpReady();
      const id = await t.createConversation({ serverTools: ['local/echo'] });
      const stream = await t.stream(id, 'Please local__echo {"text":"hello from MCP"}');
      const types = stream.events.map((e) => e.event);
      expect(types).toContain('tool.call');
      expect(types).toContain('tool.result');
      expect(types.at(-1)).toBe('message.completed');
      const result = JSON.parse(stream.events.find((e) => e.event === 'tool.result')!.data);
      expect(result).toMatchObject({
        isError: false,
        output: expect.stringContaining('hello from MCP'),
      });
      const final = JSON.parse(stream.events.at(-1)!.data).assistantMessage;
      expect(final.content).toContain('hello from MCP');

      const rows = await t.storedMessages(id);
      expect(rows.map((m) => [m.role, m.status])).toEqual([
        ['user', 'complete'],
        ['assistant', 'complete'],
        ['tool', 'complete'],
        ['assistant', 'complete'],
      ]);
      const conversation = await t.prisma.conversation.findUniqueOrThrow({ where: { id } });
      expect([conversation.activeTurnId, conversation.currentLeafId]).toEqual([null, final.id]);
    },
    START_MS + 10_000,
  );

  it(
    'should hand a hung server tool back to the model as a timeout, and refuse an unknown server',
    async () => {
      await mcpReady();
      const id = await t.createConversation();
      const res = await t.http
        .post(messages(id))
        .send({ message: 'local__hang now', serverTools: ['local/*'] })
        .expect(201);
      expect(res.body.response).toMatch(/Tool results: .*1500 ms|Tool results: .*time/i);
      const unknown = await t.http
        .post(messages(id))
        .send({ message: 'x', serverTools: ['nowhere/*'] });
      expect([unknown.status, unknown.body.error]).toEqual([400, 'unknown_server_tool']);
      const bad = await t.http.post(CONVERSATIONS).send({ serverTools: ['nowhere/*'] });
      expect([bad.status, bad.body.error]).toEqual([400, 'unknown_server_tool']);
    },
    START_MS + 10_000,
  );
});
