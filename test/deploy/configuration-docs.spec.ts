import { readFileSync } from 'node:fs';
import path from 'node:path';

import { Env } from '../../src/config/env';

const ROOT = path.resolve(__dirname, '..', '..');
const read = (file: string): string => readFileSync(path.join(ROOT, file), 'utf8');

// The same list loadEnv reads: every field of Env, optional ones included.
const variables = Object.keys(new Env()).sort();

/** The variables of `names` that `file` does not mention as `pattern(name)`. */
function missingFrom(file: string, pattern: (name: string) => RegExp): string[] {
  const text = read(file);
  return variables.filter((name) => !pattern(name).test(text));
}

describe('configuration docs', () => {
  it('should read the variables from the env schema', () => {
    expect(variables).toEqual(expect.arrayContaining(['PORT', 'DATABASE_URL', 'AUTH_MODE']));
  });

  it('should document every variable of src/config/env.ts in docs/configuration.md', () => {
    // A row of its table: | `NAME` | meaning | default |
    const missing = missingFrom(
      'docs/configuration.md',
      (name) => new RegExp(`^\\|\\s*\`${name}\``, 'm'),
    );
    expect(
      missing.map(
        (name) =>
          `${name} is read by src/config/env.ts but has no row in docs/configuration.md: ` +
          `add "| \`${name}\` | meaning | default |" to the table of its theme`,
      ),
    ).toEqual([]);
  });

  it('should list every variable of src/config/env.ts in .env.example', () => {
    // Set, or shown commented out: NAME=value or # NAME=value
    const missing = missingFrom('.env.example', (name) => new RegExp(`^#? ?${name}=`, 'm'));
    expect(
      missing.map(
        (name) =>
          `${name} is read by src/config/env.ts but missing from .env.example: ` +
          `add "${name}=<default>" (or "# ${name}=<example>" when it has no default)`,
      ),
    ).toEqual([]);
  });

  it('should document no variable that src/config/env.ts does not read', () => {
    const table = read('docs/configuration.md').split('\n## Read by other programs')[0];
    const documented = [...table.matchAll(/^\|\s*`([A-Z][A-Z0-9_]*)`/gm)].map((m) => m[1]);
    const unknown = documented.filter((name) => !variables.includes(name));
    expect(
      unknown.map(
        (name) =>
          `docs/configuration.md documents ${name}, which src/config/env.ts does not read: ` +
          `remove its row, or move it under "Read by other programs"`,
      ),
    ).toEqual([]);
  });
});
