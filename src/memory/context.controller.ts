import { Controller, Delete, Get, HttpCode, Param } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiSecurity,
  ApiTags,
} from '@nestjs/swagger';

import { CurrentOwner } from '../auth/current-owner.decorator';
import { ApiErrors } from '../common/http/api-errors.decorator';
import {
  ApiConversationId,
  ApiMessageRouteParams,
  ConversationIdPipe,
  MessageRouteParams,
  MessageRouteParamsPipe,
} from '../history/conversation-id.pipe';
import { ContextService } from './context.service';
import { ContextManifestDto, ConversationContextDto } from './dto/context.dto';

@ApiTags('memory')
@ApiBearerAuth()
@ApiSecurity('api-key')
@ApiErrors(401, 429, 503)
@Controller('conversations/:id')
export class ContextController {
  constructor(private readonly context: ContextService) {}

  @Get('context')
  @ApiOperation({
    summary: 'The prompt the next turn would send, without calling a model',
    description:
      'System prompt, summary of what fell out of the window (if any) and the newest messages that fit, ' +
      'each with its token cost, and the budget: the context window minus the reply budget. ' +
      'Planned for an empty next message: a long one pushes the oldest of these messages out.',
  })
  @ApiOkResponse({ type: ConversationContextDto })
  @ApiConversationId()
  @ApiErrors(400, 404)
  preview(
    @CurrentOwner() owner: string,
    @Param('id', ConversationIdPipe) id: string,
  ): Promise<ConversationContextDto> {
    return this.context.preview(owner, id);
  }

  @Delete('context')
  @HttpCode(204)
  @ApiOperation({
    summary: 'Start the memory afresh from here',
    description:
      'Later turns no longer send anything up to the newest message, nor its summary; ' +
      'the history stays readable (GET …/messages). 409 conversation_busy while a reply is being generated.',
  })
  @ApiNoContentResponse({ description: 'The memory starts after the newest message' })
  @ApiConversationId()
  @ApiErrors(400, 404, 409)
  async reset(
    @CurrentOwner() owner: string,
    @Param('id', ConversationIdPipe) id: string,
  ): Promise<void> {
    await this.context.reset(owner, id);
  }

  @Get('messages/:messageId/context')
  @ApiOperation({
    summary: 'What the prompt of one reply held (its context manifest)',
    description:
      'System prompt source, the summary used and the last message it covers, the first and last ' +
      'message sent, how many were left out, and the token cost of each part against the window and ' +
      'the reply budget. 404 message_not_found for a message not in this conversation, ' +
      '404 context_not_recorded for one without a manifest (user messages).',
  })
  @ApiOkResponse({ type: ContextManifestDto })
  @ApiMessageRouteParams({ example: '01936f3e-8a4c-7b1e-9d2a-3c4b5d6e7f83' })
  @ApiErrors(400, 404)
  manifest(
    @CurrentOwner() owner: string,
    @Param(MessageRouteParamsPipe) { id, messageId }: MessageRouteParams,
  ): Promise<ContextManifestDto> {
    return this.context.manifest(owner, id, messageId);
  }
}
