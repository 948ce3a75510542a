/**
 * `createActivities(deps)`: the implementation of the activity contract (contracts.ts), each activity thin over
 * src/source and src/lake. Every activity is wrapped at the boundary: errors are translated by the failure policy
 * of failures.ts (no row value ever crosses Temporal), and a ticker heartbeats on time while it runs
 * (heartbeat.ts), so the workflows' heartbeat timeouts find a dead worker in seconds whatever the row rate; and
 * every line logged meanwhile carries the table, window (or job and chunk), workflow and activity ids
 * (log-context.ts).
 */
import type { ChunkedJobActivities, CompactionActivities, TableSyncActivities } from './contracts.js';
import { compactionActivities } from './compaction-activities.js';
import { chunkActivities } from './chunk-activities.js';
import type { ActivityDeps } from './dependencies.js';
import { atBoundary } from './failures.js';
import { keepAlive } from './heartbeat.js';
import { withLogContext } from './log-context.js';
import { activityMeter, type ActivityMeter } from './metered.js';
import { windowActivities } from './window-activities.js';
import { noLineage, type ActivityLineage } from './lineage-recorder.js';

export type Activities = TableSyncActivities & ChunkedJobActivities & CompactionActivities;

/**
 * `meter` feeds the worker's metrics from each activity's input and output (metered.ts); without one the
 * activities run unmetered (tests, benches). `lineage` does the same for OpenLineage run events
 * (lineage-recorder.ts); without it no event is sent.
 */
export function createActivities(
  deps: ActivityDeps,
  meter: ActivityMeter = activityMeter(undefined),
  lineage: ActivityLineage = noLineage,
): Activities {
  const w = windowActivities(deps);
  const c = chunkActivities(deps);
  const k = compactionActivities(deps);
  const wrap = <I extends { table: { id: string } }, O>(name: string, fn: (input: I) => Promise<O>) =>
    withLogContext(atBoundary(lineage.wrap(name, meter.wrap(name, keepAlive(fn)))));
  return {
    readWatermark: wrap('readWatermark', w.readWatermark),
    planWindow: wrap('planWindow', w.planWindow),
    extractWindow: wrap('extractWindow', w.extractWindow),
    extractSubRange: wrap('extractSubRange', w.extractSubRange),
    validateWindow: wrap('validateWindow', w.validateWindow),
    commitManifest: wrap('commitManifest', w.commitManifest),
    advanceWatermark: wrap('advanceWatermark', w.advanceWatermark),
    planChunks: wrap('planChunks', c.planChunks),
    runChunk: wrap('runChunk', c.runChunk),
    // Lake-only housekeeping: no window, chunk or source read to meter or to report as lineage.
    compactTable: atBoundary(keepAlive((input: Parameters<typeof k.compactTable>[0]) => k.compactTable(input))),
  };
}

export { activityMeter, type ActivityMeter, type StopKinds } from './metered.js';

export { activityLineage, type ActivityLineage } from './lineage-recorder.js';
export { lineageEmitterOf } from './lineage-emitter.js';
export { logContextInterceptor } from './log-context.js';

export { buildDependencies, type ActivityDeps } from './dependencies.js';
