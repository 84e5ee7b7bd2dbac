import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';

const toBoolean = ({ value }: { value: unknown }): unknown =>
  value === 'true' ? true : value === 'false' ? false : value;

export class RetrieveResponseQuery {
  @ApiPropertyOptional({
    description:
      'Answer the response as Server-Sent Events: replayed, then followed live while it runs',
  })
  @IsOptional()
  @Transform(toBoolean)
  @IsBoolean()
  stream?: boolean;

  @ApiPropertyOptional({
    description:
      'With stream: only the events after this sequence_number (resume a dropped stream), e.g. 5',
  })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(-1)
  starting_after?: number;
}

/** OpenAI's item list paging: `after` an item id, `limit`, `order` (newest first by default). */
export class ItemPageQuery {
  @ApiPropertyOptional({ description: 'The items after this item id (msg_…)' })
  @IsOptional()
  @IsString()
  @MaxLength(100)
  after?: string;

  @ApiPropertyOptional({ minimum: 1, maximum: 100, default: 20 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  limit: number = 20;

  @ApiPropertyOptional({ enum: ['asc', 'desc'], default: 'desc' })
  @IsOptional()
  @IsIn(['asc', 'desc'])
  order: 'asc' | 'desc' = 'desc';
}
