/**
 * The scale scenario's data, generated row by row from a seeded PRNG: the same scale and
 * version always give the same rows, ids included. Each owner's data depends only on the
 * seed and the owner's number, so the small database (the first owners, and the same big
 * owner) holds exactly the conversations the big one holds for them: an operation on one
 * owner compares like with like.
 *
 * Shape at scale 1: 100,000 owners with ~10 conversations of ~10 messages each (a long
 * tail: some have hundreds), plus big owners with 100,000 messages each (one conversation
 * of theirs a 10,000-message path, one a 500-message path), over the year before EPOCH.
 * Messages have realistic lengths (user ~150 characters, assistant ~900, a long tail to
 * ~5,000), some failed or cancelled replies, regenerated branches, feedback on ~3% of
 * replies, and a summary (memory mark) every 40 messages of long conversations.
 */

/** Bump when the generated rows change: the cached database is rebuilt. */
export const GENERATOR_VERSION = 1;

/** Every timestamp is before this instant (fixed, so the rows do not depend on the day). */
export const EPOCH = Date.parse('2026-12-01T00:00:00Z');
const YEAR_MS = 365 * 24 * 3600_000;

/** Words the searches look for: in ~15% and ~0.1% of messages (every owner alike). */
export const COMMON_WORD = 'tea';
export const RARE_WORD = 'quokka';
const COMMON_RATE = 0.15;
const RARE_RATE = 0.001;

/** Owners with this many messages each; their number scales (at least one). */
export const BIG_OWNER_MESSAGES = 100_000;
export const LONG_PATH = 10_000;
export const MEDIUM_PATH = 500;

export const bigOwner = (index: number): string => `big${index}`;
export const owner = (index: number): string => `o${String(index).padStart(6, '0')}`;

/** sfc32: small, fast and good enough; seeded from 4 words. */
export class Random {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number, stream = 0) {
    this.a = 0x9e3779b9;
    this.b = seed >>> 0;
    this.c = stream >>> 0;
    this.d = 1;
    for (let i = 0; i < 15; i++) this.next();
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.a >>>= 0;
    this.b >>>= 0;
    this.c >>>= 0;
    this.d >>>= 0;
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return (t >>> 0) / 4294967296;
  }

  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  /** Log-normal with the given median, clipped. */
  logNormal(median: number, sigma: number, min: number, max: number): number {
    const u = Math.max(this.next(), 1e-12);
    const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
    return Math.min(max, Math.max(min, Math.round(median * Math.exp(sigma * z))));
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)];
  }

  hex(chars: number): string {
    let out = '';
    while (out.length < chars)
      out += ((this.next() * 0x100000000) >>> 0).toString(16).padStart(8, '0');
    return out.slice(0, chars);
  }
}

/** A UUIDv7 for `ms`: ids sort as their times do, like the service's. */
export function uuid7(ms: number, random: Random): string {
  const time = Math.floor(ms).toString(16).padStart(12, '0');
  const r = random.hex(20);
  const variant = ((parseInt(r[3], 16) & 0x3) | 0x8).toString(16);
  return `${time.slice(0, 8)}-${time.slice(8, 12)}-7${r.slice(0, 3)}-${variant}${r.slice(4, 7)}-${r.slice(7, 19)}`;
}

/**
 * The text: sentences drawn from a fixed pool, each made of words from a 6,000-word
 * vocabulary with a Zipf distribution (so lexemes are as skewed as in real text), plus
 * numbers and codes that make ~a third of messages carry a word of their own.
 */
class Text {
  readonly sentences: string[] = [];

  constructor(random: Random) {
    const syllables =
      'ka lo mi ne su ta ri po ve da an el is or um be co fi gu ha ju ly mo nu pe qui ra si to va wo xe yo ze'.split(
        ' ',
      );
    const words = new Set<string>();
    while (words.size < 6000) {
      let word = '';
      for (let s = random.int(1, 4); s > 0; s--) word += random.pick(syllables);
      if (word !== COMMON_WORD && word !== RARE_WORD) words.add(word);
    }
    const vocabulary = [...words];
    const weights = vocabulary.map((_, rank) => 1 / Math.pow(rank + 1, 1.05));
    const total = weights.reduce((a, b) => a + b, 0);
    const cdf: number[] = [];
    let sum = 0;
    for (const w of weights) cdf.push((sum += w / total));
    const word = (): string => {
      const u = random.next();
      let lo = 0;
      let hi = cdf.length - 1;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (cdf[mid] < u) lo = mid + 1;
        else hi = mid;
      }
      return vocabulary[lo];
    };
    for (let i = 0; i < 30_000; i++) {
      const parts: string[] = [];
      for (let n = random.int(5, 22); n > 0; n--) parts.push(word());
      const sentence = parts.join(' ');
      this.sentences.push(
        sentence[0].toUpperCase() + sentence.slice(1) + random.pick(['.', '.', '.', '?', '!', ':']),
      );
    }
  }

  message(random: Random, sentences: number): string {
    const out: string[] = [];
    for (let i = 0; i < sentences; i++) {
      out.push(random.pick(this.sentences));
      // Paragraphs, as replies have them.
      if (i % 5 === 4 && i < sentences - 1) out.push('\n\n');
      else if (i < sentences - 1) out.push(' ');
    }
    if (random.chance(COMMON_RATE)) out.push(` Some ${COMMON_WORD} helps.`);
    if (random.chance(RARE_RATE)) out.push(` A ${RARE_WORD} appeared.`);
    if (random.chance(0.3)) out.push(` Ref ${random.hex(8)} #${random.int(1, 999_999)}.`);
    return out.join('');
  }
}

export interface ConversationRow {
  id: string;
  ownerId: string;
  title: string | null;
  archived: boolean;
  pinned: boolean;
  nextSeq: number;
  currentLeafId: string;
  createdAt: number;
  lastMessageAt: number;
}

export interface MessageRow {
  id: string;
  conversationId: string;
  parentId: string | null;
  seq: number;
  role: 'user' | 'assistant';
  content: string;
  status: 'complete' | 'failed' | 'cancelled';
  tokenCount: number;
  createdAt: number;
  completedAt: number;
  latencyMs: number | null;
  feedback: 'up' | 'down' | null;
}

export interface MarkRow {
  messageId: string;
  conversationId: string;
  seq: number;
  content: string;
  tokenCount: number;
  summarizedCount: number;
  createdAt: number;
}

export interface Sink {
  conversation(row: ConversationRow): void | Promise<void>;
  message(row: MessageRow): void | Promise<void>;
  mark(row: MarkRow): void | Promise<void>;
}

export interface DatasetShape {
  /** Ordinary owners: o000000 … */
  owners: number;
  /** Owners with BIG_OWNER_MESSAGES messages: big0 … */
  bigOwners: number;
}

/** The big database at `scale`, and the small one it is compared with. */
export function shapes(scale: number): { big: DatasetShape; small: DatasetShape } {
  return {
    big: { owners: Math.round(100_000 * scale), bigOwners: Math.max(1, Math.round(5 * scale)) },
    small: { owners: 1_000, bigOwners: 1 },
  };
}

const SEED = 20261201;

/** Generates the rows of `shape` into `sink`, owner by owner (big owners first). */
export async function generate(shape: DatasetShape, sink: Sink): Promise<void> {
  const text = new Text(new Random(SEED, 1));
  for (let b = 0; b < shape.bigOwners; b++) {
    const random = new Random(SEED, 0x10000000 + b);
    const lengths = [LONG_PATH, MEDIUM_PATH];
    let total = LONG_PATH + MEDIUM_PATH;
    while (total < BIG_OWNER_MESSAGES) {
      const n = Math.min(BIG_OWNER_MESSAGES - total, random.logNormal(60, 0.9, 2, 2_000) & ~1) || 2;
      lengths.push(n);
      total += n;
    }
    for (const length of lengths) await conversation(bigOwner(b), length, random, text, sink);
  }
  for (let o = 0; o < shape.owners; o++) {
    const random = new Random(SEED, o);
    const conversations = random.logNormal(7, 0.9, 1, 400);
    for (let c = 0; c < conversations; c++) {
      await conversation(
        owner(o),
        random.logNormal(5.5, 1.1, 2, 3_000) & ~1 || 2,
        random,
        text,
        sink,
      );
    }
  }
}

async function conversation(
  ownerId: string,
  length: number,
  random: Random,
  text: Text,
  sink: Sink,
): Promise<void> {
  let at = EPOCH - YEAR_MS + random.next() * (YEAR_MS - 45 * 24 * 3600_000);
  const createdAt = at;
  const id = uuid7(at, random);
  const path: MessageRow[] = [];
  const marks: MarkRow[] = [];
  let parentId: string | null = null;
  const message = (seq: number, role: 'user' | 'assistant', parent: string | null): MessageRow => {
    // Turns come in bursts: a few seconds to a minute apart, now and then a day later.
    at += random.chance(Math.min(0.02, 20 / length))
      ? random.int(3_600_000, 86_400_000)
      : random.int(4_000, 90_000);
    const sentences =
      role === 'user' ? random.logNormal(2, 0.6, 1, 12) : random.logNormal(8, 0.7, 1, 60);
    let content = text.message(random, sentences);
    let status: MessageRow['status'] = 'complete';
    if (role === 'assistant' && random.chance(0.005)) {
      status = random.chance(0.6) ? 'failed' : 'cancelled';
      content = content.slice(0, random.int(0, content.length));
    }
    const latencyMs = role === 'assistant' ? random.int(300, 20_000) : null;
    return {
      id: uuid7(at, random),
      conversationId: id,
      parentId: parent,
      seq,
      role,
      content,
      status,
      tokenCount: Math.ceil(content.length / 4),
      createdAt: at,
      completedAt: at + (latencyMs ?? 0),
      latencyMs,
      feedback:
        role === 'assistant' && random.chance(0.03) ? (random.chance(0.8) ? 'up' : 'down') : null,
    };
  };
  for (let seq = 0; seq < length; seq++) {
    const row = message(seq, seq % 2 === 0 ? 'user' : 'assistant', parentId);
    path.push(row);
    parentId = row.id;
    if (length > 60 && seq % 40 === 39) {
      marks.push({
        messageId: row.id,
        conversationId: id,
        seq,
        content: text.message(random, 6),
        tokenCount: 150,
        summarizedCount: seq + 1,
        createdAt: row.completedAt + 5_000,
      });
    }
  }
  // A regenerated reply (and now and then a turn after it) beside the path, which stays current.
  const branch: MessageRow[] = [];
  if (length >= 4 && random.chance(0.1)) {
    const userSeq = 2 * random.int(0, length / 2 - 1);
    let parent = path[userSeq].id;
    const turns = random.chance(0.3) ? 3 : 1;
    for (let i = 0; i < turns; i++) {
      const row = message(length + i, i % 2 === 0 ? 'assistant' : 'user', parent);
      branch.push(row);
      parent = row.id;
    }
  }
  const last = path[path.length - 1];
  const archived = random.chance(0.05);
  await sink.conversation({
    id,
    ownerId,
    title: random.chance(0.7)
      ? text
          .message(random, 1)
          .slice(0, 60)
          .replace(/[.?!:]$/, '')
      : null,
    archived,
    pinned: !archived && random.chance(0.02),
    nextSeq: length + branch.length,
    currentLeafId: last.id,
    createdAt,
    lastMessageAt: Math.max(last.completedAt, branch.at(-1)?.completedAt ?? 0),
  });
  for (const row of path) await sink.message(row);
  for (const row of branch) await sink.message(row);
  for (const row of marks) await sink.mark(row);
}
