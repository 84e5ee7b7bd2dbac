import { ApiProperty } from '@nestjs/swagger';

import { MessageResponseDto } from '../../../messages';
import { ConversationResponseDto } from '../../dto/conversation-response.dto';

/** The json export (export-format's jsonWriter writes it piece by piece). */
export class ConversationExportDto {
  @ApiProperty({ type: ConversationResponseDto })
  conversation!: ConversationResponseDto;

  @ApiProperty({
    type: [MessageResponseDto],
    description: 'Every message of every branch, in conversation order (parentId links them)',
  })
  messages!: MessageResponseDto[];
}
