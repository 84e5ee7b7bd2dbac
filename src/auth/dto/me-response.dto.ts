import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

import { AuthMode } from '../../config/env';

const AUTH_MODES: AuthMode[] = ['none', 'jwt', 'api-key', 'local'];

/** Who the request acts for, for a UI to show who is signed in. */
export class MeResponseDto {
  @ApiProperty({
    description:
      'The owner of the conversations this caller sees: `local` with AUTH_MODE=none, the ' +
      "token's `sub` (jwt, local: the user id), or the API key's owner",
    example: '0193b4c2-7d1e-7c3a-9f6b-2f0f5e1d8a10',
  })
  owner!: string;

  @ApiPropertyOptional({
    description: 'The signed-in user’s name (AUTH_MODE=local only)',
    example: 'alice',
  })
  username?: string;

  @ApiProperty({ enum: AUTH_MODES, description: 'How this server authenticates', example: 'local' })
  authMode!: AuthMode;
}
