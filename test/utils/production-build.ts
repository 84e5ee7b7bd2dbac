import { ChildProcess, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
} from 'node:fs';
import path from 'node:path';

const REPOSITORY = path.resolve(__dirname, '..', '..');
/** Builds live where npm tools keep caches: per checkout, gone with the next `npm ci`. */
const CACHE = path.join(REPOSITORY, 'node_modules', '.cache', 'production-build');
/** What the compiled output depends on. */
const INPUTS = ['src', 'tsconfig.json', 'tsconfig.build.json', 'package-lock.json'];
/** What the build reads relative to its own directory at run time (migrations); packages are
 * found by walking up to the repository's node_modules. */
const LINKED = ['scripts', 'prisma', 'prisma.config.ts', 'package.json'];

/**
 * The production build (`tsc -p tsconfig.build.json`), compiled outside the developer's
 * dist/ into a directory laid out like the repository: `dist/` beside links to what it
 * reads from there. Builds are kept by a hash of their inputs, so a run with unchanged
 * sources reuses the last one instead of compiling again. Compiling takes a while: start
 * it early and await `ready()` where it is needed.
 */
export class ProductionBuild {
  /** The stand-in repository root; run `node dist/main.js` from here. */
  readonly root = path.join(CACHE, hashInputs());
  private readonly built: Promise<void>;
  private compiler?: ChildProcess;

  private constructor() {
    this.built = existsSync(this.main) ? Promise.resolve() : this.build();
    // Observed by ready(); without this an unawaited failure would crash the worker.
    this.built.catch(() => undefined);
  }

  static start(): ProductionBuild {
    return new ProductionBuild();
  }

  get main(): string {
    return path.join(this.root, 'dist', 'main.js');
  }

  /** Resolves once compiled; rejects with the compiler's output when it failed. */
  ready(): Promise<void> {
    return this.built;
  }

  /** Stops a compile still running (its half-written directory is deleted). */
  stop(): void {
    this.compiler?.kill('SIGKILL');
  }

  private async build(): Promise<void> {
    const staging = `${this.root}.${randomBytes(4).toString('hex')}.tmp`;
    mkdirSync(staging, { recursive: true });
    try {
      for (const name of LINKED) symlinkSync(path.join(REPOSITORY, name), path.join(staging, name));
      await this.compile(path.join(staging, 'dist'));
      for (const old of readdirSync(CACHE).filter((name) => !name.endsWith('.tmp')))
        rmSync(path.join(CACHE, old), { recursive: true, force: true });
      // A concurrent run may have finished the same build first; either copy will do.
      if (!existsSync(this.main)) renameSync(staging, this.root);
    } finally {
      rmSync(staging, { recursive: true, force: true });
    }
  }

  private compile(outDir: string): Promise<void> {
    const tsc = require.resolve('typescript/bin/tsc');
    const args = [tsc, '-p', 'tsconfig.build.json', '--outDir', outDir];
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

function hashInputs(): string {
  const hash = createHash('sha256');
  for (const input of INPUTS) {
    const full = path.join(REPOSITORY, input);
    const files = statSync(full).isDirectory()
      ? readdirSync(full, { recursive: true, withFileTypes: true })
          .filter((entry) => entry.isFile())
          .map((entry) => path.join(entry.parentPath, entry.name))
          .sort()
      : [full];
    for (const file of files)
      hash.update(path.relative(REPOSITORY, file)).update(readFileSync(file));
  }
  return hash.digest('hex').slice(0, 16);
}
