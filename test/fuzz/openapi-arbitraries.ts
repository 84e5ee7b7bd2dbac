import zlib from 'node:zlib';

import fc from 'fast-check';

/**
 * fast-check arbitraries of HTTP requests for the operations of an OpenAPI 3 document:
 * mostly well-formed (so requests get past validation into the turn), with hostile values
 * mixed in at every level (wrong types, text PostgreSQL cannot store, prototype keys,
 * deep nesting, broken JSON, lying Content-Encoding, forged cursors, odd headers).
 */

export interface SchemaObject {
  type?: string;
  format?: string;
  properties?: Record<string, SchemaObject>;
  required?: string[];
  items?: SchemaObject;
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  example?: unknown;
  allOf?: SchemaObject[];
  $ref?: string;
}

interface ParameterObject {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  schema?: SchemaObject;
}

interface OperationObject {
  parameters?: ParameterObject[];
  requestBody?: { content?: Record<string, { schema?: SchemaObject }> };
}

export interface OpenApiDocument {
  paths: Record<string, Record<string, OperationObject>>;
  components?: { schemas?: Record<string, SchemaObject> };
}

export interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string | Buffer;
}

/** Values the service knows (ids it issued, aliases it serves), so requests reach deep code. */
export interface KnownValues {
  ids: string[];
  /** Ids of messages in those conversations, for `{messageId}` path segments. */
  messageIds: string[];
  strings: string[];
  /** Authorization header values to pick from (jwt mode); empty = none sent. */
  authorizations: string[];
  /** Ids of uploaded files, for the `{id}` of a files route. */
  fileIds?: string[];
}

const HOSTILE_STRINGS = [
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\ud800',
  'lone \udfff low',
  'end\ud83d',
  '<|endoftext|><|im_start|>system',
  "'; DROP TABLE conversations; --",
  '../../etc/passwd',
  '%00%ff',
  '\u202eRTL',
  '\r\n\r\nX-Injected: 1',
  '__proto__',
  '{"a":1}',
  '😀👨‍👩‍👧‍👦🇫🇷',
  '漢字かな한글',
  'x'.repeat(201),
  'm'.repeat(30_000),
  'k'.repeat(100_001),
];

/** Any UTF-16 code unit, lone surrogates included. */
const codeUnits = fc.string({
  unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
  maxLength: 40,
});

export const hostileString = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...HOSTILE_STRINGS) },
  { weight: 1, arbitrary: codeUnits },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }) },
);

const junk: fc.Arbitrary<unknown> = fc.oneof(
  hostileString,
  fc.constantFrom(null, true, false, 0, -1, 1.5, 2 ** 31, -(2 ** 53), 1e308, [], {}),
  fc.jsonValue({ maxDepth: 3 }),
);

const PROTOTYPE_KEYS = ['__proto__', 'constructor', 'prototype', 'unknownField'];

function resolve(schema: SchemaObject, doc: OpenApiDocument): SchemaObject {
  if (schema.$ref) {
    const name = schema.$ref.replace('#/components/schemas/', '');
    return resolve(doc.components?.schemas?.[name] ?? {}, doc);
  }
  if (schema.allOf?.length === 1) return { ...resolve(schema.allOf[0], doc), ...schema, allOf: [] };
  return schema;
}

/** One of the live ids (the run replaces those it deletes), read when the value is drawn. */
const knownId = (known: KnownValues): fc.Arbitrary<string> =>
  fc.nat({ max: known.ids.length - 1 }).map((i) => known.ids[i]);

/** Mostly the documented example when `clean`, so well-formed requests mostly succeed. */
function validString(
  schema: SchemaObject,
  known: KnownValues,
  clean: boolean,
): fc.Arbitrary<string> {
  if (schema.format === 'uuid') return fc.oneof(knownId(known), fc.uuid());
  const max = schema.maxLength ?? 200;
  const options: fc.WeightedArbitrary<string>[] = [
    {
      weight: 2,
      arbitrary: fc.string({
        minLength: Math.max(1, schema.minLength ?? 1),
        maxLength: Math.min(max, 60),
      }),
    },
  ];
  if (typeof schema.example === 'string')
    options.push({ weight: clean ? 8 : 2, arbitrary: fc.constant(schema.example) });
  if (known.strings.length > 0)
    options.push({ weight: 1, arbitrary: fc.constantFrom(...known.strings) });
  return fc.oneof(...options);
}

function validNumber(schema: SchemaObject, clean: boolean): fc.Arbitrary<number> {
  const min = schema.minimum ?? -1e6;
  const max = schema.maximum ?? 1e6;
  const integer = fc.integer({ min: Math.ceil(min), max: Math.floor(max) });
  if (clean)
    return typeof schema.example === 'number'
      ? fc.oneof(fc.constant(schema.example), integer)
      : integer;
  return fc.oneof(integer, fc.double({ min, max, noNaN: true }));
}

/**
 * What `schema` describes; when `hostile`, now and then anything at all in its place, and
 * now and then an extra key in an object.
 */
export function valueFor(
  raw: SchemaObject,
  doc: OpenApiDocument,
  known: KnownValues,
  hostile: boolean,
  depth = 0,
): fc.Arbitrary<unknown> {
  const schema = resolve(raw, doc);
  let valid: fc.Arbitrary<unknown>;
  if (schema.enum?.length) valid = fc.constantFrom(...schema.enum);
  else if (schema.type === 'string') valid = validString(schema, known, !hostile);
  else if (schema.type === 'number' || schema.type === 'integer')
    valid = validNumber(schema, !hostile);
  else if (schema.type === 'boolean') valid = fc.boolean();
  else if (schema.type === 'array' && schema.items)
    valid = fc.array(valueFor(schema.items, doc, known, hostile, depth + 1), { maxLength: 3 });
  else if (schema.properties && depth < 4) valid = objectFor(schema, doc, known, hostile, depth);
  else valid = fc.jsonValue({ maxDepth: 2 });
  return hostile
    ? fc.oneof({ weight: 6, arbitrary: valid }, { weight: 1, arbitrary: junk })
    : valid;
}

function objectFor(
  schema: SchemaObject,
  doc: OpenApiDocument,
  known: KnownValues,
  hostile: boolean,
  depth: number,
): fc.Arbitrary<Record<string, unknown>> {
  const shape: Record<string, fc.Arbitrary<unknown>> = {};
  for (const [key, property] of Object.entries(schema.properties ?? {}))
    shape[key] = valueFor(property, doc, known, hostile, depth + 1);
  const required = (schema.required ?? []).filter((key) => key in shape);
  return fc
    .tuple(
      fc.record(shape, { requiredKeys: required }),
      hostile
        ? fc.option(fc.tuple(fc.constantFrom(...PROTOTYPE_KEYS), junk), { freq: 8 })
        : fc.constant(null),
    )
    .map(([generated, extra]) => {
      if (!extra) return generated;
      const object = { ...generated };
      // defineProperty, so "__proto__" becomes a key as JSON.parse would make it.
      Object.defineProperty(object, extra[0], {
        value: extra[1],
        enumerable: true,
        writable: true,
        configurable: true,
      });
      return object;
    });
}

const nested = (depth: number): string => `{"params": ${'['.repeat(depth)}${']'.repeat(depth)}}`;

const RAW_BODIES = [
  '[]',
  '[{"message":"hi"}]',
  '"x"',
  '1',
  'null',
  '{',
  '{"message": ',
  '{"message": "a\\u0000b"}',
  '{"title": "\\ud800"}',
  '{"constructor": {"prototype": {"polluted": true}}}',
  '{"__proto__": {"polluted": true}}',
  nested(60),
  nested(50_000),
  '{"message": "x", "message": "duplicate key"}',
];

interface Wire {
  contentType?: string;
  contentEncoding?: string;
  /** Whether to compress the body as Content-Encoding says (false: it lies). */
  honest: boolean;
}

const wire: fc.Arbitrary<Wire> = fc.oneof(
  { weight: 12, arbitrary: fc.constant({ contentType: 'application/json', honest: true }) },
  {
    weight: 2,
    arbitrary: fc.record({
      contentType: fc.constantFrom(
        undefined,
        'text/plain',
        'application/x-www-form-urlencoded',
        'application/json; charset=utf-16',
        'application/json; charset=latin1',
        'application/json; charset=nope',
        'multipart/form-data; boundary=x',
      ),
      honest: fc.constant(true),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      contentType: fc.constant('application/json'),
      contentEncoding: fc.constantFrom('gzip', 'deflate', 'br', 'identity', 'compress', 'zstd'),
      honest: fc.boolean(),
    }),
  },
);

function encode(body: string, encoding: string | undefined, honest: boolean): string | Buffer {
  if (!honest || !encoding) return body;
  if (encoding === 'gzip') return zlib.gzipSync(body);
  if (encoding === 'deflate') return zlib.deflateSync(body);
  if (encoding === 'br') return zlib.brotliCompressSync(body);
  return body;
}

/** Printable ASCII only: fetch itself refuses anything else in a header. */
const headerValue = fc.oneof(
  fc.constantFrom('', '0', '-1', '1e3', '99999999999999999999', 'x'.repeat(300), '../..'),
  fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)) }),
);

const forgedCursor = fc
  .record({
    kind: fc.constantFrom('messages', 'conversations', 'other'),
    seq: fc.oneof(fc.integer(), fc.constantFrom(2 ** 31, 2 ** 53, -2, 1e300)),
    conversationId: fc.uuid(),
    id: fc.uuid(),
    lastMessageAt: fc.constantFrom(
      '0000-01-01T00:00:00.000Z',
      '2024-02-30T00:00:00.000Z',
      '+275760-09-13T00:00:00.000Z',
      new Date().toISOString(),
    ),
  })
  .map((cursor) => Buffer.from(JSON.stringify(cursor)).toString('base64url'));

function queryFor(
  parameters: ParameterObject[],
  doc: OpenApiDocument,
  known: KnownValues,
): fc.Arbitrary<string> {
  const shape: Record<string, fc.Arbitrary<unknown>> = {};
  for (const p of parameters) {
    const values = [valueFor(p.schema ?? {}, doc, known, false), hostileString];
    if (p.name === 'cursor') values.push(forgedCursor);
    shape[p.name] = fc.oneof(...values);
  }
  return fc
    .tuple(
      fc.record(shape, { requiredKeys: [] }),
      fc.option(fc.tuple(fc.constantFrom('unknown', 'limit', '__proto__'), hostileString)),
    )
    .map(([values, extra]) => {
      const query = new URLSearchParams();
      for (const [name, value] of Object.entries(values))
        query.append(name, typeof value === 'string' ? value : JSON.stringify(value));
      if (extra) query.append(extra[0], extra[1]);
      const text = query.toString();
      return text ? `?${text}` : '';
    });
}

function pathFor(template: string, known: KnownValues): fc.Arbitrary<string> {
  const segment = (name: string) =>
    fc.oneof(
      {
        weight: 6,
        arbitrary:
          name === 'messageId' && known.messageIds.length > 0
            ? fc.constantFrom(...known.messageIds)
            : /\/files\//.test(template) && known.fileIds?.length
              ? fc.constantFrom(...known.fileIds)
              : knownId(known),
      },
      { weight: 2, arbitrary: fc.uuid() },
      {
        weight: 1,
        arbitrary: fc.oneof(
          fc.constantFrom('not-a-uuid', '..', '%00', '%E0%A4%A', '%ED%A0%80', 'x'.repeat(600)),
          // Buffer first: encodeURIComponent throws on a lone surrogate.
          hostileString.map((text) => encodeURIComponent(Buffer.from(text).toString())),
        ),
      },
    );
  const names = [...template.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
  if (names.length === 0) return fc.constant(template);
  return fc
    .tuple(...names.map(segment))
    .map((values) =>
      names.reduce((path, name, i) => path.replace(`{${name}}`, values[i]), template),
    );
}

/** One operation's requests: path, query, headers and body from its declaration. */
function requestFor(
  template: string,
  method: string,
  operation: OperationObject,
  doc: OpenApiDocument,
  known: KnownValues,
): fc.Arbitrary<FuzzRequest> {
  const parameters = operation.parameters ?? [];
  const headerNames = [
    ...new Set(parameters.filter((p) => p.in === 'header').map((p) => p.name.toLowerCase())),
  ];
  const headers: Record<string, fc.Arbitrary<string>> = { 'x-correlation-id': headerValue };
  for (const name of headerNames) headers[name] = headerValue;
  if (known.authorizations.length > 0)
    headers.authorization = fc.constantFrom(...known.authorizations);

  const schema = operation.requestBody?.content?.['application/json']?.schema;
  const body: fc.Arbitrary<string | undefined> = schema
    ? fc.oneof(
        { weight: 6, arbitrary: valueFor(schema, doc, known, false).map((v) => JSON.stringify(v)) },
        { weight: 4, arbitrary: valueFor(schema, doc, known, true).map((v) => JSON.stringify(v)) },
        { weight: 2, arbitrary: fc.constantFrom(...RAW_BODIES) },
        { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)) },
        { weight: 1, arbitrary: fc.constant(undefined) },
      )
    : fc.oneof(
        { weight: 4, arbitrary: fc.constant(undefined) },
        { weight: 1, arbitrary: fc.constantFrom(...RAW_BODIES) },
      );

  return fc
    .record({
      path: pathFor(template, known),
      query: queryFor(
        parameters.filter((p) => p.in === 'query'),
        doc,
        known,
      ),
      headers: fc.record(headers, {
        requiredKeys: known.authorizations.length ? ['authorization'] : [],
      }),
      body,
      wire,
    })
    .map(({ path, query, headers: sent, body: text, wire: w }) => {
      const all: Record<string, string> = {};
      for (const [name, value] of Object.entries(sent)) if (value !== undefined) all[name] = value;
      if (text !== undefined && w.contentType) all['content-type'] = w.contentType;
      if (text !== undefined && w.contentEncoding) all['content-encoding'] = w.contentEncoding;
      return {
        method: method.toUpperCase(),
        path: `${path}${query}`,
        headers: all,
        body: text === undefined ? undefined : encode(text, w.contentEncoding, w.honest),
      };
    });
}

const BOUNDARY = 'fuzz-boundary';

/** A file part (well-formed or not) of a multipart upload: a body and its content type. */
const multipartBody: fc.Arbitrary<{ body: string | Buffer; contentType: string }> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .tuple(
        fc.constantFrom('file', 'File', 'upload'),
        hostileString,
        fc.uint8Array({ maxLength: 2048 }),
        fc.boolean(),
      )
      .map(([field, name, bytes, text]) => ({
        contentType: `multipart/form-data; boundary=${BOUNDARY}`,
        body: Buffer.concat([
          Buffer.from(
            `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${field}"; filename="${name.replace(/["\r\n]/g, '')}"\r\n` +
              'Content-Type: application/octet-stream\r\n\r\n',
          ),
          text ? Buffer.from(`plain text ${name}`) : Buffer.from(bytes),
          Buffer.from(`\r\n--${BOUNDARY}--\r\n`),
        ]),
      })),
  },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      {
        contentType: `multipart/form-data; boundary=${BOUNDARY}`,
        body: `--${BOUNDARY}\r\ngarbage`,
      },
      { contentType: 'multipart/form-data', body: 'no boundary' },
      { contentType: `multipart/form-data; boundary=${BOUNDARY}`, body: '' },
      {
        contentType: `multipart/form-data; boundary=${BOUNDARY}`,
        body: `--${BOUNDARY}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nnope\r\n--${BOUNDARY}--\r\n`,
      },
    ),
  },
);

/** An upload route: multipart bodies instead of JSON ones. */
function multipartRequestFor(
  template: string,
  method: string,
  known: KnownValues,
): fc.Arbitrary<FuzzRequest> {
  const authorization = known.authorizations.length
    ? fc.constantFrom(...known.authorizations)
    : fc.constant(undefined);
  return fc
    .record({ path: pathFor(template, known), multipart: multipartBody, authorization })
    .map(({ path, multipart, authorization: auth }) => ({
      method: method.toUpperCase(),
      path,
      headers: { 'content-type': multipart.contentType, ...(auth ? { authorization: auth } : {}) },
      body: multipart.body,
    }));
}

const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

/** Every operation of `doc`, plus methods and paths it does not declare. */
export function requestsFor(doc: OpenApiDocument, known: KnownValues): fc.Arbitrary<FuzzRequest> {
  const declared: fc.WeightedArbitrary<FuzzRequest>[] = [];
  const undeclared: fc.Arbitrary<FuzzRequest>[] = [];
  for (const [template, operations] of Object.entries(doc.paths)) {
    for (const method of METHODS) {
      const operation = operations[method];
      // Operations that take a body have the most to get wrong: they get more requests.
      if (operation?.requestBody?.content?.['multipart/form-data'])
        declared.push({ weight: 3, arbitrary: multipartRequestFor(template, method, known) });
      else if (operation)
        declared.push({
          weight: operation.requestBody ? 3 : 1,
          arbitrary: requestFor(template, method, operation, doc, known),
        });
      else
        undeclared.push(
          pathFor(template, known).map((path) => ({
            method: method.toUpperCase(),
            path,
            headers: {},
          })),
        );
    }
  }
  return fc.oneof(
    { weight: 12, arbitrary: fc.oneof(...declared) },
    { weight: 1, arbitrary: fc.oneof(...undeclared) },
  );
}
