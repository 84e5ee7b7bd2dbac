import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');
const DOCS = path.join(ROOT, 'docs');

/** README.md and every chapter under docs/, as paths relative to the repository. */
const pages = [
  'README.md',
  ...readdirSync(DOCS)
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];
const read = (page: string): string => readFileSync(path.join(ROOT, page), 'utf8');
const allPages = (): string => pages.map(read).join('\n');

function section(page: string, title: string): string {
  const text = read(page);
  const start = text.indexOf(`\n${title}\n`);
  if (start < 0) throw new Error(`${page} has no section "${title}"`);
  const next = text.indexOf('\n#', start + title.length + 2);
  return text.slice(start, next < 0 ? undefined : next);
}

function codeBlocks(text: string, language: string): string[] {
  return [...text.matchAll(new RegExp('```' + language + '\\n([\\s\\S]*?)```', 'g'))].map(
    (m) => m[1],
  );
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens. */
function anchors(text: string): Set<string> {
  const withoutCode = text.replace(/```[\s\S]*?```/g, '');
  return new Set(
    [...withoutCode.matchAll(/^#{1,6} (.+)$/gm)].map((m) =>
      m[1]
        .trim()
        .toLowerCase()
        .replace(/[^\p{L}\p{N}\s_-]/gu, '')
        .replace(/\s/g, '-'),
    ),
  );
}

/** Every `[text](target)` outside code, with its line. */
function relativeLinks(text: string): { target: string; line: number }[] {
  const links: { target: string; line: number }[] = [];
  let inCode = false;
  text.split('\n').forEach((line, i) => {
    if (line.startsWith('```')) inCode = !inCode;
    if (inCode) return;
    for (const m of line.replace(/`[^`]*`/g, '').matchAll(/\]\(([^)\s]+)\)/g)) {
      if (!/^[a-z]+:/i.test(m[1])) links.push({ target: m[1], line: i + 1 });
    }
  });
  return links;
}

/** What a newcomer follows step by step must work as written. */
describe('README and docs/', () => {
  it('should keep the README a front door of at most 250 lines', () => {
    const lines = read('README.md').split('\n').length;
    expect(lines).toBeLessThanOrEqual(250);
  });

  it('should point every relative link at a file, and a heading, that exists', () => {
    const broken: string[] = [];
    for (const page of pages) {
      for (const { target, line } of relativeLinks(read(page))) {
        const [file, anchor] = target.split('#');
        const resolved = file
          ? path.resolve(ROOT, path.dirname(page), file)
          : path.join(ROOT, page);
        if (!existsSync(resolved)) {
          broken.push(`${page}:${line}: ${target} (no such file)`);
        } else if (anchor && statSync(resolved).isFile() && resolved.endsWith('.md')) {
          if (!anchors(readFileSync(resolved, 'utf8')).has(anchor))
            broken.push(`${page}:${line}: ${target} (no heading #${anchor})`);
        }
      }
    }
    expect(broken).toEqual([]);
  });

  it('should say in the Quick start that the browser test needs Chromium', () => {
    expect(section('README.md', '## Quick start')).toMatch(/Chromium/);
  });

  it('should show the JWT secret it generates, so that tokens can be signed with it', () => {
    const jwt = codeBlocks(read('docs/authentication.md'), 'bash').find((block) =>
      block.includes('AUTH_MODE=jwt'),
    );
    expect(jwt).toBeDefined();
    expect(jwt).not.toContain('<same secret>');
    expect(jwt).toMatch(/export JWT_SECRET=/);
    expect(jwt).toMatch(/echo "\$JWT_SECRET"/);
  });

  it('should declare every element its browser snippets write into', () => {
    const blocks = codeBlocks(allPages(), 'js').filter((b) => b.includes('output.'));
    expect(blocks.length).toBeGreaterThan(0);
    for (const block of blocks) expect(block).toMatch(/const output = /);
  });

  it('should close an EventSource when the turn completes', () => {
    const block = codeBlocks(read('docs/frontend.md'), 'js').find((b) =>
      b.includes('new EventSource'),
    );
    expect(block).toMatch(/addEventListener\('message\.completed', \(\) => events\.close\(\)\)/);
  });

  it('should list the error codes a client meets, provider_not_configured among them', () => {
    const errors = section('docs/api.md', '## Errors');
    for (const code of [
      'provider_not_configured',
      'unsupported_media_type',
      'database_unavailable',
      'shutting_down',
    ])
      expect(errors).toContain(`\`${code}\``);
  });
});
