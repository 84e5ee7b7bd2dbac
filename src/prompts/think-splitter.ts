const OPEN = '<think>';
const CLOSE = '</think>';

export interface SplitPiece {
  content: string;
  reasoning: string;
}

/** Length of the longest suffix of `text` that could be the start of `tag`. */
function partialTagLength(text: string, tag: string): number {
  for (let n = Math.min(tag.length - 1, text.length); n > 0; n--) {
    if (text.endsWith(tag.slice(0, n))) return n;
  }
  return 0;
}

/**
 * Separates `<think>…</think>` reasoning from the answer as text arrives, chunk by chunk,
 * even when a tag is split across chunks. An unterminated `<think>` sends the rest to
 * reasoning. Whitespace before the answer starts is dropped. Whole replies go through the
 * same path (one chunk), so streamed and stored text always agree.
 */
export class ThinkSplitter {
  private inThink = false;
  private pending = '';
  private answerStarted = false;
  private content = '';
  private reasoning = '';

  /** `keep: false` for a caller that keeps the text itself: `result` is then empty. */
  constructor(private readonly keep = true) {}

  feed(text: string): SplitPiece {
    const piece: SplitPiece = { content: '', reasoning: '' };
    let rest = this.pending + text;
    this.pending = '';
    while (rest.length > 0) {
      const tag = this.inThink ? CLOSE : OPEN;
      const index = rest.indexOf(tag);
      if (index >= 0) {
        this.emit(piece, rest.slice(0, index));
        this.inThink = !this.inThink;
        rest = rest.slice(index + tag.length);
        continue;
      }
      const held = partialTagLength(rest, tag);
      this.emit(piece, rest.slice(0, rest.length - held));
      this.pending = rest.slice(rest.length - held);
      break;
    }
    return piece;
  }

  /** Flushes what was held back waiting for a possible tag. */
  end(): SplitPiece {
    const piece: SplitPiece = { content: '', reasoning: '' };
    this.emit(piece, this.pending);
    this.pending = '';
    return piece;
  }

  get result(): { content: string; reasoning: string | null } {
    const reasoning = this.reasoning.trim();
    return { content: this.content, reasoning: reasoning.length > 0 ? reasoning : null };
  }

  private emit(piece: SplitPiece, text: string): void {
    if (this.inThink) {
      piece.reasoning += text;
      if (this.keep) this.reasoning += text;
      return;
    }
    const shown = this.answerStarted ? text : text.trimStart();
    if (shown.length > 0) this.answerStarted = true;
    piece.content += shown;
    if (this.keep) this.content += shown;
  }
}

export function splitThinking(text: string): { content: string; reasoning: string | null } {
  const splitter = new ThinkSplitter();
  splitter.feed(text);
  splitter.end();
  return splitter.result;
}
