/**
 * `createActivities(deps)`: the implementation of the activity contract (contracts.ts), each activity thin over
 * src/source and src/lake. Every activity is wrapped at the boundary: errors are translated by the failure policy
 * of failures.ts (no row value ever crosses Temporal), and a ticker heartbeats on time while it runs
 * (heartbeat.ts), so the workflows' heartbeat timeouts find a dead worker in seconds whatever the row rate.
 */
import type { ChunkedJobActivities, TableSyncActivities } from './contracts.js';
import { chunkActivities } from './chunk-activities.js';
import type { ActivityDeps } from './dependencies.js';
import { atBoundary } from './failures.js';
import { keepAlive } from './heartbeat.js';
import { windowActivities } from './window-activities.js';

export type Activities = TableSyncActivities & ChunkedJobActivities;

export function createActivities(deps: ActivityDeps): Activities {
  const w = windowActivities(deps);
  const c = chunkActivities(deps);
  const wrap = <I, O>(fn: (input: I) => Promise<O>) => atBoundary(keepAlive(fn));
  return {
    readWatermark: wrap(w.readWatermark),
    planWindow: wrap(w.planWindow),
    extractWindow: wrap(w.extractWindow),
    validateWindow: wrap(w.validateWindow),
    commitManifest: wrap(w.commitManifest),
    advanceWatermark: wrap(w.advanceWatermark),
    planChunks: wrap(c.planChunks),
    runChunk: wrap(c.runChunk),
  };
}

export { buildDependencies, type ActivityDeps } from './dependencies.js';
