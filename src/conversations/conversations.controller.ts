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
import { PageQueryDto } from '../common/pagination/page.dto';
import { toConversationResponse } from './conversation.mapper';
import { ConversationsService } from './conversations.service';
import { ConversationIdParam } from './dto/conversation-id.param';
import { ConversationPageDto, ConversationResponseDto } from './dto/conversation-response.dto';
import { CreateConversationDto } from './dto/create-conversation.dto';
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
  @ApiOperation({ summary: 'List conversations, most recent activity first' })
  @ApiOkResponse({ type: ConversationPageDto })
  @ApiErrors(400)
  async list(
    @CurrentOwner() owner: string,
    @Query() query: PageQueryDto,
  ): Promise<ConversationPageDto> {
    const page = await this.conversations.list(owner, query.limit, query.cursor);
    return { data: page.data.map(toConversationResponse), nextCursor: page.nextCursor };
  }

  @Get(':id')
  @ApiOperation({ summary: 'Get one conversation' })
  @ApiOkResponse({ type: ConversationResponseDto })
  @ApiErrors(400, 404)
  async get(
    @CurrentOwner() owner: string,
    @Param() { id }: ConversationIdParam,
  ): Promise<ConversationResponseDto> {
    return toConversationResponse(await this.conversations.get(owner, id));
  }

  @Patch(':id')
  @ApiOperation({
    summary:
      'Change title, system prompt, model or params (null resets a field), or switch branch with currentLeafId',
  })
  @ApiOkResponse({ type: ConversationResponseDto })
  @ApiErrors(400, 404, 409, 413, 415)
  async update(
    @CurrentOwner() owner: string,
    @Param() { id }: ConversationIdParam,
    @Body() body: UpdateConversationDto,
  ): Promise<ConversationResponseDto> {
    return toConversationResponse(await this.conversations.update(owner, id, body));
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete a conversation and all its messages' })
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiErrors(400, 404)
  async delete(@CurrentOwner() owner: string, @Param() { id }: ConversationIdParam): Promise<void> {
    await this.conversations.delete(owner, id);
  }
}
