import { ApiProperty } from '@nestjs/swagger';
import { IsString, Length } from 'class-validator';

export class RefreshTokenDto {
  @ApiProperty({
    description: 'The refresh token a sign-in or the last refresh returned',
    example: 'q0bq5pDLE5-7vKd3QWQ2kqkzvBwz0Yq6o7oU2yC1yPA',
  })
  @IsString()
  @Length(1, 200)
  refresh_token!: string;
}
