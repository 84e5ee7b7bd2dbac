import type { Scenario } from '../lib/scenario';
import { chunks } from './chunks';
import { db } from './db';
import { files } from './files';
import { history } from './history';
import { hostile } from './hostile';
import { layers } from './layers';
import { mcp } from './mcp';
import { memory } from './memory';
import { reads } from './reads';
import { replicas } from './replicas';
import { responses } from './responses';
import { scale } from './scale';
import { summary } from './summary';
import { ttft } from './ttft';
import { vision } from './vision';
import { whole } from './whole';

/**
 * Every scenario, in the order a run measures them (and the results list their rows).
 * A new scenario: one file in this folder exporting `defineScenario({ … })`, one line here.
 */
export const SCENARIOS: readonly Scenario[] = [
  whole,
  ttft,
  history,
  chunks,
  memory,
  db,
  reads,
  layers,
  replicas,
  responses,
  summary,
  hostile,
  mcp,
  files,
  vision,
  scale,
];
