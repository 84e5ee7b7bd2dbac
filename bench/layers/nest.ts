/**
 * Layer 2 of the layers scenario: the floor's work behind a minimal Nest app (nest-app.ts),
 * the upstream called over raw node:http as the floor calls it.
 *
 * Env: as floor-server.ts.
 */
import { completeUpstream, streamUpstream } from '../floor-work';
import { serveNest } from './nest-app';

void serveNest('layer nest', { complete: completeUpstream, stream: streamUpstream });
