import { ApiProperty } from '@nestjs/swagger';

/** The OAuth2 token response (RFC 6749 §5.1). */
export class TokenResponseDto {
  @ApiProperty({
    description: 'Access JWT: send as `Authorization: Bearer <access_token>`',
    example: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIwMTkzYjQ…',
  })
  access_token!: string;

  @ApiProperty({ enum: ['bearer'], example: 'bearer' })
  token_type!: 'bearer';

  @ApiProperty({ description: 'Seconds the access token is valid for', example: 900 })
  expires_in!: number;

  @ApiProperty({
    description: 'Single-use: trade it at /api/v1/auth/refresh for a new pair',
    example: 'q0bq5pDLE5-7vKd3QWQ2kqkzvBwz0Yq6o7oU2yC1yPA',
  })
  refresh_token!: string;
}
