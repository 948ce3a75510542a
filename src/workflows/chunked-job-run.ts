/**
 * One run of a chunked job (chunked-jobs.ts): plan the chunks, run them in lanes, commit their windows in chunk
 * order. Workflow code (deterministic). The awaits here set the order in which a run's commands are issued when
 * several chunks finish at once: recorded histories (test/replay) replay only while it stays the same.
 */
import { setHandler } from '@temporalio/workflow';
import type { ChunkedJobActivities, RunChunkOutput, TableSyncActivities } from '../activities/contracts.js';
import type { JobOutput, JobSpec, KeyRange } from '../domain/jobs.js';
import type { TableRef } from '../domain/table.js';
import type { WindowPlan } from '../domain/window.js';
import { chunkedJobActivities, type ActivityTimeouts } from './activity-options.js';
import { jobProgressQuery } from './messages.js';

export interface ChunkedJobInput {
  table: TableRef;
  job: JobSpec;
  /** The window sequence number of the first chunk committed. */
  firstSeq: number;
  /** Keys per chunk (default {@link DEFAULT_CHUNK_ROWS}). */
  chunkRows?: number;
  /** Chunks of this job scheduled at once, over all workers (default {@link DEFAULT_JOB_LANES}). */
  parallelism?: number;
  /** Activity timeouts (the table's sync passes its own; tests make them small). */
  timeouts?: ActivityTimeouts;
}

/**
 * Keys per chunk when the job does not say: 500K, so a 2M-row table is 4 chunks spread over up to
 * {@link DEFAULT_JOB_LANES} workers (at 1M, the default before, a table under 1M rows was one chunk and ran on one
 * worker whatever the pool). Not smaller: each chunk pays a boundary scan, a fresh table context and Parquet writer,
 * a pipeline that drains at its end, and a validation and manifest; measured on one worker, 250K-key chunks loaded
 * 500K rows at 0.19–0.23× the raw read against 0.34× for one chunk (docs/performance.md, "Snapshot fan-out").
 * How many chunks run on one worker at once is the worker's activity slots (src/worker.ts), not this number.
 */
export const DEFAULT_CHUNK_ROWS = 500_000;

/**
 * Chunks of one job scheduled at once, over all workers, when the job does not say: 4, as before. It bounds one
 * job's concurrent source reads whatever the pool size (each worker's are bounded again by its activity slots and
 * `source.maxConcurrentQueries`), and keeps a snapshot from queueing more chunk tasks ahead of other tables'
 * window steps than a small pool can start at once.
 */
export const DEFAULT_JOB_LANES = 4;

/** A job's run: its chunks, what it has done, and the finished chunks waiting to commit in chunk order. */
interface JobRun {
  readonly input: ChunkedJobInput;
  readonly acts: ChunkedJobActivities & TableSyncActivities;
  readonly chunks: KeyRange[];
  readonly out: JobOutput;
  /** Chunk results by index, until committed; `staged: null` = finished with nothing to commit. */
  readonly results: Map<number, { chunk: KeyRange; staged: RunChunkOutput['staged'] }>;
  /** The next chunk a lane takes, and the next one to commit. */
  next: number;
  nextToCommit: number;
  /** Commits run one at a time, in chunk order, whichever lane finished the chunk. */
  committing: Promise<void>;
}

/** Progress for the CLI, reported by a query (a query issues no command: older histories replay unchanged). */
interface Progress {
  planned: number | null;
  chunksDone: number;
  counts: Pick<JobOutput, 'windows' | 'rows' | 'sourceRowsRead'>;
}

export async function runChunkedJob(input: ChunkedJobInput): Promise<JobOutput> {
  const acts = chunkedJobActivities(input.timeouts);
  const { table, job } = input;
  const progress: Progress = { planned: null, chunksDone: 0, counts: { windows: 0, rows: 0, sourceRowsRead: 0 } };
  setHandler(jobProgressQuery, () => ({
    kind: job.kind,
    chunks: progress.planned,
    chunksDone: progress.chunksDone,
    windows: progress.counts.windows,
    rows: progress.counts.rows,
    sourceRowsRead: progress.counts.sourceRowsRead,
  }));
  const plan = await acts.planChunks({ table, job, chunkRows: input.chunkRows ?? DEFAULT_CHUNK_ROWS });
  const out: JobOutput = {
    kind: job.kind,
    position: plan.position,
    lastSeq: input.firstSeq - 1,
    lastManifestPath: null,
    windows: 0,
    rows: 0,
    sourceRowsRead: 0,
    chunks: plan.chunks.length,
  };
  progress.planned = plan.chunks.length;
  progress.counts = out;
  const run: JobRun = {
    input,
    acts,
    chunks: plan.chunks,
    out,
    results: new Map(),
    next: 0,
    nextToCommit: 0,
    committing: Promise.resolve(),
  };
  const lanes = Math.min(Math.max(1, input.parallelism ?? DEFAULT_JOB_LANES), Math.max(1, plan.chunks.length));
  await Promise.all(Array.from({ length: lanes }, () => runLane(run, progress)));
  await run.committing;
  return out;
}

/** One lane: takes the next chunk until none is left, runs it, and commits whatever is ready in chunk order. */
async function runLane(run: JobRun, progress: Progress): Promise<void> {
  const { input, out } = run;
  for (let chunk = run.chunks[run.next]; chunk; chunk = run.chunks[run.next]) {
    run.next += 1;
    const { table, job, firstSeq } = input;
    const result = await run.acts.runChunk({ table, job, chunk, attempt: 1, firstSeq });
    out.sourceRowsRead += result.sourceRowsRead;
    progress.chunksDone += 1;
    if (result.compared) {
      out.chunksCompared = (out.chunksCompared ?? 0) + 1;
      out.chunksReextracted = (out.chunksReextracted ?? 0) + (result.compared.differs ? 1 : 0);
    }
    run.results.set(chunk.index, { chunk, staged: result.staged });
    run.committing = run.committing.then(() => commitReady(run));
    await run.committing;
  }
}

/**
 * Commits every finished chunk from `nextToCommit` on, in chunk order, each that produced events as one window
 * taking the next sequence number (dense: a chunk with nothing to commit takes none).
 */
async function commitReady(run: JobRun): Promise<void> {
  const { input, out } = run;
  const { table } = input;
  for (let ready = run.results.get(run.nextToCommit); ready; ready = run.results.get(run.nextToCommit)) {
    run.results.delete(run.nextToCommit);
    run.nextToCommit += 1;
    if (!ready.staged) continue;
    const window: WindowPlan = {
      seq: out.lastSeq + 1,
      kind: input.job.kind,
      from: null,
      to: ready.staged.readAt,
      keyRange: ready.chunk,
      plannedAt: new Date().toISOString(),
    };
    const validation = await run.acts.validateWindow({ table, window, extract: ready.staged });
    const commit = await run.acts.commitManifest({ table, window, extract: ready.staged, validation });
    out.lastSeq = window.seq;
    out.lastManifestPath = commit.manifestPath;
    out.windows += 1;
    out.rows += ready.staged.rows;
  }
}
