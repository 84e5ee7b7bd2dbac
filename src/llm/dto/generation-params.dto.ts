import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsInt, IsNumber, IsOptional, Max, Min } from 'class-validator';

/** Sampling parameters; any left out fall back to the model alias's defaults. */
export class GenerationParamsDto {
  @ApiPropertyOptional({ minimum: 0, maximum: 2, example: 0.7 })
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  @Max(2)
  temperature?: number;

  @ApiPropertyOptional({ minimum: 0, maximum: 1, example: 0.9 })
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  @Max(1)
  topP?: number;

  @ApiPropertyOptional({
    description: 'Reply budget in tokens',
    minimum: 1,
    maximum: 32768,
    example: 1024,
  })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(32768)
  maxTokens?: number;

  @ApiPropertyOptional({
    description: 'For reproducible sampling where the provider supports it',
    example: 42,
  })
  @IsOptional()
  @IsInt()
  @Min(-2147483648)
  @Max(2147483647)
  seed?: number;
}
