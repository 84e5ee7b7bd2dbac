import {
  All,
  applyDecorators,
  Body,
  Controller,
  Get,
  HttpCode,
  Param,
  Post,
  Req,
  Res,
  UseFilters,
} from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiExcludeEndpoint,
  ApiExtraModels,
  ApiOkResponse,
  ApiOperation,
  ApiProduces,
  ApiResponse,
  ApiSecurity,
  ApiTags,
  getSchemaPath,
} from '@nestjs/swagger';
import type { Request, Response } from 'express';

import { ApiKeyAsBearer, CurrentOwner } from '../auth/current-owner.decorator';
import { AppException } from '../common/errors/app.exception';
import { CorrelationId } from '../common/http/correlation-id.middleware';
import { writeCompletionStream } from './completion-stream';
import { ChatCompletionRequestDto, ModelIdParam } from './dto/chat-completion-request.dto';
import {
  ChatCompletionChunkDto,
  ChatCompletionDto,
  OpenAiErrorDto,
  OpenAiModelDto,
  OpenAiModelListDto,
} from './dto/chat-completion-response.dto';
import { OpenAiExceptionFilter } from './openai-error';
import { CacheStatus, OpenAiService } from './openai.service';

/** The paths of this door, served at the root (`/v1`, where OpenAI clients look), not under /api/v1. */
export const OPENAI_ROUTES = ['v1/chat/completions', 'v1/models', 'v1/models/:id', 'v1/{*path}'];

const COMPLETIONS_DESCRIPTION = `OpenAI's chat completions, by model alias, for any OpenAI client
(\`baseURL: http://host:3000/v1\`). Stateless: nothing is stored.

- \`stream: true\` answers \`text/event-stream\`: \`data: {chat.completion.chunk}\` frames as the
  provider sends text, then \`data: [DONE]\`; with \`stream_options.include_usage\` a last chunk
  carries \`usage\`. A failure after the first chunk is a \`data: {"error": …}\` frame.
- Reasoning in \`<think>…</think>\` is split off into \`reasoning_content\`.
- Tools: \`tools\`, \`tool_choice\`, \`parallel_tool_calls\`, \`tool\` messages and assistant
  \`tool_calls\` as OpenAI has them; a reply that calls tools has \`message.tool_calls\` and
  \`finish_reason: "tool_calls"\`, streamed as \`delta.tool_calls\` pieces. The client runs the
  tools. \`response_format\` takes \`json_object\` and \`json_schema\` (\`strict\` passed through).
- Deterministic requests (temperature 0 or a seed) are served from the response cache when
  it is on (RESPONSE_CACHE_TTL_S), per owner; \`X-Cache: HIT|MISS\` says which.
- Errors answer \`{ error: { message, type, code, param } }\`.`;

const ERRORS: [number, string][] = [
  [
    400,
    'Invalid body (`validation_failed`, `invalid_json`), or the alias cannot serve it (`tools_not_supported`, `response_format_not_supported`)',
  ],
  [401, 'No or bad credentials'],
  [404, 'Unknown alias (`model_not_found`)'],
  [413, 'Body larger than the limit (`payload_too_large`)'],
  [
    429,
    'Rate limited (`rate_limited`, `too_many_generations`, `provider_rate_limited`); see Retry-After',
  ],
  [
    502,
    'The provider failed or refused the request (`provider_error`, `provider_rejected_request`, …)',
  ],
  [503, 'The provider cannot be reached (`provider_unavailable`)'],
  [504, 'The provider sent nothing in time (`provider_timeout`)'],
];

const ApiOpenAiErrors = (...statuses: number[]): MethodDecorator & ClassDecorator =>
  applyDecorators(
    ...ERRORS.filter(([status]) => statuses.includes(status)).map(([status, description]) =>
      ApiResponse({ status, description, type: OpenAiErrorDto }),
    ),
  );

/** Aborts when the client goes away before the answer is complete: nobody is left to read it. */
function abortWhenClientLeaves(res: Response): AbortSignal {
  const controller = new AbortController();
  res.on('close', () => {
    if (!res.writableFinished) {
      controller.abort(new AppException('client_closed_request', 'The client went away'));
    }
  });
  return controller.signal;
}

function setCacheHeader(res: Response, cache: CacheStatus | null): void {
  if (cache) res.setHeader('X-Cache', cache);
}

@ApiTags('openai')
@ApiBearerAuth()
@ApiSecurity('api-key')
@ApiKeyAsBearer()
@UseFilters(OpenAiExceptionFilter)
@ApiOpenAiErrors(401, 429)
@Controller('v1')
export class OpenAiController {
  constructor(private readonly openai: OpenAiService) {}

  @Post('chat/completions')
  @HttpCode(200)
  @ApiOperation({
    summary: 'OpenAI-compatible chat completion',
    description: COMPLETIONS_DESCRIPTION,
  })
  @ApiProduces('application/json', 'text/event-stream')
  @ApiExtraModels(ChatCompletionDto, ChatCompletionChunkDto)
  @ApiOkResponse({
    description: 'The completion, or its chunks as Server-Sent Events when `stream: true`',
    headers: {
      'X-Cache': {
        description: 'HIT or MISS when the response cache was consulted (deterministic requests)',
        schema: { type: 'string', enum: ['HIT', 'MISS'] },
      },
    },
    content: {
      'application/json': { schema: { $ref: getSchemaPath(ChatCompletionDto) } },
      // The sequence of chunks, each sent as one frame: the schema names what a frame carries.
      'text/event-stream': {
        schema: {
          type: 'array',
          items: { $ref: getSchemaPath(ChatCompletionChunkDto) },
          description:
            'Frames `data: <ChatCompletionChunkDto as JSON>`, ending with `data: [DONE]`',
        },
      },
    },
  })
  @ApiOpenAiErrors(400, 404, 413, 502, 503, 504)
  async create(
    @CurrentOwner() owner: string,
    @Body() body: ChatCompletionRequestDto,
    @Res() res: Response,
    @CorrelationId() correlationId: string,
  ): Promise<void> {
    const call = { signal: abortWhenClientLeaves(res), correlationId };
    if (body.stream) {
      const run = await this.openai.stream(owner, body, call);
      setCacheHeader(res, run.cache);
      await writeCompletionStream(res, run, body.stream_options?.include_usage === true);
      return;
    }
    const { cache, completion } = await this.openai.complete(owner, body, call);
    setCacheHeader(res, cache);
    res.json(completion);
  }

  @Get('models')
  @ApiOperation({ summary: 'The model aliases, as OpenAI model objects' })
  @ApiOkResponse({ type: OpenAiModelListDto })
  listModels(): OpenAiModelListDto {
    return this.openai.listModels();
  }

  @Get('models/:id')
  @ApiOperation({ summary: 'One model alias (URL-encode the slash: groq%2Fllama-3.3-70b)' })
  @ApiOkResponse({ type: OpenAiModelDto })
  @ApiOpenAiErrors(404)
  getModel(@Param() { id }: ModelIdParam): OpenAiModelDto {
    return this.openai.getModel(id);
  }

  /** Last, so it only takes what the routes above do not: OpenAI clients get their 404 shape. */
  @All('{*path}')
  @ApiExcludeEndpoint()
  unknown(@Req() req: Request): never {
    throw new AppException(
      'not_found',
      `${req.method} ${req.path} is not served here; this gateway serves POST /v1/chat/completions, GET /v1/models, /v1/responses and /v1/conversations`,
    );
  }
}
