import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength } from 'class-validator';

/**
 * The query of GET routes a browser opens without headers (EventSource, a download link):
 * the token may come as `?access_token=` there (see @QueryToken()).
 */
export class AccessTokenQueryDto {
  @ApiPropertyOptional({
    description:
      'The bearer token (a JWT, or the API key in api-key mode) for clients that cannot send ' +
      'headers (EventSource, download links). It is redacted from logs, but URLs may land in ' +
      'proxy logs and browser history: prefer the Authorization header, and short-lived tokens',
  })
  @IsOptional()
  @IsString()
  @MaxLength(8192)
  access_token?: string;
}
