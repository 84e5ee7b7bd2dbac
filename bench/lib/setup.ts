import type { Flags } from './flags';
import { createConversations } from './database';
import { runLoad, streamTurn } from './load';
import { freePort } from './processes';
import type { Bench } from './scenario';
import { DATABASES, Servers } from './servers';
import type { Session } from './session';
import { DIRECT_BODY, keepAliveAgent, SEED_HISTORY, streamUrl, TURN_BODY, turnPath } from './turns';
import { stampMessage } from '../stamp-upstream';

export interface Started {
  bench: Bench;
  /** PostgreSQL's version, for the machine description. */
  pgVersion: string;
}

/**
 * Starts what every scenario uses: PostgreSQL with one database per kind of server, the
 * upstreams, and two pairs of servers (service and floor): A on the FakeLlmServer, B on the
 * chunk-stamping upstream with an idle inspector (their memory is measured).
 */
export async function setUp(
  session: Session,
  flags: Flags,
  profileDir: string | undefined,
): Promise<Started> {
  const db = await session.startDatabase(Object.values(DATABASES));
  const pools = {
    service: session.pool(db.url(DATABASES.service)),
    floor: session.pool(db.url(DATABASES.floor)),
  };
  const adminPool = session.pool(db.url('postgres'));
  const pgVersion = (
    await adminPool.query<{ v: string }>("SELECT current_setting('server_version') AS v")
  ).rows[0].v;
  const servers = new Servers(session.children, {
    work: session.work,
    db,
    pools,
    profileDir,
    serviceNodeFlags: flags.serviceNodeFlags,
  });
  const upstreams = await servers.upstreams(flags.latencyMs, flags.tokenDelayMs);
  const [serviceA, floorA, serviceB, floorB] = await Promise.all([
    servers.service('service-a', upstreams.fake),
    servers.floor('floor-a', upstreams.fake),
    servers.service('service-b', upstreams.stamp, { inspectPort: await freePort() }),
    servers.floor('floor-b', upstreams.stamp, { inspectPort: await freePort() }),
  ]);
  const bench: Bench = {
    upstreams,
    a: { service: serviceA, floor: floorA },
    b: { service: serviceB, floor: floorB },
    agents: { service: keepAliveAgent(), floor: keepAliveAgent(), direct: keepAliveAgent() },
    adminPool,
    servers,
    flags,
  };
  return { bench, pgVersion };
}

/** Warm-up, not recorded: JIT, pools, keep-alive connections, on every server and upstream. */
export async function warmUp(bench: Bench, warmupSec: number): Promise<void> {
  for (const target of [bench.a.service, bench.a.floor]) {
    const conversations = await createConversations(target.pool, 64, SEED_HISTORY);
    const warm = await runLoad({
      origin: target.origin,
      connections: 16,
      durationSec: warmupSec,
      body: TURN_BODY,
      path: turnPath,
      conversations,
    });
    target.served += warm.latencies.length + 20;
    const options = { agent: bench.agents[target.name], protocol: 'service' } as const;
    for (let i = 0; i < 20; i++) {
      await streamTurn(streamUrl(target, conversations[i]), { message: 'warm' }, options);
    }
  }
  await runLoad({
    origin: bench.upstreams.fake,
    connections: 16,
    durationSec: warmupSec,
    body: JSON.stringify(DIRECT_BODY),
    path: '/v1/chat/completions',
  });
  for (const target of [bench.b.service, bench.b.floor]) {
    const conversations = await createConversations(target.pool, 4, 0);
    const message = stampMessage({ chunks: 20, delayMs: 2 });
    const options = { agent: bench.agents[target.name], protocol: 'service' } as const;
    await Promise.all(
      conversations.map((id) => streamTurn(streamUrl(target, id), { message }, options)),
    );
    target.served += conversations.length;
  }
}
