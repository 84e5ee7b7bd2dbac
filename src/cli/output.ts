/** stdout carries data (replies, tables, JSON); stderr carries everything said to the user. */
export const stdout = (text: string): void => void process.stdout.write(text);
export const stderr = (text: string): void => void process.stderr.write(text);

export function printJson(value: unknown, compact = false): void {
  stdout(`${JSON.stringify(value, null, compact ? undefined : 2)}\n`);
}

/** Left-aligned columns; the last one is not padded so long titles do not drag spaces. */
export function table(header: string[], rows: string[][]): string {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((row) => (row[i] ?? '').length)));
  return all
    .map((row) =>
      row
        .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i])))
        .join('  ')
        .trimEnd(),
    )
    .map((line) => `${line}\n`)
    .join('');
}
