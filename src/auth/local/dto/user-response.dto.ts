import { ApiProperty } from '@nestjs/swagger';

export class UserResponseDto {
  @ApiProperty({
    description: 'The owner of this user’s conversations (the access token’s `sub`)',
    example: '0193b4c2-7d1e-7c3a-9f6b-2f0f5e1d8a10',
  })
  id!: string;

  @ApiProperty({ example: 'alice' })
  username!: string;

  @ApiProperty({ example: '2026-11-30T07:30:00.000Z' })
  createdAt!: string;
}
