import { createOpenAI } from '@ai-sdk/openai';
import { HumanMessage } from '@langchain/core/messages';
import { ChatOpenAI } from '@langchain/openai';
import {
  Agent,
  run,
  setDefaultOpenAIClient,
  setOpenAIAPI,
  setTracingDisabled,
  tool,
} from '@openai/agents';
import { tool as aiTool, generateText, stepCountIs, streamText } from 'ai';
import OpenAI from 'openai';
import { z } from 'zod';

import { CONVERSATIONS, withTestApp } from './utils/harness';

const ALIAS = 'lmstudio/default';

const uuidOf = (id: string): string => {
  const hex = id.replace(/^[a-z]+_/, '');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
};

describe('The Responses API with the clients people use', () => {
  const t = withTestApp({ env: { LMSTUDIO_MODEL: 'fake-model', LLM_MAX_RETRIES: '0' } });

  describe("the AI SDK's default OpenAI provider (Responses API)", () => {
    it('should hold a conversation with memory, whole and streamed, and continue a response', async () => {
      const openai = createOpenAI({ baseURL: `${t.url}/v1`, apiKey: 'not-needed' });
      const first = await generateText({
        model: openai(ALIAS),
        prompt: 'My name is Ada',
        maxRetries: 0,
      });
      expect(first.text).toBe('Echo: My name is Ada [messages=2]');
      const responseId = first.providerMetadata?.openai?.responseId as string;
      expect(responseId).toMatch(/^resp_/);

      // The history sent again by the client (its own memory), the way most apps do it.
      const second = await generateText({
        model: openai(ALIAS),
        messages: [
          { role: 'user', content: 'My name is Ada' },
          ...first.response.messages,
          { role: 'user', content: 'What is my name?' },
        ],
        maxRetries: 0,
      });
      expect(second.text).toBe('Echo: What is my name? [messages=4]');

      // Or the server's memory: continue the stored response.
      const streamed = streamText({
        model: openai(ALIAS),
        prompt: 'And again?',
        providerOptions: { openai: { previousResponseId: responseId } },
        maxRetries: 0,
      });
      expect(await streamed.text).toBe('Echo: And again? [messages=4]');
      // The first response and its continuation are one conversation under /api/v1.
      const sdk = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: 'not-needed', maxRetries: 0 });
      const { conversation } = await sdk.responses.retrieve(responseId);
      const path = await t.http
        .get(`${CONVERSATIONS}/${uuidOf(conversation!.id)}/messages`)
        .expect(200);
      expect(path.body.data.map((m: { content: string }) => m.content)).toEqual([
        'My name is Ada',
        'Echo: My name is Ada [messages=2]',
        'And again?',
        'Echo: And again? [messages=4]',
      ]);
    });
  });

  describe("the AI SDK's function tools (Responses API)", () => {
    it('should call a tool, send its result back and answer with it', async () => {
      const openai = createOpenAI({ baseURL: `${t.url}/v1`, apiKey: 'not-needed' });
      const result = await generateText({
        model: openai(ALIAS),
        prompt: 'What is the get_weather in Lisbon? {"city":"Lisbon"}',
        tools: {
          get_weather: aiTool({
            description: 'The weather in a city',
            inputSchema: z.object({ city: z.string() }),
            execute: ({ city }) => Promise.resolve({ city, temperature: 21 }),
          }),
        },
        stopWhen: stepCountIs(3),
        maxRetries: 0,
      });
      expect(result.steps).toHaveLength(2);
      expect(result.steps[0].toolCalls).toMatchObject([
        { toolName: 'get_weather', input: { city: 'Lisbon' } },
      ]);
      expect(result.text).toBe('Tool results: {"city":"Lisbon","temperature":21}');
    });
  });

  describe('LangChain ChatOpenAI with useResponsesApi', () => {
    it('should answer whole and streamed, with the history it sends', async () => {
      const model = new ChatOpenAI({
        model: ALIAS,
        useResponsesApi: true,
        apiKey: 'not-needed',
        maxRetries: 0,
        configuration: { baseURL: `${t.url}/v1` },
      });
      const first = await model.invoke([new HumanMessage('My name is Ada')]);
      expect(first.content).toEqual([
        expect.objectContaining({ text: 'Echo: My name is Ada [messages=2]' }),
      ]);
      const second = await model.invoke([
        new HumanMessage('My name is Ada'),
        first,
        new HumanMessage('What is my name?'),
      ]);
      expect(second.text).toBe('Echo: What is my name? [messages=4]');
      let streamed = '';
      for await (const chunk of await model.stream('stream it')) streamed += chunk.text;
      expect(streamed).toBe('Echo: stream it [messages=2]');
    });
  });

  describe('the OpenAI Agents SDK', () => {
    beforeAll(() => {
      setDefaultOpenAIClient(
        new OpenAI({ baseURL: `${t.url}/v1`, apiKey: 'not-needed', maxRetries: 0 }),
      );
      setOpenAIAPI('responses');
      setTracingDisabled(true);
    });

    it('should run an agent over two turns, continuing its previous response', async () => {
      const agent = new Agent({ name: 'Echo', instructions: 'Answer briefly.', model: ALIAS });
      const first = await run(agent, 'Hello agent');
      expect(first.finalOutput).toBe('Echo: Hello agent [messages=2]');
      const second = await run(agent, 'Still there?', { previousResponseId: first.lastResponseId });
      expect(second.finalOutput).toBe('Echo: Still there? [messages=4]');
    });

    it('should run a function tool and answer with its result', async () => {
      const weather = tool({
        name: 'weather',
        description: 'The weather in a city',
        parameters: z.object({ city: z.string() }),
        execute: ({ city }) => `Sunny in ${city}`,
      });
      const agent = new Agent({ name: 'Tools', model: ALIAS, tools: [weather] });
      const result = await run(agent, 'The weather in Lisbon? {"city":"Lisbon"}');
      expect(result.finalOutput).toBe('Tool results: Sunny in Lisbon');
      // The model was asked twice: the call, then the answer to its output.
      expect(t.fake.requests.map((r) => r.toolsOffered)).toEqual([['weather'], ['weather']]);
    });
  });
});
