import {
  Cursor,
  decodeConversationsCursor,
  decodeMessagesCursor,
  decodeNewestMessagesCursor,
  decodeSearchCursor,
  encodeCursor,
  InvalidCursorException,
} from './cursor';

const conversationId = '0193a5b2-7c1d-7e3f-8a9b-0c1d2e3f4a5b';
const otherConversationId = '0193a5b2-7c1d-7e3f-8a9b-ffffffffffff';

/** Encodes anything, valid or not, the way encodeCursor does. */
const raw = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

function expectInvalid(decode: () => unknown): void {
  let caught: unknown;
  try {
    decode();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(InvalidCursorException);
  expect(caught).toMatchObject({ status: 400, code: 'invalid_cursor' });
}

describe(encodeCursor.name, () => {
  it('should produce an opaque URL-safe string', () => {
    const encoded = encodeCursor({ kind: 'messages', conversationId, seq: 12 });
    expect(encoded).toMatch(/^[A-Za-z0-9_-]+$/);
  });
});

describe(decodeConversationsCursor.name, () => {
  const cursor: Cursor = {
    kind: 'conversations',
    lastMessageAt: '2025-03-04T05:06:07.890Z',
    id: conversationId,
  };

  it('should round-trip an encoded conversations cursor', () => {
    expect(decodeConversationsCursor(encodeCursor(cursor))).toEqual(cursor);
  });

  it('should drop unknown fields', () => {
    expect(decodeConversationsCursor(raw({ ...cursor, extra: 'x' }))).toEqual(cursor);
  });

  it('should refuse malformed base64 or JSON', () => {
    expectInvalid(() => decodeConversationsCursor('%%%not-base64%%%'));
    expectInvalid(() => decodeConversationsCursor(''));
    expectInvalid(() => decodeConversationsCursor(Buffer.from('{not json').toString('base64url')));
    expectInvalid(() => decodeConversationsCursor(raw([cursor])));
    expectInvalid(() => decodeConversationsCursor(raw(null)));
    expectInvalid(() => decodeConversationsCursor(raw('conversations')));
  });

  it('should refuse a cursor of another kind', () => {
    expectInvalid(() =>
      decodeConversationsCursor(encodeCursor({ kind: 'messages', conversationId, seq: 3 })),
    );
    expectInvalid(() => decodeConversationsCursor(raw({ ...cursor, kind: undefined })));
  });

  it('should refuse a bad id or date', () => {
    expectInvalid(() => decodeConversationsCursor(raw({ ...cursor, id: 'not-a-uuid' })));
    expectInvalid(() => decodeConversationsCursor(raw({ ...cursor, id: 42 })));
    expectInvalid(() => decodeConversationsCursor(raw({ ...cursor, lastMessageAt: 'yesterday' })));
    expectInvalid(() => decodeConversationsCursor(raw({ ...cursor, lastMessageAt: 1700000000 })));
    expectInvalid(() => decodeConversationsCursor(raw({ kind: 'conversations' })));
  });

  it('should say in the message how to fix it', () => {
    expect(() => decodeConversationsCursor('garbage')).toThrow(/nextCursor/);
  });
});

describe(decodeMessagesCursor.name, () => {
  it('should round-trip an encoded messages cursor', () => {
    for (const seq of [-1, 0, 1, 41, 2 ** 31 - 1]) {
      const cursor: Cursor = { kind: 'messages', conversationId, seq };
      expect(decodeMessagesCursor(encodeCursor(cursor), conversationId)).toEqual(cursor);
    }
  });

  it("should refuse another conversation's cursor", () => {
    const encoded = encodeCursor({ kind: 'messages', conversationId, seq: 5 });
    expectInvalid(() => decodeMessagesCursor(encoded, otherConversationId));
  });

  it('should refuse a cursor of another kind', () => {
    const encoded = encodeCursor({
      kind: 'conversations',
      lastMessageAt: '2025-03-04T05:06:07.890Z',
      id: conversationId,
    });
    expectInvalid(() => decodeMessagesCursor(encoded, conversationId));
  });

  it('should refuse malformed input', () => {
    expectInvalid(() => decodeMessagesCursor('!!!', conversationId));
    expectInvalid(() =>
      decodeMessagesCursor(Buffer.from('[1,2').toString('base64url'), conversationId),
    );
  });

  it('should refuse a bad seq', () => {
    for (const seq of ['5', 1.5, -2, null, undefined, Number.NaN, 2 ** 31, 2 ** 53, 1e300]) {
      expectInvalid(() =>
        decodeMessagesCursor(raw({ kind: 'messages', conversationId, seq }), conversationId),
      );
    }
  });
});

describe('decodeConversationsCursor (dates)', () => {
  it('should refuse dates that are not the ISO timestamps it issues', () => {
    for (const lastMessageAt of [
      '1',
      'x 2020',
      '2020-01-01',
      // Outside what PostgreSQL stores, or days that do not exist.
      '0000-01-01T00:00:00.000Z',
      '2024-02-30T00:00:00.000Z',
      '2023-13-01T00:00:00.000Z',
      '2023-01-01T24:00:00.000Z',
    ]) {
      const raw = Buffer.from(
        JSON.stringify({
          kind: 'conversations',
          lastMessageAt,
          id: '01936f3e-8a4c-7b1e-9d2a-3c4b5d6e7f80',
        }),
      ).toString('base64url');
      expect(() => decodeConversationsCursor(raw)).toThrow(InvalidCursorException);
    }
  });

  it('should accept the earliest and latest timestamps it can issue', () => {
    for (const lastMessageAt of ['0001-01-01T00:00:00.000Z', '9999-12-31T23:59:59.999Z']) {
      const cursor: Cursor = { kind: 'conversations', lastMessageAt, id: conversationId };
      expect(decodeConversationsCursor(encodeCursor(cursor))).toEqual(cursor);
    }
  });
});

describe(decodeSearchCursor.name, () => {
  const cursor: Cursor = { kind: 'search', q: 'lisbon trip', score: 60_795, id: conversationId };

  it('should round-trip a search cursor for the same query', () => {
    expect(decodeSearchCursor(encodeCursor(cursor), 'lisbon trip')).toEqual(cursor);
  });

  it('should refuse it for another query, and a list cursor for a search', () => {
    expectInvalid(() => decodeSearchCursor(encodeCursor(cursor), 'porto'));
    const list: Cursor = {
      kind: 'conversations',
      lastMessageAt: '2025-03-04T05:06:07.890Z',
      id: conversationId,
    };
    expectInvalid(() => decodeSearchCursor(encodeCursor(list), 'lisbon trip'));
  });

  it('should refuse a score that is not an integer', () => {
    expectInvalid(() => decodeSearchCursor(raw({ ...cursor, score: 1.5 }), 'lisbon trip'));
  });
});

describe(decodeNewestMessagesCursor.name, () => {
  const id = '0193a5b2-7c1d-7e3f-8a9b-0c1d2e3f4a5c';

  it('should round-trip a newest-first cursor of the same conversation', () => {
    const cursor: Cursor = { kind: 'messages-desc', conversationId, id };
    expect(decodeNewestMessagesCursor(encodeCursor(cursor), conversationId)).toEqual(cursor);
    expectInvalid(() => decodeNewestMessagesCursor(encodeCursor(cursor), otherConversationId));
  });

  it('should refuse an oldest-first cursor and a bad id', () => {
    const asc = encodeCursor({ kind: 'messages', conversationId, seq: 3 });
    expectInvalid(() => decodeNewestMessagesCursor(asc, conversationId));
    expectInvalid(() =>
      decodeNewestMessagesCursor(
        raw({ kind: 'messages-desc', conversationId, id: 'x' }),
        conversationId,
      ),
    );
  });
});
