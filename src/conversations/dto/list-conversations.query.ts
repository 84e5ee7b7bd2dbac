import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsBoolean, IsOptional, IsString, Matches, MaxLength, ValidateBy } from 'class-validator';

import { PageQueryDto } from '../../common/pagination/page.dto';
import { unstorableTextReason } from '../../common/text/storable-text';

export const SEARCH_MAX = 200;

/** `true`/`1` and `false`/`0` in a query string; anything else stays and fails IsBoolean. */
const toBoolean = ({ value }: { value: unknown }): unknown =>
  value === 'true' || value === '1' ? true : value === 'false' || value === '0' ? false : value;

const StorableText = (): PropertyDecorator =>
  ValidateBy({
    name: 'storableText',
    validator: {
      validate: (value: unknown) => typeof value === 'string' && !unstorableTextReason(value),
      defaultMessage: (args) =>
        `${args?.property} ${unstorableTextReason(String(args?.value)) ?? 'must be text'}`,
    },
  });

export class ListConversationsQueryDto extends PageQueryDto {
  @ApiPropertyOptional({
    description:
      'Full-text search over titles and message text (web-search syntax: "quoted phrase", ' +
      'or, -excluded). Results are ranked, best first, each with a snippet',
    maxLength: SEARCH_MAX,
  })
  @IsOptional()
  @IsString()
  @Matches(/\S/, { message: 'q must not be blank' })
  @MaxLength(SEARCH_MAX)
  @StorableText()
  q?: string;

  @ApiPropertyOptional({
    description: 'true: only archived conversations; false (default): only those not archived',
    type: Boolean,
    default: false,
  })
  @IsOptional()
  @Transform(toBoolean)
  @IsBoolean({ message: 'archived must be true or false' })
  archived: boolean = false;

  @ApiPropertyOptional({
    description: 'true: only pinned; false: only unpinned; omitted: both, pinned first',
    type: Boolean,
  })
  @IsOptional()
  @Transform(toBoolean)
  @IsBoolean({ message: 'pinned must be true or false' })
  pinned?: boolean;
}
