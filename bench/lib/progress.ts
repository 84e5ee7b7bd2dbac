/** One progress line on stderr (stdout carries the report). */
export function progress(line: string): void {
  process.stderr.write(`[bench] ${line}\n`);
}
