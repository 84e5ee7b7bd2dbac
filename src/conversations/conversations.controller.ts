import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiBody,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiSecurity,
  ApiTags,
} from '@nestjs/swagger';

import { CurrentOwner } from '../auth/current-owner.decorator';
import { ApiErrors } from '../common/http/api-errors.decorator';
import { toConversationListItem, toConversationResponse } from './conversation.mapper';
import { ConversationsService } from './conversations.service';
import { ApiConversationId, ConversationIdPipe } from '../history/conversation-id.pipe';
import { ConversationPageDto, ConversationResponseDto } from './dto/conversation-response.dto';
import { CreateConversationDto } from './dto/create-conversation.dto';
import { ListConversationsQueryDto } from './dto/list-conversations.query';
import { UpdateConversationDto } from './dto/update-conversation.dto';

@ApiTags('conversations')
@ApiBearerAuth()
@ApiSecurity('api-key')
@ApiErrors(401, 429, 503)
@Controller('conversations')
export class ConversationsController {
  constructor(private readonly conversations: ConversationsService) {}

  @Post()
  @ApiOperation({ summary: 'Create a conversation (every field optional)' })
  @ApiBody({ type: CreateConversationDto, required: false })
  @ApiCreatedResponse({ type: ConversationResponseDto })
  @ApiErrors(400, 413, 415)
  async create(
    @CurrentOwner() owner: string,
    @Body() body: CreateConversationDto,
  ): Promise<ConversationResponseDto> {
    return toConversationResponse(await this.conversations.create(owner, body));
  }

  @Get()
  @ApiOperation({
    summary: 'List conversations: pinned first, then most recent activity; or search them (?q=)',
    description:
      'Without q: not archived ones by default (?archived=true for the archive), pinned first, ' +
      'then latest activity. With q: full-text search over titles and message text, best match ' +
      'first, each item with match.snippet and match.rank; archived and pinned filter it too.',
  })
  @ApiOkResponse({ type: ConversationPageDto })
  @ApiErrors(400)
  async list(
    @CurrentOwner() owner: string,
    @Query() query: ListConversationsQueryDto,
  ): Promise<ConversationPageDto> {
    const page = await this.conversations.list(owner, query);
    return { data: page.data.map(toConversationListItem), nextCursor: page.nextCursor };
  }

  @Get(':id')
  @ApiOperation({ summary: 'Get one conversation' })
  @ApiConversationId()
  @ApiOkResponse({ type: ConversationResponseDto })
  @ApiErrors(400, 404)
  async get(
    @CurrentOwner() owner: string,
    @Param('id', ConversationIdPipe) id: string,
  ): Promise<ConversationResponseDto> {
    return toConversationResponse(await this.conversations.get(owner, id));
  }

  @Patch(':id')
  @ApiOperation({
    summary:
      'Change title, system prompt, model, params, archived or pinned (null resets a field), or switch branch with currentLeafId',
  })
  @ApiConversationId()
  @ApiOkResponse({ type: ConversationResponseDto })
  @ApiErrors(400, 404, 409, 413, 415)
  async update(
    @CurrentOwner() owner: string,
    @Param('id', ConversationIdPipe) id: string,
    @Body() body: UpdateConversationDto,
  ): Promise<ConversationResponseDto> {
    return toConversationResponse(await this.conversations.update(owner, id, body));
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete a conversation and all its messages' })
  @ApiConversationId()
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiErrors(400, 404)
  async delete(
    @CurrentOwner() owner: string,
    @Param('id', ConversationIdPipe) id: string,
  ): Promise<void> {
    await this.conversations.delete(owner, id);
  }
}
