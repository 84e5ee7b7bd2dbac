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
import { FeedbackResponseDto, MessageIdParam, PutFeedbackDto } from './dto/feedback.dto';
import { FeedbackService } from './feedback.service';

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
  @ApiErrors(400, 404, 413, 415, 422)
  put(
    @CurrentOwner() owner: string,
    @Param() { id, messageId }: MessageIdParam,
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
  @ApiErrors(400, 404, 422)
  async remove(
    @CurrentOwner() owner: string,
    @Param() { id, messageId }: MessageIdParam,
  ): Promise<void> {
    await this.feedback.remove(owner, id, messageId);
  }
}
