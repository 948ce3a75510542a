/**
 * Running one chunk of a job: read the chunk's key range at the job's recorded position and stage it as one
 * window. Every chunk is staged and committed as a window (possibly empty), so chunk `i` of a job that starts
 * at `firstSeq` commits as `firstSeq + i` — the staged files carry `_window_id`, which must be known when they
 * are written. The cost is one (small) manifest per chunk; the gain is that a snapshot's last chunk always
 * commits, which is how the lake tells a complete snapshot from an interrupted one.
 */
import type { JobSpec, KeyRange } from '../domain/jobs.js';
import { decodeKey } from '../domain/keys.js';
import type { WindowPlan } from '../domain/window.js';
import { chunkRowLimiter, readChunk, type ChangeBatch } from '../source/index.js';
import { compareWithLake, loadSourceRows, type ChunkComparison } from './chunk-compare.js';
import { chunkReadBudget } from './chunk-read-budget.js';
import { unsupported } from './chunk-plan.js';
import type { ChunkResult, ChunkSteps } from './chunk-result.js';
import type { CaptureDeps } from './deps.js';
import type { ProgressSink } from './progress.js';
import { reconcileChunk } from './reconcile.js';
import { StageClock, streamWaits } from './stage-steps.js';
import { withLakeReader } from './scratch.js';
import { stageStream } from './stage-stream.js';
import type { KeyBounds } from './sweep-range.js';
import type { TableContext } from './table-context.js';

/** One chunk of a job to run. */
export interface ChunkRun {
  readonly job: JobSpec;
  readonly chunk: KeyRange;
  /** The job's first window sequence: chunk `i` stages as window `firstSeq + i`. */
  readonly firstSeq: number;
  /** The workflow's attempt number of this chunk (part of the attempt id in staged file names). */
  readonly workflowAttempt: number;
  /** Epoch ms the run's steps count from (its activity's start, before the table's context); default now. */
  readonly startedAt?: number;
}

export async function runJobChunk(
  deps: CaptureDeps,
  ctx: TableContext,
  sink: ProgressSink,
  run: ChunkRun,
): Promise<ChunkResult> {
  const { job, chunk } = run;
  const position = chunk.jobPosition;
  if (position === undefined) throw new Error('chunk without a job position: chunks come from planChunks');
  const after = decodeKey(chunk.after);
  const upTo = decodeKey(chunk.upTo);
  const range: KeyBounds = { ...(after ? { after } : {}), ...(upTo ? { upTo } : {}) };
  const seq = run.firstSeq + chunk.index;
  if (job.kind === 'reconcile')
    return reconcileChunk(deps, ctx, sink, { seq, workflowAttempt: run.workflowAttempt, range, position });
  const businessDate = businessDateFilter(ctx, job);
  const rowLimiter = chunkRowLimiter(deps.source, ctx.config);
  const clock = new StageClock(run.startedAt);
  const setupMs = clock.elapsed();
  let rowsRead = 0;
  let source: ChunkSteps['source'] = null;
  const read = () =>
    readChunk(
      deps.source,
      ctx.discovery,
      {
        ...range,
        limit: 2_000_000_000,
        positioner: ctx.strategy.snapshotPositioner(),
        ...businessDate,
        timeoutMs: ctx.config.limits.queryTimeout.ms,
        ...(rowLimiter ? { rowLimiter } : {}),
      },
      (s) => {
        rowsRead += s.rowsRead;
        source = streamWaits(s.extra);
      },
    );
  const window: WindowPlan = {
    seq,
    kind: job.kind,
    from: null,
    to: position,
    keyRange: chunk,
    plannedAt: new Date().toISOString(),
  };
  // Sweep and backfill compare first: a chunk whose source rows equal the lake's latest rows for the same keys
  // is staged empty (nothing written), so a sweep re-extracts only differing chunks and a backfill repeated
  // with no source change in between writes no event at all (no (key, position) twice).
  let compared: ChunkResult['compared'];
  if (job.kind === 'sweep' || job.kind === 'backfill') {
    const c = await withReadSlot(sink, (done) => compareChunk(deps, ctx, releasedAtEnd(read(), done)));
    compared = { differs: c.differs, sourceRows: c.sourceRows, lakeRows: c.lakeRows };
    deps.logger.info(
      { table: ctx.ref.id, job: job.kind, chunk: chunk.index, ...compared },
      'chunk compared with the lake',
    );
  }
  const filter = ctx.strategy.jobRowFilter?.(position);
  const stage = (batches: AsyncIterable<ChangeBatch>) =>
    stageStream(deps, ctx, sink, {
      window,
      workflowAttempt: run.workflowAttempt,
      batches,
      sourceRowsRead: () => rowsRead,
      ...(filter ? { filter } : {}),
      posSuffix: ctx.strategy.jobRowSuffix?.(run.firstSeq) ?? '',
      clock,
    });
  const staged =
    compared && !compared.differs
      ? await stage(emptyBatches())
      : await withReadSlot(sink, (done) => stage(releasedAtEnd(read(), done)));
  return {
    sourceRowsRead: rowsRead,
    staged: { ...staged, sourceRowsRead: rowsRead, readAt: position },
    ...(compared ? { compared } : {}),
    steps: { setupMs, ...clock.steps(), source },
  };
}

/** A backfill reads the rows whose business date is in the job's range. */
function businessDateFilter(ctx: TableContext, job: JobSpec) {
  if (job.kind !== 'backfill') return {};
  const column = ctx.config.businessDateColumn;
  if (!column) throw unsupported(ctx, 'a backfill without businessDateColumn');
  return { businessDate: { column, from: job.from, to: job.to } };
}

async function* emptyBatches(): AsyncGenerator<ChangeBatch> {}

/**
 * Runs `use` holding one of the process's chunk read slots (capture/chunk-read-budget.ts), taken before the read
 * opens and before staging takes a segment writer; `use` gets the function that gives it back early (when the
 * read ends), and it is given back at the latest when `use` settles.
 */
async function withReadSlot<T>(sink: ProgressSink, use: (release: () => void) => Promise<T>): Promise<T> {
  const release = await chunkReadBudget.acquire(sink.whenCancelled);
  try {
    return await use(release);
  } finally {
    release();
  }
}

/** `batches`, calling `done` once they are exhausted or abandoned (the read holds no source query after that). */
async function* releasedAtEnd(batches: AsyncIterable<ChangeBatch>, done: () => void): AsyncGenerator<ChangeBatch> {
  try {
    yield* batches;
  } finally {
    done();
  }
}

/** Source rows of one chunk against the lake's latest state of the same keys (see chunk-compare.ts). */
async function compareChunk(
  deps: CaptureDeps,
  ctx: TableContext,
  batches: AsyncIterable<ChangeBatch>,
): Promise<ChunkComparison> {
  const schema = await ctx.schemaFor(ctx.strategy.columns);
  return withLakeReader(ctx.lake, 'compare', deps.scratchDir, async (reader, scratch) => {
    const rows = await loadSourceRows(reader, schema, (cols) => ctx.projector(cols, schema), batches, scratch, 'src');
    return compareWithLake(reader, schema, rows);
  });
}
