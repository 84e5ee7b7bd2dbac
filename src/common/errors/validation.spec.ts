import 'reflect-metadata';

import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Max, MaxLength, Min, ValidateNested } from 'class-validator';

import { ValidationFailedException } from './app.exception';
import { validatePlain } from './validation';

class RangeDto {
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  limit?: number;
}

class SameMessageDto {
  @IsOptional()
  @IsInt({ message: 'id must be a whole number' })
  @Min(0, { message: 'id must be a whole number' })
  id?: number;
}

class InnerDto {
  @IsString()
  @MaxLength(5)
  name!: string;
}

class OuterDto {
  @IsString()
  @MaxLength(10)
  message!: string;

  @IsOptional()
  @ValidateNested()
  @Type(() => InnerDto)
  inner?: InnerDto;
}

async function details(type: new () => object, plain: object) {
  const error = await validatePlain(type, plain).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(ValidationFailedException);
  const failed = error as ValidationFailedException;
  return { details: failed.extras.details, message: failed.message };
}

describe(validatePlain.name, () => {
  it('should say a missing required field is required, and nothing else about it', async () => {
    expect(await details(OuterDto, {})).toEqual({
      details: [{ field: 'message', errors: ['message is required'] }],
      message: 'Invalid request: message: message is required',
    });
    expect((await details(OuterDto, { message: 'hi', inner: {} })).details).toEqual([
      { field: 'inner.name', errors: ['inner.name is required'] },
    ]);
  });

  it('should name only the wrong kind when a value is of the wrong kind', async () => {
    expect((await details(RangeDto, { limit: 'abc' })).details).toEqual([
      { field: 'limit', errors: ['limit must be an integer number'] },
    ]);
    expect((await details(OuterDto, { message: 42 })).details).toEqual([
      { field: 'message', errors: ['message must be a string'] },
    ]);
  });

  it('should list every rule a value of the right kind breaks', async () => {
    expect((await details(RangeDto, { limit: '0' })).details).toEqual([
      { field: 'limit', errors: ['limit must not be less than 1'] },
    ]);
    expect((await details(OuterDto, { message: 'far too long here' })).details).toEqual([
      { field: 'message', errors: ['message must be shorter than or equal to 10 characters'] },
    ]);
  });

  it('should say each problem once', async () => {
    expect((await details(SameMessageDto, { id: -1.5 })).details).toEqual([
      { field: 'id', errors: ['id must be a whole number'] },
    ]);
    expect((await details(SameMessageDto, { id: 'x' })).message).toBe(
      'Invalid request: id: id must be a whole number',
    );
  });

  it('should still refuse unknown fields, even ones sent as null', async () => {
    expect((await details(OuterDto, { message: 'hi', extra: null })).details).toEqual([
      { field: 'extra', errors: ['property extra should not exist'] },
    ]);
  });
});
