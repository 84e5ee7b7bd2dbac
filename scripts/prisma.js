#!/usr/bin/env node
// Runs the Prisma CLI offline. Prisma 6.19 looks for native engine binaries and tries to
// download them unless these variables name an existing file; with the wasm schema
// engine and the driver adapter (prisma.config.ts) neither binary is ever executed.
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const env = { ...process.env };
env.PRISMA_QUERY_ENGINE_LIBRARY ??= process.execPath;
env.PRISMA_SCHEMA_ENGINE_BINARY ??= process.execPath;
env.PRISMA_HIDE_UPDATE_MESSAGE ??= '1';
// No update check: it waits ~10 s for a host these machines cannot reach.
env.CHECKPOINT_DISABLE ??= '1';
// The 6.x CLI insists on a URL even for commands that never connect (generate).
env.DATABASE_URL ??= 'postgresql://unused@localhost:5432/unused';

// Generators (prisma-kysely) are looked up on PATH, as `npm run` would set it.
env.PATH = `${path.join(__dirname, '..', 'node_modules', '.bin')}${path.delimiter}${env.PATH ?? ''}`;

const cli = require.resolve('prisma/build/index.js');
const result = spawnSync(process.execPath, [cli, ...process.argv.slice(2)], {
  stdio: 'inherit',
  env,
});
process.exit(result.status ?? 1);
