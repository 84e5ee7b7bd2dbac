import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const REPOSITORY = path.resolve(__dirname, '..', '..');
/** What the build reads relative to its own directory at run time (migrations, packages). */
const LINKED = ['node_modules', 'scripts', 'prisma', 'prisma.config.ts', 'package.json'];

/**
 * The production build (`tsc -p tsconfig.build.json`) compiled into a throw-away directory
 * laid out like the repository: `dist/` beside links to what it reads from there. The
 * developer's own dist/ is never touched. Compiling starts at once and takes a while, so
 * start it early and await `ready()` where it is needed.
 */
export class ProductionBuild {
  /** The stand-in repository root; run `node dist/main.js` from here. */
  readonly root = mkdtempSync(path.join(os.tmpdir(), 'chat-build-'));
  private readonly compiled: Promise<void>;
  private compiler?: ChildProcess;

  private constructor() {
    for (const name of LINKED) symlinkSync(path.join(REPOSITORY, name), path.join(this.root, name));
    this.compiled = this.compile();
    // Observed by ready(); without this an unawaited failure would crash the worker.
    this.compiled.catch(() => undefined);
  }

  static start(): ProductionBuild {
    return new ProductionBuild();
  }

  get main(): string {
    return path.join(this.root, 'dist', 'main.js');
  }

  /** Resolves once compiled; rejects with the compiler's output when it failed. */
  ready(): Promise<void> {
    return this.compiled;
  }

  /** Stops a compile still running and deletes the directory (the links, not their targets). */
  remove(): void {
    this.compiler?.kill('SIGKILL');
    rmSync(this.root, { recursive: true, force: true });
  }

  private compile(): Promise<void> {
    const tsc = require.resolve('typescript/bin/tsc');
    const args = [tsc, '-p', 'tsconfig.build.json', '--outDir', path.join(this.root, 'dist')];
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, args, {
        cwd: REPOSITORY,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      this.compiler = child;
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.on('error', reject);
      child.on('close', (code) => {
        this.compiler = undefined;
        if (code === 0) resolve();
        else reject(new Error(`tsc -p tsconfig.build.json failed (exit ${code}):\n${output}`));
      });
    });
  }
}
