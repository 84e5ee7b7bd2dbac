import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsOptional, ValidateNested } from 'class-validator';

import { TurnParamsDto } from '../../llm/dto/turn-params.dto';
import { IsModelAlias } from '../../llm/model-alias';
import { SendMessageDto } from './send-message.dto';
import { TurnToolsDto } from './turn-tools.dto';

/** Everything optional: a regenerate answers the stored user message again. */
export class RegenerateDto extends TurnToolsDto {
  @ApiPropertyOptional({
    description: "Model alias for this reply only; else the conversation's",
    example: 'lmstudio/default',
  })
  @IsOptional()
  @IsModelAlias()
  model?: string;

  @ApiPropertyOptional({
    type: TurnParamsDto,
    description:
      "Override the conversation's params for this reply only; `jsonMode` and `responseFormat` apply to this reply only",
  })
  @IsOptional()
  @ValidateNested()
  @Type(() => TurnParamsDto)
  params?: TurnParamsDto;
}

/** The new text of the user message; it is stored beside the old one, which stays. */
export class EditMessageDto extends SendMessageDto {}
