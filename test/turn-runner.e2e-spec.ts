import { INestApplicationContext } from '@nestjs/common';
import { Test } from '@nestjs/testing';

import { AppModule } from '../src/app.module';
import { ChatService } from '../src/chat/chat.service';
import type { ChatEvent, Turn } from '../src/chat/turn';
import { toEventPayload } from '../src/chat/chat-event.mapper';
import { TurnsRepository } from '../src/chat/turns.repository';
import { IdempotencyKeyTakenError } from '../src/chat/turns.types';
import { AppConfig } from '../src/config/app-config';
import { loadEnv } from '../src/config/env';
import { ConversationsService } from '../src/conversations/conversations.service';
import { PrismaService } from '../src/database/prisma.service';
import { LlmException } from '../src/llm/llm.errors';
import { LlmService } from '../src/llm/llm.service';
import { LLM_PROVIDERS } from '../src/llm/llm.types';
import { PromptManager } from '../src/prompts/prompt-manager';
import { countTokensConservatively } from '../src/prompts/token-counter';
import { createTestDatabase, TestDatabase } from './utils/database';
import { Behaviour, ScriptedProvider } from './utils/scripted-provider';

/** Streams `parts`, then waits until the request is aborted. */
function partsThenHang(parts: string[]): Behaviour {
  return async function* (request) {
    for (const text of parts) yield { type: 'delta', text };
    await new Promise((resolve) => request.signal.addEventListener('abort', resolve));
    throw request.signal.reason;
  };
}

function events(turn: Turn): Promise<ChatEvent[]> {
  return turn.outcome.then(() => turn.events.filter((event) => event !== undefined));
}

describe('TurnRunner (service level, real PostgreSQL, in-process provider)', () => {
  let db: TestDatabase;
  let app: INestApplicationContext;
  let chat: ChatService;
  let prisma: PrismaService;
  let conversations: ConversationsService;
  const provider = new ScriptedProvider('lmstudio');

  beforeAll(async () => {
    db = await createTestDatabase();
    const config = new AppConfig(
      loadEnv({
        LOG_LEVEL: 'silent',
        DEFAULT_MODEL: 'lmstudio/default',
        LLM_MAX_RETRIES: '0',
        TITLES: 'off',
      }),
      db.url,
    );
    const moduleRef = await Test.createTestingModule({ imports: [AppModule.forRoot(config)] })
      .overrideProvider(LLM_PROVIDERS)
      .useValue([provider, new ScriptedProvider('groq')])
      .compile();
    app = await moduleRef.init();
    chat = app.get(ChatService);
    prisma = app.get(PrismaService);
    conversations = app.get(ConversationsService);
  });

  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  beforeEach(() => provider.reset());

  const newConversation = async (): Promise<string> =>
    (await conversations.create('local', { systemPrompt: 'sys' })).id;

  const send = (id: string, message: string, mode: 'complete' | 'stream' = 'stream') =>
    chat.startTurn('local', id, { message, mode });

  async function stored(id: string) {
    return prisma.message.findMany({ where: { conversationId: id }, orderBy: { seq: 'asc' } });
  }

  it('should store the user message and the reply, and send the history in order', async () => {
    const id = await newConversation();
    await (
      await send(id, 'one')
    ).outcome;
    const second = await send(id, 'two');
    const outcome = await second.outcome;

    expect(outcome.failure).toBeNull();
    expect(outcome.assistantMessage?.content).toBe('Echo: two');
    expect(provider.requests[1].messages).toEqual([
      { role: 'system', content: 'sys' },
      { role: 'user', content: 'one' },
      { role: 'assistant', content: 'Echo: one' },
      { role: 'user', content: 'two' },
    ]);
    expect((await stored(id)).map((m) => [m.role, m.status])).toEqual([
      ['user', 'complete'],
      ['assistant', 'complete'],
      ['user', 'complete'],
      ['assistant', 'complete'],
    ]);
  });

  it('should carry a provider failure with its Retry-After to the stored message and the error event', async () => {
    const id = await newConversation();
    provider.next(() => {
      throw new LlmException('provider_rate_limited', 'Scripted rate limit', {
        retryable: true,
        retryAfterMs: 60_000,
      });
    });
    const turn = await send(id, 'hello');
    const outcome = await turn.outcome;

    expect(outcome.failure).toMatchObject({
      code: 'provider_rate_limited',
      status: 429,
      retryAfter: 60,
    });
    const last = (await events(turn)).at(-1)!;
    expect(last.type).toBe('error');
    expect(toEventPayload(last)).toMatchObject({ code: 'provider_rate_limited', retryAfter: 60 });
    const [, assistant] = await stored(id);
    expect(assistant).toMatchObject({ status: 'failed', errorCode: 'provider_rate_limited' });
  });

  it('should store the partial text as cancelled when the turn is cancelled', async () => {
    const id = await newConversation();
    provider.next(partsThenHang(['Hello', ', wor']));
    const turn = await send(id, 'hi');
    await new Promise<void>((resolve) => {
      turn.listen(0, () => turn.text === 'Hello, wor' && resolve());
    });
    const cancelled = await chat.cancel('local', id);

    expect(cancelled).toMatchObject({ status: 'cancelled', content: 'Hello, wor' });
    expect((await turn.outcome).failure?.code).toBe('turn_cancelled');
    // The conversation is free again.
    await expect((await send(id, 'again')).outcome).resolves.toMatchObject({ failure: null });
  });

  it('should end a turn whose store fails for a reason no retry fixes at once, and free the conversation', async () => {
    const id = await newConversation();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    provider.next(async function* () {
      yield { type: 'delta', text: 'kept' };
      await gate;
      yield { type: 'done', upstreamModel: 'scripted', finishReason: 'stop', usage: null };
    });
    const turn = await send(id, 'store me');
    // A missing table (42P01) is no outage: retrying the store would only hold the claim.
    await prisma.$executeRawUnsafe('ALTER TABLE messages RENAME TO messages_away');
    release();
    const outcome = await turn.outcome;
    await prisma.$executeRawUnsafe('ALTER TABLE messages_away RENAME TO messages');

    expect(outcome.failure?.code).toBe('internal_error');
    const conversation = await prisma.conversation.findUniqueOrThrow({ where: { id } });
    expect(conversation.activeTurnId).toBeNull();
  });

  it('should answer racing requests with one Idempotency-Key with the one turn, or busy, never an error', async () => {
    const outcomes: string[] = [];
    for (let trial = 0; trial < 30; trial++) {
      const id = await newConversation();
      const input = { message: 'once', mode: 'complete' as const, idempotencyKey: `k${trial}` };
      const results = await Promise.allSettled(
        Array.from({ length: 6 }, () =>
          chat.startTurn('local', id, input).then((turn) => turn.outcome),
        ),
      );
      for (const result of results) {
        if (result.status === 'fulfilled') outcomes.push(result.value.failure?.code ?? 'turn');
        else outcomes.push((result.reason as { code?: string }).code ?? String(result.reason));
      }
      const users = (await stored(id)).filter((m) => m.role === 'user');
      expect(users).toHaveLength(1);
    }
    expect(new Set(outcomes)).toEqual(
      new Set(outcomes.filter((o) => o === 'turn' || o === 'conversation_busy')),
    );
  });

  it('should report a key stored by a concurrent turn as taken, not as a database error', async () => {
    const id = await newConversation();
    await (
      await chat.startTurn('local', id, { message: 'x', mode: 'complete', idempotencyKey: 'dup' })
    ).outcome;
    const conversation = await prisma.conversation.findUniqueOrThrow({ where: { id } });
    const begin = app.get(TurnsRepository).begin({
      ownerId: 'local',
      conversationId: id,
      turnId: crypto.randomUUID(),
      userMessageId: crypto.randomUUID(),
      userSeq: conversation.nextSeq,
      replySeq: conversation.nextSeq + 1,
      parentId: conversation.currentLeafId,
      content: 'x',
      speakerName: null,
      metadata: null,
      tokenCount: 1,
      alias: 'lmstudio/default',
      idempotencyKey: 'dup',
      requestHash: null,
      previousTurnId: null,
      attachmentsJson: '[]',
      window: {
        maxTokens: 100,
        maxRows: 10,
        messageOverhead: 4,
        summaries: false,
        summaryOverhead: 0,
      },
    });
    await expect(begin).rejects.toBeInstanceOf(IdempotencyKeyTakenError);
  });

  describe('event ids', () => {
    it('should number every turn of a conversation after the turns before it', async () => {
      const id = await newConversation();
      const first = await send(id, 'one');
      await first.outcome;
      const second = await send(id, 'two');
      await second.outcome;

      const lastOfFirst = first.eventId(first.events.length - 1);
      expect(second.eventId(0)).toBeGreaterThan(lastOfFirst);
    });

    it('should resume a new turn from its start for an id of an earlier turn, and refuse ids past it', async () => {
      const id = await newConversation();
      const first = await send(id, 'one');
      await first.outcome;
      provider.next(partsThenHang(['a', 'b']));
      const second = await send(id, 'two');
      await new Promise<void>((resolve) =>
        second.listen(0, () => second.text === 'ab' && resolve()),
      );

      const fromOld = await chat.follow('local', id, first.eventId(first.events.length - 1));
      expect(fromOld.from).toBe(0);
      const fromSecond = await chat.follow('local', id, second.eventId(1));
      expect(fromSecond.from).toBe(2);
      await expect(
        chat.follow('local', id, second.eventId(second.events.length + 5)),
      ).rejects.toMatchObject({ code: 'invalid_last_event_id' });
      await chat.cancel('local', id);
    });
  });

  describe('history window', () => {
    /** Stores finished messages with chosen token counts, straight in the database. */
    async function seed(messages: { role: 'user' | 'assistant'; tokens: number }[]) {
      const id = await newConversation();
      // One linear path: each message follows the one before it.
      const ids = messages.map(() => crypto.randomUUID());
      await prisma.message.createMany({
        data: messages.map((m, seq) => ({
          id: ids[seq],
          conversationId: id,
          parentId: seq === 0 ? null : ids[seq - 1],
          seq,
          role: m.role,
          content: `m${seq}`,
          tokenCount: m.tokens,
        })),
      });
      await prisma.conversation.update({
        where: { id },
        data: { nextSeq: messages.length, currentLeafId: ids.at(-1) ?? null },
      });
      return id;
    }

    /** The stored messages the next turn sent, by content. */
    async function window(id: string, model?: string): Promise<string[]> {
      await (
        await chat.startTurn('local', id, { message: 'new', mode: 'stream', model })
      ).outcome;
      return provider.requests
        .at(-1)!
        .messages.slice(1, -1)
        .map((m) => m.content);
    }

    const alternating = (tokens: number[]) =>
      tokens.map((t, i) => ({ role: i % 2 === 0 ? 'user' : 'assistant', tokens: t }) as const);

    it('should keep the newest messages that fit, oldest first', async () => {
      const budget = historyBudget();
      // Each costs tokens + 4; four fit, the fifth newest does not.
      const each = Math.floor(budget / 4) - 4;
      const id = await seed(alternating([each, each, each, each, each, each]));
      expect(await window(id)).toEqual(['m2', 'm3', 'm4', 'm5']);
    });

    it('should stop at the first message that does not fit instead of skipping to older ones', async () => {
      const budget = historyBudget();
      const id = await seed(alternating([1, budget, 1, 1]));
      expect(await window(id)).toEqual(['m2', 'm3']);
    });

    it('should begin the window at a user message', async () => {
      const budget = historyBudget();
      const each = Math.floor(budget / 3) - 4;
      // Newest three fit: assistant m1, user m2, assistant m3 → the leading reply is left out.
      const id = await seed(alternating([each, each, each, each]));
      expect(await window(id)).toEqual(['m2', 'm3']);
    });

    it('should keep the whole history when it fits exactly', async () => {
      const budget = historyBudget();
      const id = await seed(alternating([6, 6, 6, budget - 4 * 4 - 18]));
      expect(await window(id)).toEqual(['m0', 'm1', 'm2', 'm3']);
    });

    it('should keep no history when even the newest message does not fit', async () => {
      const budget = historyBudget();
      const id = await seed(alternating([1, budget]));
      expect(await window(id)).toEqual([]);
    });

    it('should leave failed and cancelled replies out', async () => {
      const id = await seed(alternating([5, 5, 5, 5]));
      await prisma.message.updateMany({
        where: { conversationId: id, seq: 1 },
        data: { status: 'failed' },
      });
      expect(await window(id)).toEqual(['m0', 'm2', 'm3']);
    });

    /** Tokens the default alias leaves for history with system prompt 'sys' and message 'new'. */
    function historyBudget(): number {
      const model = app.get(LlmService).resolve('lmstudio/default');
      return new PromptManager().plan({
        contextWindow: model.contextWindow,
        replyTokens: model.maxOutputTokens,
        systemPrompt: 'sys',
        newMessageTokens: countTokensConservatively('new'),
      }).window.maxTokens;
    }
  });
});
