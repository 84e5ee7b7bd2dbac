import { CONVERSATIONS, withTestApp } from './utils/harness';

describe('Who spoke: a user message with a speaker name and metadata', () => {
  const t = withTestApp();

  const post = (id: string, body: object) =>
    t.http.post(`${CONVERSATIONS}/${id}/messages`).send(body);

  it('should store name and metadata, return them, and send the name upstream', async () => {
    const id = await t.createConversation();
    const sent = await post(id, {
      message: 'Hi there',
      name: 'Alice_1',
      metadata: { emote: 'smiles', mood: 'happy' },
    }).expect(201);
    expect(sent.body.userMessage).toMatchObject({
      name: 'Alice_1',
      metadata: { emote: 'smiles', mood: 'happy' },
    });
    expect(sent.body.assistantMessage).toMatchObject({ name: null, metadata: null });
    expect(t.fake.requests[0].body.messages.at(-1)).toEqual({
      role: 'user',
      content: 'Hi there',
      name: 'Alice_1',
    });

    // The next turn sends the stored name with the history; an unnamed message has none.
    await post(id, { message: 'And you?' }).expect(201);
    const history = t.fake.requests[1].body.messages;
    expect(history.slice(1)).toEqual([
      { role: 'user', content: 'Hi there', name: 'Alice_1' },
      { role: 'assistant', content: expect.any(String) },
      { role: 'user', content: 'And you?' },
    ]);

    const list = await t.http.get(`${CONVERSATIONS}/${id}/messages`).expect(200);
    expect(
      list.body.data.map((m: { name: unknown; metadata: unknown }) => [m.name, m.metadata]),
    ).toEqual([
      ['Alice_1', { emote: 'smiles', mood: 'happy' }],
      [null, null],
      [null, null],
      [null, null],
    ]);

    const json = await t.http.get(`${CONVERSATIONS}/${id}/export`).expect(200);
    expect(JSON.parse(json.text).messages[0]).toMatchObject({
      name: 'Alice_1',
      metadata: { emote: 'smiles', mood: 'happy' },
    });
    const md = await t.http.get(`${CONVERSATIONS}/${id}/export?format=markdown`).expect(200);
    expect(md.text).toContain(
      '\n\n## **Alice\\_1**\n\n- emote: smiles\n- mood: happy\n\nHi there\n\n## Assistant',
    );
    expect(md.text).toContain('\n\n## User\n\nAnd you?');
  });

  it.each([
    ['a nested object', { a: { b: 'c' } }],
    ['a non-string value', { a: 1 }],
    ['too many keys', Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, 'v']))],
    ['a long value', { a: 'x'.repeat(513) }],
    ['a long key', { ['k'.repeat(65)]: 'v' }],
    ['an array', ['a']],
  ])('should refuse metadata with %s (400)', async (_, metadata) => {
    const id = await t.createConversation();
    const res = await post(id, { message: 'hi', metadata }).expect(400);
    expect(res.body.error).toBe('validation_failed');
  });

  it.each([[''], ['x'.repeat(65)], ['bad\nname'], [42]])(
    'should refuse the name %j (400)',
    async (name) => {
      const id = await t.createConversation();
      const res = await post(id, { message: 'hi', name }).expect(400);
      expect(res.body.error).toBe('validation_failed');
    },
  );
});
