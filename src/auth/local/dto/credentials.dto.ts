import { ApiProperty } from '@nestjs/swagger';
import { IsString, Length, Matches } from 'class-validator';

export const USERNAME_PATTERN = /^[A-Za-z0-9._-]{3,64}$/;
export const PASSWORD_MIN = 8;
export const PASSWORD_MAX = 1024;

/** A username and password, as registered and as signed in with. */
export class CredentialsDto {
  @ApiProperty({
    description: '3–64 letters, digits, `.`, `_` or `-`; unique whatever its case',
    example: 'alice',
    minLength: 3,
    maxLength: 64,
    pattern: USERNAME_PATTERN.source,
  })
  @IsString()
  @Matches(USERNAME_PATTERN, {
    message: 'username must be 3 to 64 letters, digits, dots, underscores or hyphens',
  })
  username!: string;

  @ApiProperty({
    description: `${PASSWORD_MIN}–${PASSWORD_MAX} characters`,
    example: 'correct horse battery staple',
    minLength: PASSWORD_MIN,
    maxLength: PASSWORD_MAX,
    format: 'password',
  })
  @IsString()
  @Length(PASSWORD_MIN, PASSWORD_MAX, {
    message: `password must be ${PASSWORD_MIN} to ${PASSWORD_MAX} characters`,
  })
  password!: string;
}
