import { Injectable } from '@nestjs/common';

import type { TurnEventSource } from '../chat';
import { AppException } from '../common/errors/app.exception';
import { newId } from '../common/ids';
import type {
  ChatCompletionRequestDto,
  CompletionEvent,
  FilePart,
  MessageContent,
  ProviderCall,
} from '../openai';
import { OpenAiService } from '../openai';
import type { CreateResponseDto } from './dto/create-response.dto';
import type { ResponseObjectDto } from './dto/response.dto';
import type { InputFile, InputMessage } from './response-input';
import { ReplyEvent, ResponseEventMapper } from './response-events';
import type { ReplyView, ResponseEcho } from './response.mapper';
import { toResponseObject } from './response.mapper';

/** What a stateless response answers: the object, or its events. */
export type StatelessAnswer =
  { kind: 'object'; response: ResponseObjectDto } | { kind: 'stream'; source: TurnEventSource };

/** An input file as /v1/chat/completions takes it: a file part, by id or inline. */
function filePart(file: InputFile): FilePart {
  if (file.kind === 'id') return { type: 'file', file: { file_id: file.fileId } };
  const { mimeType, data, filename } = file;
  return { type: 'file', file: { file_data: `data:${mimeType};base64,${data}`, filename } };
}

/** A message's text, then its files (read by /v1/chat/completions as a send's attachments). */
function contentOf(message: InputMessage): MessageContent {
  if (!message.files?.length) return message.text;
  return [{ type: 'text', text: message.text }, ...message.files.map(filePart)];
}

function completionRequest(
  dto: CreateResponseDto,
  model: string,
  messages: InputMessage[],
): ChatCompletionRequestDto {
  const system = dto.instructions ? [{ role: 'system' as const, content: dto.instructions }] : [];
  const format = dto.text?.format?.type;
  return {
    model,
    messages: [...system, ...messages.map((m) => ({ role: m.role, content: contentOf(m) }))],
    ...(dto.temperature != null && { temperature: dto.temperature }),
    ...(dto.top_p != null && { top_p: dto.top_p }),
    ...(dto.max_output_tokens != null && { max_tokens: dto.max_output_tokens }),
    ...(format === 'json_object' && { response_format: { type: 'json_object' } }),
  };
}

/** The end of a stateless reply as a response shows it. */
function endedView(start: ReplyView, event: Extract<CompletionEvent, { type: 'done' }>): ReplyView {
  const { reply } = event;
  return {
    ...start,
    status: reply.finishReason === 'length' ? 'incomplete' : 'completed',
    text: reply.content,
    reasoning: reply.reasoning,
    completedAt: Math.floor(Date.now() / 1000),
    usage: { input: reply.usage.promptTokens, output: reply.usage.completionTokens },
  };
}

function failedView(start: ReplyView, text: string, error: unknown): ReplyView {
  const known = error instanceof AppException;
  return {
    ...start,
    status: 'failed',
    text,
    error: {
      code: known ? error.code : 'internal_error',
      message: known ? error.message : 'The reply failed on our side',
    },
  };
}

/**
 * `store: false`: a response through the /v1/chat/completions door's provider path
 * (OpenAiService: context-window check, per-owner slots, retries, response cache), and
 * nothing written. Its id names nothing afterwards, as OpenAI's.
 */
@Injectable()
export class StatelessResponses {
  constructor(private readonly openai: OpenAiService) {}

  refuse(dto: CreateResponseDto): void {
    const problem =
      dto.previous_response_id || dto.conversation
        ? 'previous_response_id and conversation read stored responses'
        : dto.background
          ? 'background responses are stored to be read later'
          : dto.text?.format?.type === 'json_schema'
            ? 'text.format json_schema is served for stored responses only'
            : dto.tools?.length
              ? 'function tools are served for stored responses only'
              : null;
    if (problem)
      throw new AppException('unsupported_input', `With store: false, ${problem}; use store: true`);
  }

  async answer(
    dto: CreateResponseDto,
    messages: InputMessage[],
    echo: ResponseEcho,
    { owner, model, ...call }: ProviderCall & { owner: string; model: string },
  ): Promise<StatelessAnswer> {
    if (messages.some((m) => m.role !== 'user' && m.files?.length))
      throw new AppException(
        'unsupported_input',
        'input_image and input_file parts ride on user messages',
      );
    const request = completionRequest(dto, model, messages);
    const start: ReplyView = {
      id: newId(),
      conversationId: null,
      status: 'in_progress',
      text: '',
      reasoning: null,
      model,
      createdAt: Math.floor(Date.now() / 1000),
      completedAt: null,
      usage: null,
      error: null,
    };
    if (!dto.stream) {
      const { completion } = await this.openai.complete(owner, request, call);
      const [choice] = completion.choices;
      const { content, reasoning_content: reasoning } = choice.message;
      const reply = {
        content: content ?? '',
        reasoning: reasoning ?? null,
        finishReason: choice.finish_reason,
        usage: {
          promptTokens: completion.usage.prompt_tokens,
          completionTokens: completion.usage.completion_tokens,
          estimated: completion.usage.estimated === true,
        },
      };
      const view = endedView(start, { type: 'done', reply });
      return { kind: 'object', response: toResponseObject(view, echo) };
    }
    const run = await this.openai.stream(owner, request, call);
    const events = run.events[Symbol.asyncIterator]();
    // The provider is called on the first read: its failure is an HTTP error, not an event.
    const first = await events.next();
    return { kind: 'stream', source: eventSource(events, first, start, echo) };
  }
}

/** A stateless reply's events pushed to a listener as they come (the stream writer's way). */
function eventSource(
  events: AsyncIterator<CompletionEvent>,
  first: IteratorResult<CompletionEvent>,
  start: ReplyView,
  echo: ResponseEcho,
): TurnEventSource {
  let stopped = false;
  let finish!: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));
  const mapper = new ResponseEventMapper(start, echo);
  const pump = async (write: (event: ReplyEvent) => void): Promise<void> => {
    let text = '';
    try {
      write({ type: 'started' });
      for (let next = first; !next.done && !stopped; next = await events.next()) {
        const event = next.value;
        if (event.type === 'done') write({ type: 'ended', view: endedView(start, event) });
        else if (event.type === 'delta') {
          if (event.reasoning) write({ type: 'reasoning', delta: event.reasoning });
          if (event.content) write({ type: 'text', delta: event.content });
          text += event.content;
        }
      }
    } catch (error) {
      if (!stopped) write({ type: 'ended', view: failedView(start, text, error) });
    } finally {
      finish();
    }
  };
  return {
    listen: (write) => {
      void pump((event) => {
        for (const out of mapper.map(event))
          write({ id: out.sequence_number, event: out.type, data: out });
      });
      return () => {
        stopped = true;
        void events.return?.(undefined);
      };
    },
    done,
  };
}
