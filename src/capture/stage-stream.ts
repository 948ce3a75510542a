/**
 * Read → project → PHI → stage in segments: streams change batches into the lake in segments of `partRows`
 * events; each segment is staged (Parquet → Blob, names unique to this attempt) and recorded as progress, so a
 * retry after a crash resumes after the last staged segment instead of re-reading everything — provided the
 * re-read stream yields the same events in the same order (checked on the positions skipped: stage-progress.ts;
 * otherwise it starts over). The segments go through a pipeline (capture/pipeline.ts): reading and converting
 * one, encoding the previous one, uploading the one before, at once; memory is bounded by three segments.
 */
import { createHash } from 'node:crypto';
import { runPipeline } from './pipeline.js';
import type { ChangeEvent, StagedAttempt } from '../lake/stage-window.js';
import type { SchemaDoc } from '../lake/schema-registry.js';
import { CHANGE_OPS, type LakeColumn, type LakeValue } from '../domain/values.js';
import { lakePosition } from '../domain/positions.js';
import type { StagedWindow } from '../domain/staged.js';
import type { WindowPlan } from '../domain/window.js';
import type { ChangeBatch } from '../source/index.js';
import type { CaptureDeps } from './deps.js';
import {
  SegmentSource,
  type EncodedSegment,
  type EventRead,
  type FilledSegment,
  type SegmentTally,
} from './segment-source.js';
import type { ProgressSink } from './progress.js';
import type { StageClock } from './stage-steps.js';
import { addSegmentSums, restartWindow, startingProgress, type StageProgress } from './stage-progress.js';
import type { TableContext } from './table-context.js';

export interface StageStreamInput {
  readonly window: WindowPlan;
  /** The workflow's attempt number of this window (part of the attempt id in staged file names). */
  readonly workflowAttempt: number;
  /** The window's sub-range this read stages (its index goes into the attempt id, so into the file names). */
  readonly subRange?: number;
  readonly batches: AsyncIterable<ChangeBatch>;
  /** Source rows read, when the reader counts them (else the events seen are reported). */
  readonly sourceRowsRead: () => number | undefined;
  /** Rows to stage, by their source position (job chunks: see the strategies' `jobRowFilter`). */
  readonly filter?: (pos: string) => boolean;
  /** Appended to every row position (job chunks: see the strategies' `jobRowSuffix`). */
  readonly posSuffix?: string;
  /** Records when the rows arrived, each segment's steps and the reading side's waits (capture/stage-steps.ts). */
  readonly clock?: StageClock;
}

/** Stages `input.batches` as the window's files, in segments; returns what is staged (no row values). */
export async function stageStream(
  deps: CaptureDeps,
  ctx: TableContext,
  sink: ProgressSink,
  input: StageStreamInput,
): Promise<StagedWindow> {
  const t0 = Date.now();
  const schema = await ctx.schemaFor(ctx.strategy.columns);
  const progress = startingProgress(sink, input.workflowAttempt, schema.version, input.subRange);
  input.clock?.stageStarted();
  const read = readEvents(ctx, schema, sink, progress, input);
  await stageSegments(deps, ctx, sink, { window: input.window, schema, progress, read, clock: input.clock });
  return {
    files: progress.files,
    rows: progress.eventsDone,
    opCounts: { ...progress.opCounts },
    schemaVersion: schema.version,
    durationMs: Date.now() - t0,
    attemptId: progress.attemptId,
    minPosition: progress.minPosition,
    maxPosition: progress.maxPosition,
    sourceRowsRead: input.sourceRowsRead() ?? read.seen,
    ...(progress.stageMs ? { stageMs: { ...progress.stageMs } } : {}),
    ...(progress.controlSums ? { controlSums: { ...progress.controlSums } } : {}),
    ...(read.endedAt !== undefined
      ? {
          readMs: {
            firstBatch: read.firstBatchAt === undefined ? null : read.firstBatchAt - t0,
            end: read.endedAt - t0,
          },
        }
      : {}),
    ...(read.resumePosition !== undefined ? { resumePosition: read.resumePosition } : {}),
  };
}

/** Projects each batch onto `schema` (a source column the schema does not know and PHI does not drop fails). */
function batchProjector(ctx: TableContext, schema: SchemaDoc) {
  const projectors = new WeakMap<readonly LakeColumn[], (v: readonly LakeValue[]) => LakeValue[]>();
  const known = new Set(schema.columns.map((c) => c.name.toLowerCase()));
  const dropped = new Set(
    ctx.config.phi.filter((r) => r.action === 'drop').flatMap((r) => r.columns.map((c) => c.toLowerCase())),
  );
  return (columns: readonly LakeColumn[]) => {
    let project = projectors.get(columns);
    if (!project) {
      for (const c of columns)
        if (!known.has(c.name.toLowerCase()) && !dropped.has(c.name.toLowerCase()))
          throw new Error(`Source schema of ${ctx.ref.id} changed during the window; retrying with the new schema`);
      project = ctx.projector(columns, schema);
      projectors.set(columns, project);
    }
    return project;
  };
}

/** The stream's events after projection and PHI (exported for bench/main-row-path.ts). */
export function readEvents(
  ctx: TableContext,
  schema: SchemaDoc,
  sink: ProgressSink,
  progress: StageProgress,
  input: StageStreamInput,
): EventRead {
  const projectorOf = batchProjector(ctx, schema);
  const suffix = input.posSuffix ?? '';
  let skip = progress.eventsDone;
  let lastSourcePos: string | undefined;
  let lastPos = '';
  const read: EventRead = { events: events(), digest: createHash('sha256'), seen: 0 };
  const clock = input.clock;
  async function* events(): AsyncGenerator<ChangeEvent[]> {
    clock?.readStarted();
    for await (const batch of input.batches) {
      read.firstBatchAt ??= Date.now();
      clock?.eventsArrived();
      if (batch.resumePosition !== undefined) read.resumePosition = batch.resumePosition;
      const project = projectorOf(batch.columns);
      const out: ChangeEvent[] = [];
      for (const row of batch.rows) {
        // A snapshot chunk's rows share one position: normalise it once, not per row.
        if (row.pos !== lastSourcePos) {
          lastSourcePos = row.pos;
          lastPos = lakePosition(row.pos) + suffix;
        }
        const pos = lastPos;
        if (input.filter && !input.filter(row.pos)) continue;
        read.seen++;
        if (skip > 0) {
          skip--;
          read.digest.update(pos);
          if (
            skip === 0 &&
            ((progress.lastPos !== null && pos !== progress.lastPos) ||
              read.digest.copy().digest('hex') !== progress.digest)
          )
            throw restartWindow(sink, progress);
          continue;
        }
        out.push({ op: row.op, position: pos, commitTs: row.commitTs, values: project(row.values) });
      }
      if (out.length > 0) yield out;
    }
    read.endedAt = Date.now();
    clock?.readEnded();
  }
  return read;
}

/**
 * Stages segments until the stream ends (or is cancelled), recording each in `progress`, as a pipeline
 * (capture/pipeline.ts): segment k uploads while k+1 is encoded (DuckDB COPY to Parquet, checked) and k+2 is
 * read and converted. Segments are recorded in order, each once its files are uploaded, so the progress a retry
 * resumes from is exact; a failure anywhere stops all three and removes the local files of segments not uploaded.
 * Memory: at most three segments' rows are held (one filling, one waiting, one encoding).
 */
async function stageSegments(
  deps: CaptureDeps,
  ctx: TableContext,
  sink: ProgressSink,
  s: {
    window: WindowPlan;
    schema: SchemaDoc;
    progress: StageProgress;
    read: EventRead;
    clock?: StageClock | undefined;
  },
): Promise<void> {
  const { clock } = s;
  const segments = new SegmentSource(deps, ctx, sink, s);
  const it = s.read.events;
  // The clock's index of each filled segment, and when the last one was handed over (the reading side waits for
  // the encode stage to take a filled segment before it fills the next: the pipeline's hand-off).
  const steps = new WeakMap<FilledSegment, number>();
  let filledAt: number | undefined;
  const nextSegment = async () => {
    if (clock && filledAt !== undefined) clock.waited('encodeStage', performance.now() - filledAt);
    const f = await segments.next();
    filledAt = performance.now();
    if (f && clock) steps.set(f, clock.segmentFilled(f.tally.count));
    return f;
  };
  sink.record(s.progress);
  try {
    await runPipeline(
      nextSegment,
      [
        async (f: FilledSegment): Promise<EncodedSegment> => {
          const written = await f.stage.finish();
          const encoded = { ...f, written };
          const k = steps.get(f);
          if (clock && k !== undefined) {
            clock.segmentEncoded(k);
            steps.set(encoded, k);
          }
          return encoded;
        },
        async (e: EncodedSegment): Promise<void> => {
          // Cancelled while this segment was read ahead: stop before uploading it (a pause is honoured now, and
          // what is staged so far stays recorded for the next attempt).
          if (sink.isCancelled()) throw sink.cancellationError();
          const staged = await e.written.upload();
          await e.stage.discard();
          recordSegment(s.progress, staged, e.tally, e.digest);
          const k = steps.get(e);
          if (clock && k !== undefined) clock.segmentUploaded(k);
          sink.record(s.progress);
        },
      ],
      { abandon: (x) => (x as FilledSegment).stage.discard() },
    );
  } finally {
    // After a cancel the source read may still be asleep in its throttle: do not hold the cancellation up for it
    // (its own clean-up cancels the query when it wakes).
    const closing = it.return?.(undefined);
    if (sink.isCancelled()) void closing?.catch(() => undefined);
    else await closing;
  }
}

/** Adds one staged segment to the progress. */
function recordSegment(progress: StageProgress, staged: StagedAttempt, tally: SegmentTally, digest: string): void {
  addSegmentSums(progress, staged.controlSums);
  progress.segments++;
  progress.eventsDone += tally.count;
  if (tally.lastPos !== null) progress.lastPos = tally.lastPos;
  progress.digest = digest;
  for (const f of staged.files)
    progress.files.push({ path: f.path, rows: f.rows, bytes: f.bytes, md5: f.md5, commitDate: f.commitDate });
  for (const op of CHANGE_OPS) progress.opCounts[op] += tally.byOp[op];
  if (staged.stageMs) {
    const t = progress.stageMs ?? { encode: 0, upload: 0 };
    progress.stageMs = { encode: t.encode + staged.stageMs.encode, upload: t.upload + staged.stageMs.upload };
  }
  if (staged.minPosition !== null && (progress.minPosition === null || staged.minPosition < progress.minPosition))
    progress.minPosition = staged.minPosition;
  if (staged.maxPosition !== null && (progress.maxPosition === null || staged.maxPosition > progress.maxPosition))
    progress.maxPosition = staged.maxPosition;
}
