import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  Post,
  Query,
  UseFilters,
} from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiSecurity, ApiTags } from '@nestjs/swagger';

import { ApiKeyAsBearer, CurrentOwner } from '../auth/current-owner.decorator';
import { OpenAiExceptionFilter } from '../openai';
import {
  CreateConversationItemsDto,
  CreateOpenAiConversationDto,
  UpdateOpenAiConversationDto,
} from './dto/conversation.dto';
import { ItemPageQuery } from './dto/response-query.dto';
import {
  ConversationItemDto,
  ConversationObjectDto,
  DeletedObjectDto,
  ItemListDto,
} from './dto/response.dto';
import { ConversationItems } from './conversation-items';
import { ApiConversationRef, ApiItemId, ApiOpenAiErrors } from './openai-docs';

/** OpenAI's Conversations API on the same conversations and messages as /api/v1. */
@ApiTags('openai')
@ApiBearerAuth()
@ApiSecurity('api-key')
@ApiKeyAsBearer()
@UseFilters(OpenAiExceptionFilter)
@ApiOpenAiErrors(401, 429)
@Controller('v1/conversations')
export class OpenAiConversationsController {
  constructor(private readonly items: ConversationItems) {}

  @Post()
  @HttpCode(200)
  @ApiOperation({
    summary: 'Create a conversation (OpenAI Conversations API)',
    description:
      'The same conversation /api/v1/conversations lists; `items` are stored without a reply.',
  })
  @ApiOkResponse({ type: ConversationObjectDto })
  @ApiOpenAiErrors(400, 409)
  create(
    @CurrentOwner() owner: string,
    @Body() body: CreateOpenAiConversationDto,
  ): Promise<ConversationObjectDto> {
    return this.items.createConversation(owner, body);
  }

  @Get(':id')
  @ApiOperation({ summary: 'Retrieve a conversation' })
  @ApiConversationRef()
  @ApiOkResponse({ type: ConversationObjectDto })
  @ApiOpenAiErrors(404)
  get(@CurrentOwner() owner: string, @Param('id') id: string): Promise<ConversationObjectDto> {
    return this.items.get(owner, id);
  }

  @Post(':id')
  @HttpCode(200)
  @ApiOperation({ summary: "Replace a conversation's metadata" })
  @ApiConversationRef()
  @ApiOkResponse({ type: ConversationObjectDto })
  @ApiOpenAiErrors(400, 404)
  update(
    @CurrentOwner() owner: string,
    @Param('id') id: string,
    @Body() body: UpdateOpenAiConversationDto,
  ): Promise<ConversationObjectDto> {
    return this.items.update(owner, id, body.metadata);
  }

  @Delete(':id')
  @ApiOperation({ summary: 'Delete a conversation and its messages' })
  @ApiConversationRef()
  @ApiOkResponse({ type: DeletedObjectDto })
  @ApiOpenAiErrors(404)
  delete(@CurrentOwner() owner: string, @Param('id') id: string): Promise<DeletedObjectDto> {
    return this.items.delete(owner, id);
  }

  @Get(':id/items')
  @ApiOperation({
    summary: "A conversation's items: its current path, newest first by default",
  })
  @ApiConversationRef()
  @ApiOkResponse({ type: ItemListDto })
  @ApiOpenAiErrors(400, 404)
  list(
    @CurrentOwner() owner: string,
    @Param('id') id: string,
    @Query() query: ItemPageQuery,
  ): Promise<ItemListDto> {
    return this.items.list(owner, id, query);
  }

  @Post(':id/items')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Add items at the end of the current path, without a reply',
    description: '409 `conversation_busy` while a response runs on the conversation.',
  })
  @ApiConversationRef()
  @ApiOkResponse({ type: ItemListDto })
  @ApiOpenAiErrors(400, 404, 409)
  add(
    @CurrentOwner() owner: string,
    @Param('id') id: string,
    @Body() body: CreateConversationItemsDto,
  ): Promise<ItemListDto> {
    return this.items.add(owner, id, body.items);
  }

  @Get(':id/items/:itemId')
  @ApiOperation({ summary: 'One item of a conversation' })
  @ApiConversationRef()
  @ApiItemId()
  @ApiOkResponse({
    schema: {
      oneOf: [
        { $ref: '#/components/schemas/MessageItemDto' },
        { $ref: '#/components/schemas/FunctionCallItemDto' },
        { $ref: '#/components/schemas/FunctionCallOutputItemDto' },
      ],
    },
  })
  @ApiOpenAiErrors(404)
  item(
    @CurrentOwner() owner: string,
    @Param('id') id: string,
    @Param('itemId') itemId: string,
  ): Promise<ConversationItemDto> {
    return this.items.item(owner, id, itemId);
  }

  @Delete(':id/items/:itemId')
  @ApiOperation({
    summary: 'Delete an item at the end of a branch; answers the conversation',
    description: '409 `message_has_replies` when other messages follow it.',
  })
  @ApiConversationRef()
  @ApiItemId()
  @ApiOkResponse({ type: ConversationObjectDto })
  @ApiOpenAiErrors(404, 409)
  deleteItem(
    @CurrentOwner() owner: string,
    @Param('id') id: string,
    @Param('itemId') itemId: string,
  ): Promise<ConversationObjectDto> {
    return this.items.deleteItem(owner, id, itemId);
  }
}
