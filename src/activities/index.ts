/**
 * `createActivities(deps)`: the implementation of the activity contract (contracts.ts), each activity thin over
 * src/source and src/lake. Every activity is wrapped at the boundary: known errors become non-retryable
 * `ApplicationFailure`s with the contract's failure types; no row value ever crosses Temporal.
 */
import type { ChunkedJobActivities, TableSyncActivities } from './contracts.js';
import { chunkActivities } from './chunk-activities.js';
import type { ActivityDeps } from './dependencies.js';
import { atBoundary } from './failures.js';
import { windowActivities } from './window-activities.js';

export type Activities = TableSyncActivities & ChunkedJobActivities;

export function createActivities(deps: ActivityDeps): Activities {
  const w = windowActivities(deps);
  const c = chunkActivities(deps);
  return {
    readWatermark: atBoundary(w.readWatermark),
    planWindow: atBoundary(w.planWindow),
    extractWindow: atBoundary(w.extractWindow),
    validateWindow: atBoundary(w.validateWindow),
    commitManifest: atBoundary(w.commitManifest),
    advanceWatermark: atBoundary(w.advanceWatermark),
    planChunks: atBoundary(c.planChunks),
    runChunk: atBoundary(c.runChunk),
  };
}

export { buildDependencies, type ActivityDeps } from './dependencies.js';
export { positionFromManifests } from './window-activities.js';
