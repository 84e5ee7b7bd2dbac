import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  IsBoolean,
  IsIn,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  MaxLength,
  ValidateBy,
  ValidateIf,
  ValidateNested,
} from 'class-validator';

import { GenerationParamsDto } from './generation-params.dto';

/** OpenAI's `json_schema` response format: the reply follows this JSON Schema. */
export class JsonSchemaFormatDto {
  @ApiProperty({ description: 'Name of the schema (a–z, A–Z, 0–9, _ and -)', example: 'city' })
  @IsString()
  @Matches(/^[A-Za-z0-9_-]{1,64}$/, { message: 'name must be 1–64 of A–Z a–z 0–9 _ -' })
  name!: string;

  @ApiPropertyOptional({ description: 'What the schema is for', example: 'A city and its country' })
  @IsOptional()
  @IsString()
  @MaxLength(1000)
  description?: string;

  @ApiProperty({
    description: 'A JSON Schema object',
    type: 'object',
    additionalProperties: true,
    example: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  })
  @IsObject()
  schema!: Record<string, unknown>;

  @ApiPropertyOptional({ description: 'Ask the provider to follow the schema exactly' })
  @IsOptional()
  @IsBoolean()
  strict?: boolean;
}

/** OpenAI's `response_format`: plain text (the default), any JSON object, or one schema. */
export class ResponseFormatDto {
  @ApiProperty({ enum: ['text', 'json_object', 'json_schema'], example: 'json_object' })
  @IsIn(['text', 'json_object', 'json_schema'])
  type!: 'text' | 'json_object' | 'json_schema';

  @ApiPropertyOptional({
    type: JsonSchemaFormatDto,
    description: 'Required with `json_schema`, refused with the other types',
  })
  @ValidateIf(
    (format: ResponseFormatDto) =>
      format.type === 'json_schema' || format.json_schema !== undefined,
  )
  @ValidateBy({
    name: 'jsonSchemaWithItsType',
    validator: {
      validate: (value: unknown, args) =>
        (args?.object as ResponseFormatDto).type === 'json_schema' &&
        typeof value === 'object' &&
        value !== null &&
        !Array.isArray(value),
      defaultMessage: () => 'json_schema is required with type json_schema, and only with it',
    },
  })
  @ValidateNested()
  @Type(() => JsonSchemaFormatDto)
  json_schema?: JsonSchemaFormatDto;
}

/** A turn's params: the sampling ones, and the reply's format for this turn only. */
export class TurnParamsDto extends GenerationParamsDto {
  @ApiPropertyOptional({
    description:
      'Short for `responseFormat: { type: "json_object" }` (ignored when responseFormat is given)',
    example: true,
  })
  @IsOptional()
  @IsBoolean()
  jsonMode?: boolean;

  @ApiPropertyOptional({
    type: ResponseFormatDto,
    description:
      "The reply's format, in OpenAI's shape, passed to the provider (which must support it)",
  })
  @IsOptional()
  @ValidateNested()
  @Type(() => ResponseFormatDto)
  responseFormat?: ResponseFormatDto;
}
