/**
 * One run of a chunked job (chunked-jobs.ts): plan the chunks, run them in lanes, commit their windows in chunk
 * order. Workflow code (deterministic). The awaits here set the order in which a run's commands are issued when
 * several chunks finish at once: recorded histories (test/replay) replay only while it stays the same.
 *
 * A long job continues as new (issue 14): each chunk adds about 20 history events, so a 2.8B-row table in
 * 500K-key chunks (~5,600 chunks) would pass Temporal's 51,200-event limit in one run (at ~2,500 chunks). When Temporal suggests it,
 * or after `maxChunksPerRun` chunks, the lanes take no new chunk; the chunks in flight finish and commit in chunk
 * order as always; then the run continues as new with what is left: the chunks not yet taken, the job's counts
 * and its last sequence number (`resume`). Nothing is in flight at the hand-over, so every chunk is run by one
 * run only and committed once, in order, and the sequence numbers stay dense across runs.
 */
import { continueAsNew, patched, setHandler, workflowInfo } from '@temporalio/workflow';
import type { ChunkedJobActivities, RunChunkOutput, TableSyncActivities } from '../activities/contracts.js';
import type { JobOutput, JobSpec, KeyRange } from '../domain/jobs.js';
import type { TableRef } from '../domain/table.js';
import type { WindowPlan } from '../domain/window.js';
import { chunkedJobActivities, type ActivityTimeouts } from './activity-options.js';
import { jobProgressQuery } from './messages.js';
import { CHUNKED_JOB_CONTINUE_AS_NEW_PATCH } from './patches.js';

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
  /**
   * Chunks one run takes before it continues as new (default {@link DEFAULT_CHUNKS_PER_RUN}); it also continues
   * as new earlier when Temporal suggests it (the history grew long). Tests make it small.
   */
  maxChunksPerRun?: number;
  /** Set by the run before, when the job continued as new: where it stands. Absent in a job's first run. */
  resume?: ChunkedJobResume;
}

/** What a job's next run carries over (after continue-as-new): the plan's rest and the counts so far. */
export interface ChunkedJobResume {
  /** The chunks not yet taken, in chunk order (every chunk before them is committed). */
  chunks: KeyRange[];
  /** The job's output so far: the plan's position and chunk count, lastSeq, windows, rows, sourceRowsRead. */
  out: JobOutput;
  /** Chunks finished in the runs before (the progress query's `chunksDone`). */
  chunksDone: number;
}

/**
 * Chunks one run of a job takes at most: 250. A chunk costs about 20 history events (three activities, each
 * scheduled, started and completed, and the workflow tasks between them: 41 events for 2 chunks in the recorded
 * test/replay/histories/snapshot-resumed.json), so a run stays near 5,000 events — far below Temporal's
 * 51,200-event limit and its 10,240-event warning. A backstop: Temporal's own suggestion
 * (workflowInfo().continueAsNewSuggested, at a few thousand events by default) may come first. A hand-over costs
 * the job its lanes' overlap once: the last chunks of a run finish while no new one starts.
 */
export const DEFAULT_CHUNKS_PER_RUN = 250;

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
  /** Chunk results by place in `chunks`, until committed; `staged: null` = finished with nothing to commit. */
  readonly results: Map<number, { chunk: KeyRange; staged: RunChunkOutput['staged'] }>;
  /** The next chunk a lane takes, and the next one to commit (places in `chunks`, not chunk indexes). */
  next: number;
  nextToCommit: number;
  /** Whether this run hands over to a new one (continue-as-new) instead of taking the next chunk. */
  readonly handOver: () => boolean;
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
  const { job } = input;
  // Runs recorded before continue-as-new existed replay without it (they took every chunk in one run).
  const mayContinueAsNew = input.resume !== undefined || patched(CHUNKED_JOB_CONTINUE_AS_NEW_PATCH);
  const progress: Progress = {
    planned: null,
    chunksDone: input.resume?.chunksDone ?? 0,
    counts: { windows: 0, rows: 0, sourceRowsRead: 0 },
  };
  setHandler(jobProgressQuery, () => ({
    kind: job.kind,
    chunks: progress.planned,
    chunksDone: progress.chunksDone,
    windows: progress.counts.windows,
    rows: progress.counts.rows,
    sourceRowsRead: progress.counts.sourceRowsRead,
  }));
  const { chunks, out } = input.resume
    ? { chunks: input.resume.chunks, out: { ...input.resume.out } }
    : await planJob(input, acts);
  progress.planned = out.chunks;
  progress.counts = out;
  const maxChunks = Math.max(1, input.maxChunksPerRun ?? DEFAULT_CHUNKS_PER_RUN);
  const run: JobRun = {
    input,
    acts,
    chunks,
    out,
    results: new Map(),
    next: 0,
    nextToCommit: 0,
    committing: Promise.resolve(),
    // At least one chunk per run: a suggestion already standing at a run's start (a long carried plan) must not
    // hand over forever.
    handOver: () =>
      mayContinueAsNew && (run.next >= maxChunks || (run.next > 0 && workflowInfo().continueAsNewSuggested)),
  };
  const lanes = Math.min(Math.max(1, input.parallelism ?? DEFAULT_JOB_LANES), Math.max(1, chunks.length));
  await Promise.all(Array.from({ length: lanes }, () => runLane(run, progress)));
  await run.committing;
  if (run.next < chunks.length) {
    // Every lane stopped before the next chunk and every chunk taken is committed (nextToCommit === next).
    const resume: ChunkedJobResume = { chunks: chunks.slice(run.next), out, chunksDone: progress.chunksDone };
    await continueAsNew<(i: ChunkedJobInput) => Promise<JobOutput>>({ ...input, resume });
  }
  return out;
}

/** A job's first run: the plan (chunks at a recorded source position) and the output it starts from. */
async function planJob(
  input: ChunkedJobInput,
  acts: ChunkedJobActivities,
): Promise<{ chunks: KeyRange[]; out: JobOutput }> {
  const { table, job } = input;
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
  return { chunks: plan.chunks, out };
}

/**
 * One lane: takes the next chunk until none is left (or the run hands over), runs it, and commits whatever is
 * ready in chunk order.
 */
async function runLane(run: JobRun, progress: Progress): Promise<void> {
  const { input, out } = run;
  for (let chunk = run.chunks[run.next]; chunk && !run.handOver(); chunk = run.chunks[run.next]) {
    const place = run.next;
    run.next += 1;
    const { table, job, firstSeq } = input;
    const result = await run.acts.runChunk({ table, job, chunk, attempt: 1, firstSeq });
    out.sourceRowsRead += result.sourceRowsRead;
    progress.chunksDone += 1;
    if (result.compared) {
      out.chunksCompared = (out.chunksCompared ?? 0) + 1;
      out.chunksReextracted = (out.chunksReextracted ?? 0) + (result.compared.differs ? 1 : 0);
    }
    run.results.set(place, { chunk, staged: result.staged });
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
