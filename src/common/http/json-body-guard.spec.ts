import { checkJsonBody, MAX_JSON_DEPTH } from './json-body-guard';

const nested = (depth: number): unknown => {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = { a: value };
  return value;
};

describe(checkJsonBody.name, () => {
  it('should let an ordinary object through', () => {
    expect(checkJsonBody({ title: 'ok', params: { temperature: 0.2 }, tags: ['a', 'b'] })).toBe(
      undefined,
    );
    expect(checkJsonBody({ text: '😀 漢字 𝄞 ñ' })).toBeUndefined();
  });

  it.each([[[]], [[{ message: 'hi' }]], ['x'], [1], [null], [true]])(
    'should refuse %j as a body with invalid_body',
    (body) => {
      expect(checkJsonBody(body)).toMatchObject({ status: 400, code: 'invalid_body' });
    },
  );

  it('should refuse nesting deeper than MAX_JSON_DEPTH without recursing', () => {
    expect(checkJsonBody(nested(MAX_JSON_DEPTH))).toBeUndefined();
    expect(checkJsonBody(nested(MAX_JSON_DEPTH + 1))).toMatchObject({ code: 'invalid_body' });
    const deepArray = JSON.parse(`{"p": ${'['.repeat(100_000)}${']'.repeat(100_000)}}`) as unknown;
    expect(checkJsonBody(deepArray)).toMatchObject({ code: 'invalid_body' });
  });

  it('should name every field holding NUL or a lone surrogate', () => {
    const error = checkJsonBody({
      title: 'a\u0000',
      params: { stop: ['ok', 'b\ud800'] },
      fine: 'x',
    });
    expect(error).toMatchObject({ status: 400, code: 'validation_failed' });
    expect(error?.extras.details?.map((d) => d.field)).toEqual(['title', 'params.stop.1']);
  });

  it('should refuse prototype-reaching keys as unknown properties', () => {
    const body = JSON.parse('{"__proto__": {"x": 1}, "params": {"constructor": {}}}') as unknown;
    const error = checkJsonBody(body);
    expect(error).toMatchObject({ code: 'validation_failed' });
    expect(error?.extras.details).toEqual([
      { field: '__proto__', errors: ['property __proto__ should not exist'] },
      { field: 'params.constructor', errors: ['property params.constructor should not exist'] },
    ]);
  });
});
