export interface Flags {
  smoke: boolean;
  latencyMs: number;
  tokenDelayMs: number;
  rounds?: number;
  cpuProf: boolean;
  /** The memory scenario writes heap snapshots of the service (results/profiles/). */
  heapSnapshot: boolean;
  /** The scale scenario's size: 1 is ~10M messages (bench/scale/dataset.ts). */
  scale: number;
  /** Node flags the service's processes start with (`--service-node-flags`), e.g. heap sizing. */
  serviceNodeFlags: string[];
  /** The scenarios to run, by name; all of them unless `--only` says otherwise. */
  only: Set<string>;
}

export const USAGE = `npm run bench [-- --smoke] [--latency-ms N] [--token-delay-ms N] [--rounds N]
              [--cpu-prof] [--heap-snapshot] [--only <scenario>[,<scenario>…]] [--scale F]
              [--service-node-flags "<node flags>"]`;

/**
 * Parses the command line; `scenarios` are the known scenario names, in order, and
 * `optIn` those that run only when `--only` names them.
 */
export function parseFlags(
  argv: string[],
  scenarios: readonly string[],
  optIn: readonly string[] = [],
): Flags {
  const flags: Flags = {
    smoke: false,
    latencyMs: 0,
    tokenDelayMs: 0,
    cpuProf: false,
    heapSnapshot: false,
    scale: 1,
    serviceNodeFlags: [],
    only: new Set(scenarios.filter((name) => !optIn.includes(name))),
  };
  for (let i = 0; i < argv.length; i++) {
    const [name, inline] = argv[i].split('=', 2);
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new Error(`${name} needs a value`);
      return v;
    };
    const count = (): number => {
      const n = Number(value());
      if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a whole number`);
      return n;
    };
    switch (name) {
      case '--smoke':
        flags.smoke = true;
        break;
      case '--latency-ms':
        flags.latencyMs = count();
        break;
      case '--token-delay-ms':
        flags.tokenDelayMs = count();
        break;
      case '--rounds':
        flags.rounds = Math.max(1, count());
        break;
      case '--cpu-prof':
        flags.cpuProf = true;
        break;
      case '--heap-snapshot':
        flags.heapSnapshot = true;
        break;
      case '--scale': {
        const factor = Number(value());
        if (!(factor > 0 && factor <= 1)) throw new Error('--scale must be a number in (0, 1]');
        flags.scale = factor;
        break;
      }
      case '--service-node-flags':
        flags.serviceNodeFlags = value().split(/\s+/).filter(Boolean);
        break;
      case '--only':
        flags.only = onlyScenarios(value(), scenarios);
        break;
      default:
        throw new Error(`unknown option ${argv[i]}\nusage: ${USAGE}`);
    }
  }
  return flags;
}

function onlyScenarios(list: string, scenarios: readonly string[]): Set<string> {
  const wanted = list.split(',');
  const unknown = wanted.filter((name) => !scenarios.includes(name));
  if (unknown.length) {
    throw new Error(`unknown scenario ${unknown.join(', ')}; known: ${scenarios.join(', ')}`);
  }
  return new Set(wanted);
}
