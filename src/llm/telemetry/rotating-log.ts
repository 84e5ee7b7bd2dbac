import { createWriteStream, WriteStream } from 'node:fs';
import { rename } from 'node:fs/promises';

export interface RotatingLogOptions {
  /** The file lines go to; rotated ones are `<name>.1<ext>`, `<name>.2<ext>`, … */
  path: string;
  /** Size at which the file is rotated (a line is never split between two files). */
  maxBytes: number;
  /** Rotated files kept beside the current one. */
  keep: number;
  /** Bytes that may wait to be written; a line beyond them is dropped and counted. */
  maxQueuedBytes: number;
  /** Told once of the first write error; later lines are dropped. */
  onError: (error: Error) => void;
}

/**
 * Appends lines through one write stream without ever waiting for the disk: `append`
 * returns at once, queued bytes are bounded, and a line that would pass the bound is
 * dropped (counted in `dropped`) rather than held in memory while the disk is slow.
 */
export class RotatingLog {
  dropped = 0;
  private stream: WriteStream | null = null;
  private size = 0;
  /** Lines that came while the file was being rotated, written to the new one. */
  private held: string[] = [];
  private heldBytes = 0;
  private rotating: Promise<void> | null = null;
  private failed = false;

  constructor(private readonly options: RotatingLogOptions) {}

  /** Queues one line (without its newline); false when it was dropped. */
  append(line: string): boolean {
    const text = `${line}\n`;
    const bytes = Buffer.byteLength(text);
    const queued = (this.stream?.writableLength ?? 0) + this.heldBytes;
    if (this.failed || queued + bytes > this.options.maxQueuedBytes) {
      this.dropped++;
      return false;
    }
    this.place(text, bytes);
    return true;
  }

  /** Resolves once everything queued is on disk (or was lost to a write error). */
  async close(): Promise<void> {
    while (this.rotating) await this.rotating;
    const stream = this.stream;
    this.stream = null;
    if (stream) await new Promise<void>((resolve) => stream.end(resolve));
  }

  /** Into the current file, or held while it is rotated (starting a rotation when full). */
  private place(text: string, bytes: number): void {
    if (!this.rotating && this.size > 0 && this.size + bytes > this.options.maxBytes)
      this.rotating = this.rotate();
    if (this.rotating) {
      this.held.push(text);
      this.heldBytes += bytes;
    } else this.write(text, bytes);
  }

  private write(text: string, bytes: number): void {
    this.stream ??= this.open();
    this.stream.write(text);
    this.size += bytes;
  }

  private open(): WriteStream {
    const stream = createWriteStream(this.options.path, { flags: 'a' });
    stream.on('error', (error) => {
      if (!this.failed) this.options.onError(error);
      this.failed = true;
    });
    return stream;
  }

  /** Ends the current file, shifts the rotated ones by one, then writes what was held. */
  private async rotate(): Promise<void> {
    const stream = this.stream;
    this.stream = null;
    if (stream) await new Promise<void>((resolve) => stream.end(resolve));
    const { path, keep } = this.options;
    const dot = path.lastIndexOf('.');
    const numbered = (n: number): string =>
      dot > path.lastIndexOf('/') ? `${path.slice(0, dot)}.${n}${path.slice(dot)}` : `${path}.${n}`;
    for (let n = keep; n >= 1; n--) {
      // The oldest is overwritten by the next; a missing one is fine.
      await rename(n === 1 ? path : numbered(n - 1), numbered(n)).catch(() => undefined);
    }
    this.size = 0;
    const held = this.held;
    this.held = [];
    this.heldBytes = 0;
    this.rotating = null;
    for (const text of held) this.place(text, Buffer.byteLength(text));
  }
}
