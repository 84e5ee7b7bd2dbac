import { Body, Controller, Delete, HttpCode, Param, Put } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiSecurity,
  ApiTags,
} from '@nestjs/swagger';

import { CurrentOwner } from '../../auth/current-owner.decorator';
import { ApiErrors } from '../../common/http/api-errors.decorator';
import {
  ApiMessageRouteParams,
  MessageRouteParams,
  MessageRouteParamsPipe,
} from '../../history/conversation-id.pipe';
import { FeedbackResponseDto, PutFeedbackDto } from './dto/feedback.dto';
import { FeedbackService } from './feedback.service';

const messageIdParams = ApiMessageRouteParams({ example: '01936f3e-8a4c-7b1e-9d2a-3c4b5d6e7f81' });

@ApiTags('messages')
@ApiBearerAuth()
@ApiSecurity('api-key')
@ApiErrors(401, 429, 503)
@Controller('conversations/:id/messages/:messageId/feedback')
export class FeedbackController {
  constructor(private readonly feedback: FeedbackService) {}

  @Put()
  @ApiOperation({
    summary:
      'Rate an assistant reply (thumbs up or down, optional comment); replaces any earlier rating',
    description:
      'Shown on the message in GET …/messages. A user message answers 422 not_an_assistant_message.',
  })
  @ApiOkResponse({ type: FeedbackResponseDto })
  @messageIdParams
  @ApiErrors(400, 404, 413, 415, 422)
  put(
    @CurrentOwner() owner: string,
    @Param(MessageRouteParamsPipe) { id, messageId }: MessageRouteParams,
    @Body() body: PutFeedbackDto,
  ): Promise<FeedbackResponseDto> {
    return this.feedback.put(owner, id, messageId, body);
  }

  @Delete()
  @HttpCode(204)
  @ApiOperation({
    summary: 'Remove the rating of an assistant reply (204 also when there was none)',
  })
  @ApiNoContentResponse({ description: 'Removed' })
  @messageIdParams
  @ApiErrors(400, 404, 422)
  async remove(
    @CurrentOwner() owner: string,
    @Param(MessageRouteParamsPipe) { id, messageId }: MessageRouteParams,
  ): Promise<void> {
    await this.feedback.remove(owner, id, messageId);
  }
}
