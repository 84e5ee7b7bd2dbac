import type { LlmChunk, LlmProvider, LlmRequest, LlmResult } from '../../src/llm/llm.types';

export type Behaviour = (request: LlmRequest) => AsyncIterable<LlmChunk>;

/** An in-process provider: each call takes the next scripted behaviour, else echoes. */
export class ScriptedProvider implements LlmProvider {
  constructor(readonly name: string) {}

  readonly label = 'Scripted';
  readonly baseUrl = 'memory://scripted';
  readonly configured = true;
  readonly configHint = '';
  readonly probe = false;
  readonly noModelHint = '';
  readonly requests: LlmRequest[] = [];
  private readonly script: Behaviour[] = [];

  next(behaviour: Behaviour): void {
    this.script.push(behaviour);
  }

  reset(): void {
    this.requests.length = 0;
    this.script.length = 0;
  }

  async complete(request: LlmRequest): Promise<LlmResult> {
    let content = '';
    let done: Extract<LlmChunk, { type: 'done' }> | undefined;
    for await (const chunk of this.take(request)) {
      if (chunk.type === 'delta') content += chunk.text;
      else if (chunk.type === 'done') done = chunk;
    }
    return {
      content,
      upstreamModel: done?.upstreamModel ?? 'scripted',
      finishReason: done?.finishReason ?? 'stop',
      usage: done?.usage ?? null,
      ...(done?.toolCalls && { toolCalls: done.toolCalls }),
    };
  }

  async stream(request: LlmRequest, onChunk: (chunk: LlmChunk) => void): Promise<void> {
    for await (const chunk of this.take(request)) onChunk(chunk);
  }

  private take(request: LlmRequest): AsyncIterable<LlmChunk> {
    // What was sent, as an upstream receives it: the turn lets go of its prompt once the reply began.
    this.requests.push({ ...request, messages: [...request.messages] });
    return (this.script.shift() ?? echo)(request);
  }

  listModels(): Promise<string[]> {
    return Promise.resolve(['scripted']);
  }
}

export async function* echo(request: LlmRequest): AsyncIterable<LlmChunk> {
  await Promise.resolve();
  yield { type: 'delta', text: `Echo: ${request.messages.at(-1)?.content}` };
  yield { type: 'done', upstreamModel: 'scripted', finishReason: 'stop', usage: null };
}
