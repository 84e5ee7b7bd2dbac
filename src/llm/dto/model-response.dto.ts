import { ApiProperty } from '@nestjs/swagger';

import { GenerationParamsDto } from './generation-params.dto';

export class ModelResponseDto {
  @ApiProperty({ example: 'lmstudio/default' })
  alias!: string;

  @ApiProperty({ example: 'lmstudio' })
  provider!: string;

  @ApiProperty({
    type: String,
    nullable: true,
    description: 'Upstream model id; null = the first model the server lists',
    example: null,
  })
  upstreamModel!: string | null;

  @ApiProperty({ example: 8192 })
  contextWindow!: number;

  @ApiProperty({ description: 'Reply budget when a turn sets no maxTokens', example: 1024 })
  maxOutputTokens!: number;

  @ApiProperty({
    type: [String],
    description:
      'Aliases tried in order when this one fails before its first token (connection error, ' +
      '5xx, 429, timeout, or a provider cooling down)',
    example: ['groq/llama-3.1-8b'],
  })
  fallbacks!: string[];

  @ApiProperty({ type: GenerationParamsDto })
  defaultParams!: GenerationParamsDto;

  @ApiProperty({
    description: 'Whether it can be used now (key present / server reachable)',
    example: true,
  })
  available!: boolean;

  @ApiProperty({
    type: String,
    nullable: true,
    description: 'Why not, when unavailable',
    example: null,
  })
  reason!: string | null;

  @ApiProperty({ description: 'Used when a conversation names no model', example: true })
  default!: boolean;
}

export class ModelListDto {
  @ApiProperty({ type: [ModelResponseDto] })
  data!: ModelResponseDto[];
}
