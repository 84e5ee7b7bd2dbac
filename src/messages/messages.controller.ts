import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiSecurity, ApiTags } from '@nestjs/swagger';

import { CurrentOwner } from '../auth/current-owner.decorator';
import { ApiErrors } from '../common/http/api-errors.decorator';
import { PageQueryDto } from '../common/pagination/page.dto';
import { ConversationIdParam } from '../conversations/dto/conversation-id.param';
import { MessagePageDto } from './dto/message-response.dto';
import { toMessageResponse } from './message.mapper';
import { MessagesService } from './messages.service';

@ApiTags('messages')
@ApiBearerAuth()
@ApiSecurity('api-key')
@ApiErrors(401, 429, 503)
@Controller('conversations/:id')
export class MessagesController {
  constructor(private readonly messages: MessagesService) {}

  @Get('messages')
  @ApiOperation({ summary: 'List the messages of a conversation, oldest first' })
  @ApiOkResponse({ type: MessagePageDto })
  @ApiErrors(400, 404)
  async list(
    @CurrentOwner() owner: string,
    @Param() { id }: ConversationIdParam,
    @Query() query: PageQueryDto,
  ): Promise<MessagePageDto> {
    const page = await this.messages.list(owner, id, query.limit, query.cursor);
    return { data: page.data.map(toMessageResponse), nextCursor: page.nextCursor };
  }
}
