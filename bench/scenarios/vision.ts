/**
 * What a 1 MB image attached to a turn costs the service. A service of its own with a
 * vision alias (a MODELS_FILE on the fake upstream); sequential whole-reply turns at
 * concurrency 1, each on a fresh conversation so no earlier image rides along: with the
 * uploaded image attached and without it, and the same two requests sent directly to the
 * upstream (which then receives and decodes the same data URL). The image's added cost is
 * (service − direct with the image) − (service − direct without); the floor is what the
 * service cannot avoid, base64-encoding the 1 MB, timed in this process in the same
 * rounds. Target: added cost − floor ≤ 2 ms. The same difference in the service's CPU time
 * per turn (against the encoding's own CPU time) is reported too: on a loaded machine wall
 * times swing by more than the target, CPU time much less.
 */
import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { PNG_1X1 } from '../../test/utils/files';
import { cpuMs } from '../lib/processes';
import { progress } from '../lib/progress';
import { ms, Row } from '../lib/report';
import { defineScenario } from '../lib/scenario';
import { verdict } from '../lib/series';
import type { Target } from '../lib/servers';
import { median, rotate, summarize } from '../lib/stats';
import { keepAliveAgent, MODEL, postJson, SYSTEM_MESSAGE } from '../lib/turns';

const ALIAS = 'bench/vision';
const IMAGE_BYTES = 1024 * 1024;
const TARGET_MS = 2;
const TEXT = 'What is in this picture?';

interface VisionConfig {
  visionTurns: number;
}

const KINDS = ['image', 'text', 'directImage', 'directText', 'base64'] as const;
type Kind = (typeof KINDS)[number];
/** A kind's round: its p50 latency, and CPU ms per request of the process serving it. */
interface Stat {
  p50: number;
  cpuMs: number;
}
type Round = Record<Kind, Stat>;

/** A PNG header, then random bytes: sniffed as PNG, nothing compresses or deduplicates. */
const benchImage = (): Buffer =>
  Buffer.concat([PNG_1X1, randomBytes(IMAGE_BYTES - PNG_1X1.length)]);

export const vision = defineScenario<VisionConfig>({
  name: 'vision',
  summary: 'a turn with a 1 MB image to a vision alias: its cost over base64-encoding it',
  config: { full: { visionTurns: 30 }, smoke: { visionTurns: 3 } },
  settings: (config) => [
    `vision: ${config.visionTurns} turns per kind and round, a ${IMAGE_BYTES / 1024} KiB PNG on ${ALIAS}`,
  ],
  async run(bench, config) {
    const modelsFile = path.join(os.tmpdir(), `bench-vision-${process.pid}.json`);
    writeFileSync(
      modelsFile,
      JSON.stringify({
        models: [
          { alias: ALIAS, provider: 'lmstudio', model: MODEL, contextWindow: 8192, vision: true },
        ],
      }),
    );
    const target = await bench.servers.service('service-vision', bench.upstreams.fake, {
      env: { MODELS_FILE: modelsFile },
    });
    const rounds: Round[] = [];
    try {
      const image = benchImage();
      const turns = new Turns(target, bench.upstreams.fake, image, await upload(target, image));
      await turns.warmUp();
      for (let round = 0; round < config.rounds; round++)
        rounds.push(await turns.round(round, config.visionTurns));
    } finally {
      await bench.servers.stop(target);
      rmSync(modelsFile, { force: true });
    }
    progress('vision done');
    return { rows: visionRows(rounds), figures: rounds };
  },
});

/** The five kinds of request, each timed as the p50 of a round's sequential turns. */
class Turns {
  private readonly agent = keepAliveAgent();
  private readonly directImage: object;
  private readonly directText: object;

  constructor(
    private readonly target: Target,
    private readonly upstream: string,
    private readonly image: Buffer,
    private readonly fileId: string,
  ) {
    const url = `data:image/png;base64,${image.toString('base64')}`;
    const parts = [
      { type: 'text', text: TEXT },
      { type: 'image_url', image_url: { url } },
    ];
    this.directImage = direct(parts);
    this.directText = direct(TEXT);
  }

  async warmUp(): Promise<void> {
    for (const kind of KINDS) await this.measure(kind, 3);
  }

  async round(round: number, turns: number): Promise<Round> {
    const result = {} as Round;
    for (const kind of rotate(KINDS, round)) result[kind] = await this.measure(kind, turns);
    return result;
  }

  private async measure(kind: Kind, turns: number): Promise<Stat> {
    const cpu = this.cpuClock(kind);
    const before = cpu();
    const times: number[] = [];
    for (let i = 0; i < turns; i++) times.push(await this.once(kind));
    return { p50: summarize(times).p50, cpuMs: (cpu() - before) / turns };
  }

  /** Whose CPU a kind spends: the service's, this process's for the encoding, else none. */
  private cpuClock(kind: Kind): () => number {
    const pid = this.target.child.pid;
    if (kind === 'image' || kind === 'text') return () => cpuMs(pid);
    // System time too: a new 1.4 MB string's pages fault in, as the service's would.
    if (kind === 'base64') return () => total(process.cpuUsage()) / 1000;
    return () => Number.NaN;
  }

  private async once(kind: Kind): Promise<number> {
    if (kind === 'base64') {
      const started = performance.now();
      const encoded = this.image.toString('base64');
      const elapsed = performance.now() - started;
      if (encoded.length === 0) throw new Error('empty base64');
      return elapsed;
    }
    if (kind === 'directImage' || kind === 'directText') {
      const body = kind === 'directImage' ? this.directImage : this.directText;
      return checked(await postJson(`${this.upstream}/v1/chat/completions`, body, this.agent));
    }
    const id = await this.conversation();
    const body =
      kind === 'image' ? { message: TEXT, attachments: [this.fileId] } : { message: TEXT };
    const url = `${this.target.origin}/api/v1/conversations/${id}/messages`;
    return checked(await postJson(url, body, this.agent));
  }

  private async conversation(): Promise<string> {
    const res = await fetch(`${this.target.origin}/api/v1/conversations`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ model: ALIAS }),
    });
    if (res.status !== 201) throw new Error(`conversation: ${res.status} ${await res.text()}`);
    return ((await res.json()) as { id: string }).id;
  }
}

const total = ({ user, system }: NodeJS.CpuUsage): number => user + system;

const direct = (content: unknown): object => ({
  model: MODEL,
  max_tokens: 1024,
  messages: [SYSTEM_MESSAGE, { role: 'user', content }],
});

function checked({ status, ms: elapsed }: { status: number; ms: number }): number {
  if (status >= 300) throw new Error(`vision turn answered ${status}`);
  return elapsed;
}

async function upload(target: Target, image: Buffer): Promise<string> {
  const form = new FormData();
  form.append('file', new Blob([image]), 'bench.png');
  const res = await fetch(`${target.origin}/api/v1/files`, { method: 'POST', body: form });
  if (res.status !== 201) throw new Error(`upload: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { id: string }).id;
}

function visionRows(rounds: Round[]): Row[] {
  const of = (kind: Kind, key: keyof Stat = 'p50'): number =>
    median(rounds.map((r) => r[kind][key]));
  const added = of('image') - of('directImage') - (of('text') - of('directText'));
  const floor = of('base64');
  const addedCpu = of('image', 'cpuMs') - of('text', 'cpuMs');
  const floorCpu = of('base64', 'cpuMs');
  const row = (figure: string, service: string, floorCell: string, directCell: string): Row => ({
    figure,
    service,
    floor: floorCell,
    direct: directCell,
    ratio: '',
    target: 'report',
    result: 'report',
  });
  return [
    row('vision: turn with a 1 MB image, p50', ms(of('image')), '', ms(of('directImage'))),
    row('vision: the same turn without it, p50', ms(of('text')), '', ms(of('directText'))),
    {
      figure: 'vision: cost the image adds to a turn, over base64-encoding it',
      service: ms(added),
      floor: ms(floor),
      direct: '',
      ratio: ms(added - floor),
      target: `≤ ${TARGET_MS} ms over`,
      result: verdict(added - floor <= TARGET_MS),
    },
    {
      ...row(
        'vision: service CPU the image adds per turn, over encoding it',
        ms(addedCpu),
        ms(floorCpu),
        '',
      ),
      ratio: ms(addedCpu - floorCpu),
    },
  ];
}
