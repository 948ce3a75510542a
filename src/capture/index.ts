/**
 * src/capture: the capture engine — everything between a table's source and its lake that is not the commit
 * protocol itself, with no knowledge of Temporal (progress and cancellation come through a {@link ProgressSink}).
 *
 * - {@link tableContext}: a table's config, fresh discovery, strategy, lake place and PHI plan (phi-plan.ts).
 * - One window: {@link planWindow} (bounds from the source before reading), {@link extractWindow} (read →
 *   project → PHI → stage in segments, resumable: stage-stream.ts, stage-progress.ts).
 * - Jobs: {@link planJob} (job position, keyset chunks; the sweep's key range: sweep-range.ts) and
 *   {@link runJobChunk} (read a chunk at the job position; sweep/backfill compare with the lake first:
 *   chunk-compare.ts; reconciliation stages tombstones: reconcile.ts).
 * - {@link withLakeReader}: the scratch directory + DuckDB reader over the lake that compare, sweep, reconcile
 *   and verify share.
 */
export type { CaptureDeps } from './deps.js';
export { noProgress, type ProgressSink } from './progress.js';
export { tableContext, type TableContext } from './table-context.js';
export { planWindow, extractWindow, type PlannedWindow } from './window.js';
export { planJob, type JobPlan } from './chunk-plan.js';
export { runJobChunk, type ChunkRun } from './chunk-run.js';
export type { ChunkResult } from './chunk-result.js';
export { withLakeReader, lakeSchemaOf } from './scratch.js';
export { loadSourceRows, compareWithLake, rowsChecksumSql, type ChunkComparison } from './chunk-compare.js';
