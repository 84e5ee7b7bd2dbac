import { readFileSync } from 'node:fs';
import path from 'node:path';

const scripts = (
  JSON.parse(readFileSync(path.resolve(__dirname, '..', '..', 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
  }
).scripts;

describe('npm scripts', () => {
  it('should start without deleting dist/, which a running server still uses', () => {
    for (const name of ['start', 'start:dev']) {
      expect(scripts[name]).not.toMatch(/npm run( -s)? build\b|rmSync|rm -rf/);
      expect(scripts[name]).toMatch(/^npm run -s compile && /);
    }
    // Incremental: unchanged sources are not even rewritten, so a watcher is not disturbed.
    expect(scripts.compile).toMatch(/--incremental --tsBuildInfoFile dist\/\.tsbuildinfo/);
  });
});
