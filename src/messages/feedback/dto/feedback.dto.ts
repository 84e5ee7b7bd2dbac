import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, MaxLength } from 'class-validator';

export const FEEDBACK_COMMENT_MAX = 2000;
export const RATINGS = ['up', 'down'] as const;
export type Rating = (typeof RATINGS)[number];

export class PutFeedbackDto {
  @ApiProperty({ enum: RATINGS, description: 'Thumbs up or down', example: 'down' })
  @IsIn(RATINGS, { message: 'rating must be "up" or "down"' })
  rating!: Rating;

  @ApiPropertyOptional({
    description: 'Why; replaces an earlier comment, and omitting it clears it',
    maxLength: FEEDBACK_COMMENT_MAX,
    example: 'The second step is wrong: the tram does not run on Sundays.',
  })
  @IsOptional()
  @IsString()
  @MaxLength(FEEDBACK_COMMENT_MAX)
  comment?: string;
}

export class FeedbackResponseDto {
  @ApiProperty({ format: 'uuid', example: '01936f3e-8a4c-7b1e-9d2a-3c4b5d6e7f81' })
  messageId!: string;

  @ApiProperty({ enum: RATINGS, example: 'down' })
  rating!: Rating;

  @ApiProperty({
    type: String,
    nullable: true,
    example: 'The second step is wrong: the tram does not run on Sundays.',
  })
  comment!: string | null;

  @ApiProperty({ example: '2026-11-21T10:06:00.000Z' })
  updatedAt!: string;
}
