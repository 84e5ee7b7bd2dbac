import { IsInt, IsString, MaxLength, validate } from 'class-validator';

import { cacheValidationRules } from './validation-metadata';

describe('cacheValidationRules', () => {
  beforeAll(() => cacheValidationRules());

  class Base {
    @IsString()
    name!: unknown;
  }

  class Child extends Base {
    @IsInt()
    count!: unknown;
  }

  const constraintsOf = async (object: object): Promise<Record<string, string[]>> =>
    Object.fromEntries(
      (await validate(object)).map((e) => [e.property, Object.keys(e.constraints ?? {})]),
    );

  it('should give the errors class-validator gives, inherited rules included, call after call', async () => {
    const child = Object.assign(new Child(), { name: 1, count: 'x' });
    const expected = { name: ['isString'], count: ['isInt'] };
    expect(await constraintsOf(child)).toEqual(expected);
    expect(await constraintsOf(child)).toEqual(expected);
    expect(await constraintsOf(Object.assign(new Base(), { name: 2 }))).toEqual({
      name: ['isString'],
    });
  });

  it('should apply a rule added after a class was validated', async () => {
    const base = Object.assign(new Base(), { name: 'a long name' });
    expect(await constraintsOf(base)).toEqual({});
    MaxLength(3)(Base.prototype, 'name');
    expect(await constraintsOf(base)).toEqual({ name: ['maxLength'] });
    expect(
      await constraintsOf(Object.assign(new Child(), { name: 'a long name', count: 1 })),
    ).toEqual({
      name: ['maxLength'],
    });
  });
});
