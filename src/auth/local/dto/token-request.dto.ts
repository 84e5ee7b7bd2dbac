import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength } from 'class-validator';

import { CredentialsDto } from './credentials.dto';

/**
 * Sign-in, as JSON or as the OAuth2 password grant's form (RFC 6749 §4.3), which is what
 * Swagger UI's Authorize dialog sends. Client credentials and scopes a form may carry are
 * accepted and ignored: this service has one kind of client and no scopes.
 */
export class TokenRequestDto extends CredentialsDto {
  @ApiPropertyOptional({
    description: 'OAuth2 grant type; only `password` (the default) is supported',
    example: 'password',
  })
  @IsOptional()
  @IsString()
  @MaxLength(100)
  grant_type?: string;

  @ApiPropertyOptional({ description: 'Ignored (no scopes)', example: '' })
  @IsOptional()
  @IsString()
  @MaxLength(1000)
  scope?: string;

  @ApiPropertyOptional({ description: 'Ignored (one kind of client)' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  client_id?: string;

  @ApiPropertyOptional({ description: 'Ignored (one kind of client)' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  client_secret?: string;
}
