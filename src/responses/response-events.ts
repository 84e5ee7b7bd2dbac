import type { TurnEventFrame, TurnEventSource } from '../chat';
import type { ToolCall } from '../llm/llm.types';
import type { MessageResponseDto } from '../messages';
import type { MessageItemDto, ReasoningItemDto } from './dto/response.dto';
import { toOpenAiId } from './response-ids';
import {
  fromMessageDto,
  ReplyView,
  ResponseEcho,
  showsMessage,
  toFunctionCall,
  toOutputMessage,
  toResponseObject,
} from './response.mapper';

/** What happens to a reply, whichever engine runs it (a stored turn, a stateless call). */
export type ReplyEvent =
  | { type: 'started' }
  | { type: 'reasoning'; delta: string }
  | { type: 'text'; delta: string }
  | { type: 'ended'; view: ReplyView };

/** One event of a streamed response, as OpenAI names and shapes it. */
export type ResponseStreamEvent = { type: string; sequence_number: number } & Record<
  string,
  unknown
>;

const FINAL_EVENT: Partial<Record<ReplyView['status'], string>> = {
  completed: 'response.completed',
  incomplete: 'response.incomplete',
};

/**
 * Turns a reply's events into OpenAI's response events, numbered from 0. The same reply
 * events give the same numbers, so a stream replayed from the start and cut at
 * `starting_after` resumes exactly. Reasoning is an output item of its own before the
 * message; reasoning that comes once the answer has begun is stored, not streamed.
 */
export class ResponseEventMapper {
  private sequence = 0;
  private reasoning: { index: number; text: string } | null = null;
  private message: { index: number } | null = null;
  private items = 0;

  constructor(
    /** The reply as it starts (in progress, no text): what response.created carries. */
    private readonly start: ReplyView,
    private readonly echo: ResponseEcho,
  ) {}

  map(event: ReplyEvent): ResponseStreamEvent[] {
    switch (event.type) {
      case 'started': {
        const response = toResponseObject(this.start, this.echo, false);
        return [
          this.emit('response.created', { response }),
          this.emit('response.in_progress', { response }),
        ];
      }
      case 'reasoning':
        return this.message ? [] : this.reasoningDelta(event.delta);
      case 'text':
        return [...this.closeReasoning(), ...this.openMessage(), this.textDelta(event.delta)];
      case 'ended':
        return this.end(event.view);
    }
  }

  private emit(type: string, fields: Record<string, unknown>): ResponseStreamEvent {
    return { type, sequence_number: this.sequence++, ...fields };
  }

  private get reasoningId(): string {
    return toOpenAiId('reasoning', this.start.id);
  }

  private get messageId(): string {
    return toOpenAiId('message', this.start.id);
  }

  private reasoningItem(
    text: string | null,
    status: 'in_progress' | 'completed',
  ): ReasoningItemDto {
    const content = text === null ? [] : [{ type: 'reasoning_text' as const, text }];
    return { id: this.reasoningId, type: 'reasoning', summary: [], content, status };
  }

  private reasoningDelta(delta: string): ResponseStreamEvent[] {
    const opened: ResponseStreamEvent[] = [];
    if (!this.reasoning) {
      this.reasoning = { index: this.items++, text: '' };
      const at = { output_index: this.reasoning.index };
      opened.push(
        this.emit('response.output_item.added', {
          ...at,
          item: this.reasoningItem(null, 'in_progress'),
        }),
        this.emit('response.content_part.added', {
          ...{ ...at, item_id: this.reasoningId, content_index: 0 },
          part: { type: 'reasoning_text', text: '' },
        }),
      );
    }
    this.reasoning.text += delta;
    const at = { item_id: this.reasoningId, output_index: this.reasoning.index, content_index: 0 };
    return [...opened, this.emit('response.reasoning_text.delta', { ...at, delta })];
  }

  private closeReasoning(): ResponseStreamEvent[] {
    const open = this.reasoning;
    if (!open || this.message) return [];
    const at = { item_id: this.reasoningId, output_index: open.index, content_index: 0 };
    const part = { type: 'reasoning_text', text: open.text };
    return [
      this.emit('response.reasoning_text.done', { ...at, text: open.text }),
      this.emit('response.content_part.done', { ...at, part }),
      this.emit('response.output_item.done', {
        output_index: open.index,
        item: this.reasoningItem(open.text, 'completed'),
      }),
    ];
  }

  private openMessage(): ResponseStreamEvent[] {
    if (this.message) return [];
    this.message = { index: this.items++ };
    const item: MessageItemDto = {
      ...toOutputMessage({ ...this.start, text: '' }, 'in_progress'),
      content: [],
    };
    const at = { output_index: this.message.index };
    return [
      this.emit('response.output_item.added', { ...at, item }),
      this.emit('response.content_part.added', {
        ...{ ...at, item_id: this.messageId, content_index: 0 },
        part: { type: 'output_text', text: '', annotations: [], logprobs: [] },
      }),
    ];
  }

  private textDelta(delta: string): ResponseStreamEvent {
    const at = {
      item_id: this.messageId,
      output_index: this.message?.index ?? 0,
      content_index: 0,
    };
    return this.emit('response.output_text.delta', { ...at, delta, logprobs: [] });
  }

  /** A function call as OpenAI streams one: added empty, its arguments, done. */
  private functionCall(view: ReplyView, call: ToolCall, index: number): ResponseStreamEvent[] {
    const item = toFunctionCall(view.id, call, index);
    const at = { item_id: item.id, output_index: this.items++ };
    return [
      this.emit('response.output_item.added', {
        output_index: at.output_index,
        item: { ...item, arguments: '', status: 'in_progress' },
      }),
      this.emit('response.function_call_arguments.delta', { ...at, delta: item.arguments }),
      this.emit('response.function_call_arguments.done', {
        ...at,
        name: item.name,
        arguments: item.arguments,
      }),
      this.emit('response.output_item.done', { output_index: at.output_index, item }),
    ];
  }

  /** Closes what is open (a reply that ends with no text at all still shows its message). */
  private end(view: ReplyView): ResponseStreamEvent[] {
    const events = this.closeReasoning();
    const failedEmpty = !this.message && !view.text && view.status !== 'completed';
    if (!failedEmpty && (this.message || showsMessage(view))) {
      events.push(...this.openMessage());
      const item = toOutputMessage(view);
      const at = {
        item_id: this.messageId,
        output_index: this.message?.index ?? 0,
        content_index: 0,
      };
      events.push(
        this.emit('response.output_text.done', { ...at, text: view.text, logprobs: [] }),
        this.emit('response.content_part.done', { ...at, part: item.content[0] }),
        this.emit('response.output_item.done', { output_index: at.output_index, item }),
      );
    }
    (view.toolCalls ?? []).forEach((call, i) => events.push(...this.functionCall(view, call, i)));
    const response = toResponseObject(view, this.echo, true);
    // A cancelled response ends as a failed one does: OpenAI's stream has no event of its own for it.
    events.push(this.emit(FINAL_EVENT[view.status] ?? 'response.failed', { response }));
    return events;
  }
}

interface ErrorFrameData {
  error: string;
  message: string;
  assistantMessage: MessageResponseDto | null;
}

/** A turn's frame (chat-event.mapper's payloads) as a reply event; none for a title update. */
export function replyEventOf(frame: TurnEventFrame, start: ReplyView): ReplyEvent | null {
  switch (frame.event) {
    case 'message.created':
      return { type: 'started' };
    case 'message.reasoning':
      return { type: 'reasoning', delta: (frame.data as { delta: string }).delta };
    case 'message.delta':
      return { type: 'text', delta: (frame.data as { delta: string }).delta };
    case 'message.completed': {
      const { assistantMessage } = frame.data as { assistantMessage: MessageResponseDto };
      return { type: 'ended', view: fromMessageDto(assistantMessage) };
    }
    case 'error': {
      const data = frame.data as ErrorFrameData;
      const view = data.assistantMessage
        ? fromMessageDto(data.assistantMessage)
        : {
            ...start,
            status: 'failed' as const,
            error: { code: data.error, message: data.message },
          };
      return { type: 'ended', view };
    }
    default:
      return null;
  }
}

/**
 * A turn's frames as a response's events, from `sequence_number` startingAfter + 1 on: the
 * mapping always runs from the turn's first frame, so the numbers are those of every
 * other stream of the same response.
 */
export function responseEventSource(
  frames: TurnEventSource,
  start: ReplyView,
  echo: ResponseEcho,
  startingAfter = -1,
): TurnEventSource {
  const mapper = new ResponseEventMapper(start, echo);
  return {
    listen: (write) =>
      frames.listen((frame) => {
        const event = replyEventOf(frame, start);
        if (!event) return;
        for (const out of mapper.map(event))
          if (out.sequence_number > startingAfter)
            write({ id: out.sequence_number, event: out.type, data: out });
      }),
    done: frames.done,
    ready: frames.ready,
  };
}
