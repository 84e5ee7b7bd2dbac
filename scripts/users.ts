/**
 * Manages AUTH_MODE=local accounts straight in the database, also while registration is
 * closed. Reads the same configuration as the server (environment, then .env):
 *   npm run users -- create alice          (asks for the password, or reads it from stdin)
 *   printf '%s' "$PASSWORD" | npm run users -- create alice
 *   npm run users -- delete alice          (revokes its refresh tokens; its conversations stay)
 *   npm run users -- adopt alice [--from local]   (hands owner local's conversations to alice)
 * With the embedded database, use it while the server runs, or on its own (it starts it).
 */
import { parseArgs } from 'node:util';

import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import pino from 'pino';

import { CredentialsDto } from '../src/auth/local/dto/credentials.dto';
import { LOCAL_OWNER } from '../src/auth/current-owner.decorator';
import { PasswordHasher } from '../src/auth/local/password-hasher';
import { UsersRepository } from '../src/auth/local/users.repository';
import { readPassword } from '../src/cli/password-prompt';
import { AppException } from '../src/common/errors/app.exception';
import { AppConfig } from '../src/config/app-config';
import { Env, loadEnv } from '../src/config/env';
import { loadEnvFile } from '../src/config/env-file';
import { Db } from '../src/database/db';
import { EmbeddedDatabase } from '../src/database/embedded-database';
import {
  EMBEDDED_DB_NAME,
  prepareDatabase,
  PreparedDatabase,
} from '../src/database/prepare-database';
import { PrismaService } from '../src/database/prisma.service';

const USAGE =
  'usage: npm run users -- create <username> | delete <username> | adopt <username> [--from <owner>]';

const asIs = (url: string): PreparedDatabase => ({
  url,
  description: url,
  stop: () => Promise.resolve(),
});

/**
 * The server's database: DATABASE_URL (migrated by the server's first start), the running
 * embedded one, or the embedded one started and migrated as the server would.
 */
function openDatabase(env: Env): Promise<PreparedDatabase> {
  if (env.DATABASE_URL) return Promise.resolve(asIs(env.DATABASE_URL));
  const embedded = new EmbeddedDatabase({
    dataDir: env.EMBEDDED_DB_DIR,
    port: env.EMBEDDED_DB_PORT,
  });
  if (embedded.runningPid() !== undefined)
    return Promise.resolve(asIs(embedded.url(EMBEDDED_DB_NAME)));
  return prepareDatabase(env, pino({ level: 'warn' }));
}

/** Says what to do when the tables are not there yet. */
function explain(error: unknown): unknown {
  if ((error as { code?: unknown }).code === '42P01')
    return new Error('the database has no users table yet: start the server once (it migrates)');
  return error;
}

function checkCredentials(username: string, password: string): void {
  const errors = validateSync(plainToInstance(CredentialsDto, { username, password }));
  const reasons = errors.flatMap((error) => Object.values(error.constraints ?? {}));
  if (reasons.length > 0) throw new Error(reasons.join('; '));
}

async function main(): Promise<void> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: { from: { type: 'string', default: LOCAL_OWNER } },
  });
  const [command, username] = positionals;
  if (!['create', 'delete', 'adopt'].includes(command) || !username || positionals.length > 2)
    throw new Error(USAGE);
  const password = command === 'create' ? await readPassword({ confirm: true }) : '';
  if (command === 'create') checkCredentials(username, password);
  loadEnvFile();
  const env = loadEnv(process.env);
  const database = await openDatabase(env);
  const prisma = new PrismaService(new AppConfig(env, database.url));
  try {
    const users = new UsersRepository(new Db(prisma));
    if (command === 'create') {
      const user = await users.create(username, await new PasswordHasher().hash(password));
      process.stdout.write(`created ${user.username} (id ${user.id})\n`);
    } else if (command === 'adopt') {
      const moved = await users.adoptConversations(username, values.from);
      if (moved === undefined) throw new Error(`no user named ${username}`);
      process.stdout.write(`handed ${moved} conversation(s) of ${values.from} to ${username}\n`);
    } else if (await users.delete(username)) {
      process.stdout.write(`deleted ${username}\n`);
    } else {
      throw new Error(`no user named ${username}`);
    }
  } catch (error) {
    throw explain(error);
  } finally {
    await prisma.pool.end();
    await database.stop();
  }
}

main().catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`${error instanceof AppException ? error.code : 'error'}: ${message}\n`);
  process.exit(1);
});
