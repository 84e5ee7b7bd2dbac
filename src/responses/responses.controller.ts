import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  Post,
  Query,
  Res,
  UseFilters,
} from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiExtraModels,
  ApiHeader,
  ApiOkResponse,
  ApiOperation,
  ApiProduces,
  ApiSecurity,
  ApiTags,
  getSchemaPath,
} from '@nestjs/swagger';
import type { Response } from 'express';

import { ApiKeyAsBearer, CurrentOwner } from '../auth/current-owner.decorator';
import { writeSse } from '../chat';
import { AppException } from '../common/errors/app.exception';
import { CorrelationId } from '../common/http/correlation-id.middleware';
import { OptionalHeader } from '../common/http/optional-header.decorator';
import { OpenAiExceptionFilter } from '../openai';
import { CreateResponseDto } from './dto/create-response.dto';
import { ItemPageQuery, RetrieveResponseQuery } from './dto/response-query.dto';
import {
  DeletedObjectDto,
  FunctionCallItemDto,
  FunctionCallOutputItemDto,
  InputFileDto,
  InputImageDto,
  InputTextDto,
  ItemListDto,
  MessageItemDto,
  OutputTextDto,
  ReasoningItemDto,
  ResponseObjectDto,
  ResponseStreamEventDto,
} from './dto/response.dto';
import { ApiOpenAiErrors, ApiResponseId, RESPONSE_EVENTS } from './openai-docs';
import { ResponseAnswer, ResponsesService } from './responses.service';

const CREATE_DESCRIPTION = `OpenAI's Responses API by model alias. A stored response (the default) is a turn of one of your conversations, the same as /api/v1 shows: \`previous_response_id\` continues from that reply (a new branch when it is not the end of its conversation), \`conversation\` appends to a conversation's current path, neither starts a new conversation. \`store: false\` stores nothing (a stateless call, as /v1/chat/completions). \`background: true\` answers at once, in progress.

${RESPONSE_EVENTS}`;

/** Aborts when the client goes away before the answer is complete (a stateless call stops then). */
function abortWhenClientLeaves(res: Response): AbortSignal {
  const controller = new AbortController();
  res.on('close', () => {
    if (!res.writableFinished)
      controller.abort(new AppException('client_closed_request', 'The client went away'));
  });
  return controller.signal;
}

const RESPONSE_CONTENT = {
  'application/json': { schema: { $ref: getSchemaPath(ResponseObjectDto) } },
  'text/event-stream': {
    schema: {
      type: 'array',
      items: { $ref: getSchemaPath(ResponseStreamEventDto) },
      description: 'Frames `event: <type>` `data: <event as JSON>`',
    },
  },
};

@ApiTags('openai')
@ApiBearerAuth()
@ApiSecurity('api-key')
@ApiKeyAsBearer()
@UseFilters(OpenAiExceptionFilter)
@ApiOpenAiErrors(401, 429)
@ApiExtraModels(
  ResponseObjectDto,
  ResponseStreamEventDto,
  MessageItemDto,
  ReasoningItemDto,
  FunctionCallItemDto,
  FunctionCallOutputItemDto,
  OutputTextDto,
  InputTextDto,
  InputImageDto,
  InputFileDto,
)
@Controller('v1/responses')
export class ResponsesController {
  constructor(private readonly responses: ResponsesService) {}

  private answer(res: Response, answer: ResponseAnswer): void {
    if (answer.kind === 'stream')
      writeSse(res, answer.source, { heartbeatMs: this.responses.heartbeatMs });
    else res.json(answer.response);
  }

  @Post()
  @HttpCode(200)
  @ApiOperation({
    summary: 'Create a response (OpenAI Responses API)',
    description: CREATE_DESCRIPTION,
  })
  @ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description:
      'A retry with the same key and body answers the same response instead of a second one',
  })
  @ApiProduces('application/json', 'text/event-stream')
  @ApiOkResponse({
    description: 'The response, or its events when `stream: true`',
    content: RESPONSE_CONTENT,
  })
  @ApiOpenAiErrors(400, 404, 409, 422, 502, 503, 504)
  async create(
    @CurrentOwner() owner: string,
    @Body() body: CreateResponseDto,
    @Res() res: Response,
    @CorrelationId() correlationId: string,
    @OptionalHeader('Idempotency-Key') idempotencyKey?: string,
  ): Promise<void> {
    const signal = abortWhenClientLeaves(res);
    this.answer(
      res,
      await this.responses.create(body, { owner, correlationId, idempotencyKey, signal }),
    );
  }

  @Get(':id')
  @ApiOperation({
    summary:
      'Retrieve a response; with stream=true, its events (replayed, then live while it runs)',
    description: RESPONSE_EVENTS,
  })
  @ApiResponseId()
  @ApiProduces('application/json', 'text/event-stream')
  @ApiOkResponse({
    description: 'The response, or its events with `stream=true`',
    content: RESPONSE_CONTENT,
  })
  @ApiOpenAiErrors(400, 404)
  async retrieve(
    @CurrentOwner() owner: string,
    @Param('id') id: string,
    @Query() query: RetrieveResponseQuery,
    @Res() res: Response,
  ): Promise<void> {
    this.answer(res, await this.responses.retrieve(owner, id, query));
  }

  @Post(':id/cancel')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Cancel a running response, whichever replica runs it',
    description:
      'Its partial reply is stored as cancelled. A finished response is answered as it is.',
  })
  @ApiResponseId()
  @ApiOkResponse({ type: ResponseObjectDto })
  @ApiOpenAiErrors(404)
  cancel(@CurrentOwner() owner: string, @Param('id') id: string): Promise<ResponseObjectDto> {
    return this.responses.cancel(owner, id);
  }

  @Delete(':id')
  @ApiOperation({
    summary: 'Delete a response',
    description:
      'Deletes its reply, and its user message when no other reply answers it. Only the end of a branch can be deleted (409 `message_has_replies` otherwise).',
  })
  @ApiResponseId()
  @ApiOkResponse({ type: DeletedObjectDto })
  @ApiOpenAiErrors(404, 409)
  delete(@CurrentOwner() owner: string, @Param('id') id: string): Promise<DeletedObjectDto> {
    return this.responses.delete(owner, id);
  }

  @Get(':id/input_items')
  @ApiOperation({
    summary: "What the response's prompt held",
    description:
      'The stored messages its prompt was built from (its context manifest): the history window and its user message, newest first by default.',
  })
  @ApiResponseId()
  @ApiOkResponse({ type: ItemListDto })
  @ApiOpenAiErrors(400, 404)
  inputItems(
    @CurrentOwner() owner: string,
    @Param('id') id: string,
    @Query() query: ItemPageQuery,
  ): Promise<ItemListDto> {
    return this.responses.inputItems(owner, id, query);
  }
}
