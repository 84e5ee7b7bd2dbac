import { applyDecorators, Type } from '@nestjs/common';
import {
  ApiExtraModels,
  ApiOkResponse,
  ApiProduces,
  ApiProperty,
  ApiPropertyOptional,
  getSchemaPath,
} from '@nestjs/swagger';

import type { ErrorCode } from '../../common/errors/error-codes';
import { ERROR_CODE_SCHEMA } from '../../common/errors/error-response.dto';
import { ContextBriefDto } from '../../history/dto/context-brief.dto';
import { ToolCallDto } from '../../llm/dto/tools.dto';
import { MessageResponseDto, UsageDto } from '../../messages';

// The `data:` of each event a turn streams (chat-event.mapper's toEventPayload), and the frame
// around it, so a generated client has a type per event and a union to switch on.

export class MessageCreatedDataDto {
  @ApiProperty({
    type: MessageResponseDto,
    description: 'The stored user message (after tool results: the last tool message)',
  })
  userMessage!: MessageResponseDto;

  @ApiProperty({ format: 'uuid', description: 'The reply being generated' })
  assistantMessageId!: string;

  @ApiPropertyOptional({
    type: [MessageResponseDto],
    description: 'After tool results: every tool message stored, in order',
  })
  toolMessages?: MessageResponseDto[];
}

export class ToolCallDataDto {
  @ApiProperty({ format: 'uuid', description: 'The reply that called it' })
  assistantMessageId!: string;

  @ApiProperty({ type: ToolCallDto })
  toolCall!: ToolCallDto;

  @ApiProperty({
    description:
      'An MCP server tool the service runs itself (a `tool.result` follows); false: the client runs it',
    example: false,
  })
  server!: boolean;
}

export class ToolResultDataDto {
  @ApiProperty({ format: 'uuid', description: 'The reply that called it' })
  assistantMessageId!: string;

  @ApiProperty({ description: 'The call it answers', example: 'call_fake1_0' })
  toolCallId!: string;

  @ApiProperty({ description: 'What the tool returned (or what went wrong), capped' })
  output!: string;

  @ApiProperty({ description: 'The tool failed, timed out or was unavailable', example: false })
  isError!: boolean;
}

export class TextDeltaDataDto {
  @ApiProperty({ description: 'The next piece of text', example: 'Start at ' })
  delta!: string;
}

export class MessageCompletedDataDto {
  @ApiProperty({ type: MessageResponseDto, description: 'The stored reply' })
  assistantMessage!: MessageResponseDto;

  @ApiProperty({ type: UsageDto, nullable: true })
  usage!: UsageDto | null;

  @ApiProperty({ type: ContextBriefDto, nullable: true, description: 'What its prompt held' })
  context!: ContextBriefDto | null;
}

export class ConversationUpdatedDataDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty({ example: 'Trip to Lisbon' })
  title!: string;

  @ApiProperty({ type: [String], example: ['travel', 'lisbon'] })
  topics!: string[];
}

export class ChatErrorDataDto {
  @ApiProperty({ ...ERROR_CODE_SCHEMA, example: 'provider_unavailable' })
  code!: ErrorCode;

  @ApiProperty({ description: 'What happened and what to do' })
  message!: string;

  @ApiPropertyOptional({ description: 'Seconds to wait before trying again', example: 5 })
  retryAfter?: number;

  @ApiProperty({
    type: MessageResponseDto,
    nullable: true,
    description: 'The reply as stored (failed or cancelled, with any partial text)',
  })
  assistantMessage!: MessageResponseDto | null;
}

const RESUMABLE_ID = "The frame's `id:`, increasing; send it back as Last-Event-ID to resume";

/** One frame class per event name: `{ id, event, data }` as an SSE parser hands it over. */
export function eventFrame<T>(
  name: string,
  data: Type<T>,
  description: string,
  idDescription = RESUMABLE_ID,
) {
  class EventFrame {
    @ApiProperty({ description: idDescription, pattern: '^[0-9]+$', example: '3000012' })
    id!: string;

    @ApiProperty({ enum: [name], description })
    event!: string;

    @ApiProperty({ type: data })
    data!: T;
  }
  return EventFrame;
}

export class MessageCreatedEventDto extends eventFrame(
  'message.created',
  MessageCreatedDataDto,
  'The user message is stored; the reply starts',
) {}
export class MessageReasoningEventDto extends eventFrame(
  'message.reasoning',
  TextDeltaDataDto,
  'Reasoning the model emits in <think> tags, never part of the answer',
) {}
export class MessageDeltaEventDto extends eventFrame(
  'message.delta',
  TextDeltaDataDto,
  'Answer text, one event per upstream chunk',
) {}
export class MessageCompletedEventDto extends eventFrame(
  'message.completed',
  MessageCompletedDataDto,
  'The stored reply; the stream ends',
) {}
export class ToolCallEventDto extends eventFrame(
  'tool.call',
  ToolCallDataDto,
  'The reply called a tool: run it and POST its result to …/messages/{assistantMessageId}/tool-results (unless `server`)',
) {}
export class ToolResultEventDto extends eventFrame(
  'tool.result',
  ToolResultDataDto,
  'An MCP server tool the reply called has returned; the model goes on with its output',
) {}
export class ConversationUpdatedEventDto extends eventFrame(
  'conversation.updated',
  ConversationUpdatedDataDto,
  'A generated title arrived while the stream was open',
) {}
export class ChatErrorEventDto extends eventFrame(
  'error',
  ChatErrorDataDto,
  'The turn failed or was cancelled; the stream ends',
) {}

const EVENTS: [string, Type<unknown>][] = [
  ['message.created', MessageCreatedEventDto],
  ['message.reasoning', MessageReasoningEventDto],
  ['message.delta', MessageDeltaEventDto],
  ['tool.call', ToolCallEventDto],
  ['tool.result', ToolResultEventDto],
  ['message.completed', MessageCompletedEventDto],
  ['conversation.updated', ConversationUpdatedEventDto],
  ['error', ChatErrorEventDto],
];

const FRAMING = `

**Framing** (text/event-stream): each event is a block of \`id: <n>\`, \`event: <name>\` and
\`data: <JSON>\` lines ended by a blank line; lines starting with \`:\` are heartbeats to skip.
The schema types one event as \`{ id, event, data }\`, a union on \`event\`. Generated clients
read the body as a stream (openapi-fetch: \`parseAs: 'stream'\`), not as JSON.`;

/** The 200 answer of a route that streams events: a union of their frames on `event`. */
export function ApiEventStream(
  description: string,
  events: [string, Type<unknown>][],
): MethodDecorator {
  return applyDecorators(
    ApiExtraModels(...events.map(([, type]) => type)),
    ApiProduces('text/event-stream'),
    ApiOkResponse({
      description: description + FRAMING,
      content: {
        'text/event-stream': {
          schema: {
            oneOf: events.map(([, type]) => ({ $ref: getSchemaPath(type) })),
            discriminator: {
              propertyName: 'event',
              mapping: Object.fromEntries(
                events.map(([name, type]) => [name, getSchemaPath(type)]),
              ),
            },
          },
        },
      },
    }),
  );
}

/** The 200 answer of a route that streams a turn's events. */
export function ApiChatEventStream(description: string): MethodDecorator {
  return ApiEventStream(description, EVENTS);
}
