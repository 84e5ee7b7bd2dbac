/**
 * What a rolling summary costs per message it folds. A service started for this scenario
 * with SUMMARIES=on (the A servers run with summaries off, so the other scenarios measure
 * turns alone) gets one turn on each conversation seeded in SQL with 250 messages of 100
 * tokens (as counted when stored): the 8k window holds about 55, so the turn leaves about
 * 195 out and starts a job that folds them in rounds of about 70 (one upstream call each,
 * the FakeLlmServer answering at once). Measured from the reply to the job's end (the
 * conversation's summary lease released): wall time and the server's CPU time, each per
 * message folded. The floor writes no summaries: nothing to compare with.
 */
import { setTimeout as sleep } from 'node:timers/promises';

import { createLongConversation, summaryState } from '../lib/database';
import { cpuMs } from '../lib/processes';
import { progress } from '../lib/progress';
import { ms, num, reportRow, Row } from '../lib/report';
import { Bench, defineScenario } from '../lib/scenario';
import type { Target } from '../lib/servers';
import { summarize } from '../lib/stats';
import { postJson, turnPath } from '../lib/turns';

const SEEDED_MESSAGES = 250;
const SEEDED_TOKENS = 100;
const POLL_MS = 2;
const JOB_TIMEOUT_MS = 60_000;

interface SummaryConfig {
  summaryJobs: number;
}

interface Job {
  folded: number;
  wallMs: number;
  cpuMs: number;
}

export const summary = defineScenario<SummaryConfig>({
  name: 'summary',
  summary: 'the rolling summary job: wall and CPU time per message folded',
  config: { full: { summaryJobs: 10 }, smoke: { summaryJobs: 1 } },
  settings: (config) => [
    `summary: ${config.summaryJobs} jobs, each after one turn on ${SEEDED_MESSAGES} seeded messages of ${SEEDED_TOKENS} tokens`,
  ],
  async run(bench, config) {
    const target = await bench.servers.service('service-summary', bench.upstreams.fake, {
      env: { SUMMARIES: 'on' },
    });
    const jobs: Job[] = [];
    try {
      for (let i = 0; i < config.summaryJobs; i++) jobs.push(await measureJob(bench, target));
    } finally {
      await bench.servers.stop(target);
    }
    progress('summary jobs done');
    return { rows: summaryRows(jobs), figures: jobs };
  },
});

/** One turn that leaves messages out, then its summary job from the reply to the job's end. */
async function measureJob(bench: Bench, target: Target): Promise<Job> {
  const id = await createLongConversation(target.pool, SEEDED_MESSAGES, SEEDED_TOKENS);
  const url = `${target.origin}${turnPath(id)}`;
  const reply = await postJson(url, { message: 'summary probe' }, bench.agents.service);
  if (reply.status !== 201) throw new Error(`summary probe turn answered ${reply.status}`);
  const started = performance.now();
  const cpuBefore = cpuMs(target.child.pid);
  const deadline = started + JOB_TIMEOUT_MS;
  for (;;) {
    const state = await summaryState(target.pool, id);
    if (state.folded > 0 && !state.leased) {
      return {
        folded: state.folded,
        wallMs: performance.now() - started,
        cpuMs: cpuMs(target.child.pid) - cpuBefore,
      };
    }
    if (performance.now() > deadline) throw new Error('the summary job did not finish in time');
    await sleep(POLL_MS);
  }
}

function summaryRows(jobs: Job[]): Row[] {
  const folded = jobs.reduce((sum, j) => sum + j.folded, 0);
  const wall = summarize(jobs.map((j) => j.wallMs / j.folded));
  const cpu = jobs.reduce((sum, j) => sum + j.cpuMs, 0) / folded;
  return [
    reportRow('summary job: messages folded per job', num(folded / jobs.length), '—', ''),
    reportRow('summary job: wall time per message folded, p50', ms(wall.p50), '—', ''),
    reportRow('summary job: server CPU per message folded', ms(cpu), '—', ''),
  ];
}
