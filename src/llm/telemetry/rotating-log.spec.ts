import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { RotatingLog } from './rotating-log';

describe(RotatingLog.name, () => {
  it('should drop, and count, the lines beyond its queue instead of holding them', async () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'rotating-log-')), 'a.jsonl');
    const log = new RotatingLog({
      path: file,
      maxBytes: 1024 * 1024,
      keep: 1,
      maxQueuedBytes: 100,
      onError: () => undefined,
    });
    // All in one tick: nothing reaches the disk in between, so the queue fills.
    const kept = Array.from({ length: 10 }, (_, i) => log.append(`line ${i} ${'x'.repeat(30)}`));
    await log.close();
    expect(kept.filter(Boolean).length).toBeLessThan(10);
    expect(log.dropped).toBe(kept.filter((ok) => !ok).length);
    expect(readFileSync(file, 'utf8').split('\n').filter(Boolean)).toHaveLength(10 - log.dropped);
  });
});
