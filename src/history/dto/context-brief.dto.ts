import { ApiProperty } from '@nestjs/swagger';

/** What a reply's prompt held, in brief (the whole manifest is GET …/messages/:mid/context). */
export class ContextBriefDto {
  @ApiProperty({
    description: 'Stored messages sent: the history window and the new user message',
    example: 5,
  })
  messages!: number;

  @ApiProperty({
    description:
      'Messages after the summary left out because they did not fit; the next summary folds them in',
    example: 2,
  })
  omitted!: number;

  @ApiProperty({ description: 'Messages the summary sent stands for (0: none sent)', example: 8 })
  summarized!: number;

  @ApiProperty({ description: 'Our conservative count of the prompt', example: 431 })
  promptTokens!: number;
}
