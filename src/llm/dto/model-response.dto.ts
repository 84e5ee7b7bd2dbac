import { ApiProperty } from '@nestjs/swagger';

import { GenerationParamsDto } from './generation-params.dto';

/** What an alias's model can do beyond text, as its definition says; null = not stated. */
export class ModelCapabilitiesDto {
  @ApiProperty({
    type: Boolean,
    nullable: true,
    description: 'Calls tools; false refuses requests that offer tools (tools_not_supported)',
    example: true,
  })
  tools!: boolean | null;

  @ApiProperty({
    type: Boolean,
    nullable: true,
    description:
      'Honours a json_schema response format; false refuses one (response_format_not_supported)',
    example: false,
  })
  jsonSchema!: boolean | null;

  @ApiProperty({ type: Boolean, nullable: true, description: 'Reads images', example: null })
  vision!: boolean | null;
}

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
    type: ModelCapabilitiesDto,
    description: 'Null where the definition does not say: such a request goes to the provider',
  })
  capabilities!: ModelCapabilitiesDto;

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
