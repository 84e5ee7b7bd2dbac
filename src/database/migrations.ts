import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

const PRISMA_WRAPPER = path.join('scripts', 'prisma.js');

/** The package root (prisma/, prisma.config.ts), wherever the compiled code was put. */
function packageRoot(from = __dirname): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, PRISMA_WRAPPER))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`${PRISMA_WRAPPER} not found above ${from}`);
  }
}

/** The CLI's last line on success, whether or not there was anything to apply. */
const DONE = /All migrations have been successfully applied|No pending migrations to apply/;
/**
 * Prisma 6.19's wasm engine leaves a 10 s timer running after the work is done, so the
 * CLI lingers before exiting. Once it has said it is done, it is stopped after this grace.
 */
const LINGER_GRACE_MS = 500;

/**
 * Applies pending migrations with `prisma migrate deploy` (the CLI's wasm engine, no
 * downloads). Resolves with the CLI's output; rejects with it when the CLI fails. `root`
 * holds prisma/, prisma.config.ts and the CLI wrapper (this package's, unless named).
 */
export function applyMigrations(databaseUrl: string, root = packageRoot()): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(root, PRISMA_WRAPPER), 'migrate', 'deploy'], {
      cwd: root,
      env: { ...process.env, DATABASE_URL: databaseUrl },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let output = '';
    let done = false;
    let grace: NodeJS.Timeout | undefined;
    const collect = (chunk: Buffer): void => {
      output += chunk.toString();
      if (!done && DONE.test(output)) {
        done = true;
        // The wrapper and the CLI it spawned form one process group: stop both.
        grace = setTimeout(() => child.pid && process.kill(-child.pid, 'SIGTERM'), LINGER_GRACE_MS);
      }
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(grace);
      if (code === 0 || done) resolve(output);
      else reject(new Error(`prisma migrate deploy failed (exit ${code}):\n${output}`));
    });
  });
}
