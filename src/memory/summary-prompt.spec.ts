import type { WindowMessage } from '../history/memory-mark';
import { countTokensConservatively } from '../prompts/token-counter';
import { fitSummary, SUMMARY_LINE_OVERHEAD, summaryRequest, takeBatch } from './summary-prompt';

const message = (seq: number, content: string, tokenCount: number): WindowMessage => ({
  id: `m${seq}`,
  seq,
  role: seq % 2 === 0 ? 'user' : 'assistant',
  content,
  tokenCount,
});

describe(takeBatch.name, () => {
  it('should take the oldest messages whose lines fit the budget', () => {
    const messages = [message(0, 'a', 10), message(1, 'b', 10), message(2, 'c', 10)];
    const batch = takeBatch(messages, 2 * (10 + SUMMARY_LINE_OVERHEAD));
    expect(batch.map((m) => m.seq)).toEqual([0, 1]);
  });

  it('should cut a message longer than the budget rather than never move on', () => {
    const batch = takeBatch([message(0, 'x'.repeat(4000), 1000)], 100);
    expect(batch).toHaveLength(1);
    expect(batch[0].content).toHaveLength(25);
  });
});

describe(summaryRequest.name, () => {
  it('should give the current summary and the new messages as role-prefixed lines', () => {
    const [system, user] = summaryRequest('user: I live in Lisbon.', [
      message(4, 'My name is Ada.', 5),
      message(5, 'Hello Ada.', 4),
    ]);
    expect(system.role).toBe('system');
    expect(user.content).toBe(
      'Current summary:\nuser: I live in Lisbon.\n\nNew messages:\nuser: My name is Ada.\nassistant: Hello Ada.',
    );
    expect(summaryRequest(null, [])[1].content).toContain('(none yet)');
  });
});

describe(fitSummary.name, () => {
  it('should keep a summary within budget as it is, and cut a longer one to fit', async () => {
    expect(await fitSummary('user: short.', 50)).toEqual({
      content: 'user: short.',
      tokenCount: countTokensConservatively('user: short.'),
    });
    const long = Array.from({ length: 200 }, (_, i) => `user: fact number ${i}`).join('\n');
    const fitted = await fitSummary(long, 100);
    expect(fitted.tokenCount).toBeLessThanOrEqual(100);
    expect(fitted.tokenCount).toBeGreaterThan(80);
    expect(long.startsWith(fitted.content)).toBe(true);
  });
});
