import { readFileSync } from 'node:fs';
import path from 'node:path';

const README = readFileSync(path.resolve(__dirname, '..', '..', 'README.md'), 'utf8');

function section(title: string): string {
  const start = README.indexOf(`\n${title}\n`);
  if (start < 0) throw new Error(`README has no section "${title}"`);
  const next = README.indexOf('\n#', start + title.length + 2);
  return README.slice(start, next < 0 ? undefined : next);
}

function codeBlocks(language: string): string[] {
  return [...README.matchAll(new RegExp('```' + language + '\\n([\\s\\S]*?)```', 'g'))].map(
    (m) => m[1],
  );
}

/** What a newcomer follows step by step must work as written. */
describe('README', () => {
  it('should say in the Quick start that the browser test needs Chromium', () => {
    expect(section('## Quick start')).toMatch(/Chromium/);
  });

  it('should show the JWT secret it generates, so that tokens can be signed with it', () => {
    const jwt = codeBlocks('bash').find((block) => block.includes('AUTH_MODE=jwt'));
    expect(jwt).toBeDefined();
    expect(jwt).not.toContain('<same secret>');
    expect(jwt).toMatch(/export JWT_SECRET=/);
    expect(jwt).toMatch(/echo "\$JWT_SECRET"/);
  });

  it('should declare every element its browser snippets write into', () => {
    for (const block of codeBlocks('js').filter((b) => b.includes('output.'))) {
      expect(block).toMatch(/const output = /);
    }
  });

  it('should close an EventSource when the turn completes', () => {
    const block = codeBlocks('js').find((b) => b.includes('new EventSource'));
    expect(block).toMatch(/addEventListener\('message\.completed', \(\) => events\.close\(\)\)/);
  });

  it('should list the error codes a client meets, provider_not_configured among them', () => {
    const errors = section('### Errors');
    for (const code of [
      'provider_not_configured',
      'unsupported_media_type',
      'database_unavailable',
      'shutting_down',
    ])
      expect(errors).toContain(`\`${code}\``);
  });
});
