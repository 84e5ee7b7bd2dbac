import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiSecurity, ApiTags } from '@nestjs/swagger';

import { CurrentOwner } from '../auth/current-owner.decorator';
import { ApiErrors } from '../common/http/api-errors.decorator';
import { ApiConversationId, ConversationIdPipe } from '../history/conversation-id.pipe';
import { MessagePageDto } from './dto/message-response.dto';
import { MessagesQueryDto } from './dto/messages-query.dto';
import { toPathMessageResponse } from './message.mapper';
import { MessagesService } from './messages.service';

@ApiTags('messages')
@ApiBearerAuth()
@ApiSecurity('api-key')
@ApiErrors(401, 429, 503)
@Controller('conversations/:id')
export class MessagesController {
  constructor(private readonly messages: MessagesService) {}

  @Get('messages')
  @ApiOperation({
    summary: 'List the messages of the current path (or of ?leafId=), oldest first',
    description:
      'A conversation is a tree: regenerate and edit add siblings. This reads the path root → leaf the ' +
      'conversation shows (its currentLeafId), or the path ending at ?leafId=. Each message says how many ' +
      'siblings it has, its place among them and their ids; switch with PATCH /conversations/{id} { currentLeafId }.',
  })
  @ApiConversationId()
  @ApiOkResponse({ type: MessagePageDto })
  @ApiErrors(400, 404)
  async list(
    @CurrentOwner() owner: string,
    @Param('id', ConversationIdPipe) id: string,
    @Query() query: MessagesQueryDto,
  ): Promise<MessagePageDto> {
    const page = await this.messages.listPath(owner, id, query);
    return { ...page, data: page.data.map(toPathMessageResponse) };
  }
}
