/**
 * Layer 3 of the layers scenario: layer 2 (nest-app.ts) with the upstream called through
 * the openai SDK, built as the service builds its client for an OpenAI-compatible server
 * (src/llm/providers/openai-compatible.provider.ts): its keep-alive `fetch` adapter, no
 * retries, the default LLM_TIMEOUT_MS plus a second, and a signal per call (the turn's).
 * Streamed turns ask for `stream: true` with usage, as the service does, and hand each
 * SDK chunk's content on as soon as the SDK yields it.
 *
 * Env: as floor-server.ts.
 */
import OpenAI from 'openai';
import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';

import { keepAliveFetch } from '../../src/llm/providers/keep-alive-fetch';
import { ChatMessage, MODEL, REPLY_TOKENS, UPSTREAM_BASE_URL, UpstreamResult } from '../floor-work';
import { serveNest } from './nest-app';

const LLM_TIMEOUT_MS = 60_000;

const client = new OpenAI({
  apiKey: 'not-needed',
  baseURL: UPSTREAM_BASE_URL,
  maxRetries: 0,
  fetch: keepAliveFetch,
  timeout: LLM_TIMEOUT_MS + 1000,
});

async function complete(messages: ChatMessage[]): Promise<UpstreamResult> {
  const completion = await client.chat.completions.create(
    {
      model: MODEL,
      messages: messages as ChatCompletionMessageParam[],
      max_tokens: REPLY_TOKENS,
      stream: false,
    },
    { signal: new AbortController().signal },
  );
  const choice = completion.choices[0];
  return {
    content: choice?.message.content ?? '',
    model: completion.model,
    finishReason: choice?.finish_reason ?? null,
    usage: completion.usage ?? null,
  };
}

async function stream(
  messages: ChatMessage[],
  onDelta: (text: string) => void,
): Promise<UpstreamResult> {
  const chunks = await client.chat.completions.create(
    {
      model: MODEL,
      messages: messages as ChatCompletionMessageParam[],
      max_tokens: REPLY_TOKENS,
      stream: true,
      stream_options: { include_usage: true },
    },
    { signal: new AbortController().signal },
  );
  const result: UpstreamResult = { content: '', model: null, finishReason: null, usage: null };
  for await (const chunk of chunks) {
    result.model = chunk.model ?? result.model;
    result.usage = chunk.usage ?? result.usage;
    const choice = chunk.choices[0];
    if (choice?.finish_reason) result.finishReason = choice.finish_reason;
    const text = choice?.delta.content;
    if (text) {
      result.content += text;
      onDelta(text);
    }
  }
  return result;
}

void serveNest('layer nest+openai', { complete, stream });
