/**
 * The activities of one incremental window: readWatermark, planWindow, extractWindow, validateWindow,
 * commitManifest, advanceWatermark — each thin over src/source (capture strategies) and src/lake (the commit
 * protocol). Everything returned carries positions, paths, counts and timings only.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { CancelledFailure } from '@temporalio/common';
import {
  advanceWatermark as lakeAdvanceWatermark,
  commitManifest as lakeCommitManifest,
  decodeControlTotals,
  encodeControlTotals,
  stageWindow,
  tablePosition,
  validateWindow as lakeValidateWindow,
  windowRefOf,
  type ChangeEvent,
} from '../lake/commit.js';
import { CHANGE_OPS, type ChangeOp, type LakeColumn, type LakeValue } from '../domain/values.js';
import { readSchema, type SchemaDoc } from '../lake/schema-registry.js';
import { LakeIntegrityError } from '../lake/errors.js';
import type { ChangeBatch, SourceWindow } from '../source/index.js';
import type {
  AdvanceWatermarkInput,
  AdvanceWatermarkOutput,
  CommitManifestInput,
  CommitManifestOutput,
  ExtractWindowInput,
  ExtractWindowOutput,
  PlanWindowInput,
  PlanWindowOutput,
  ReadWatermarkInput,
  ReadWatermarkOutput,
  StagedFile,
  ValidateWindowInput,
  ValidateWindowOutput,
} from './contracts.js';
import type { WindowPlan } from '../domain/window.js';
import type { TableRef } from '../domain/table.js';
import type { ActivityDeps } from './dependencies.js';
import { heartbeat } from './heartbeat.js';
import { tableContext, type TableContext } from './table-context.js';
import { lakePosition } from '../domain/positions.js';

export function windowActivities(deps: ActivityDeps) {
  const log = (ref: TableRef) => deps.logger.child({ table: ref.id });

  async function readWatermark(input: ReadWatermarkInput): Promise<ReadWatermarkOutput> {
    const ctx = await tableContext(deps, input.table);
    const out = { ...(await tablePosition(ctx.lake)) };
    log(input.table).info(
      { lastSeq: out.lastSeq, hasPosition: out.position !== null },
      'watermark read from manifests',
    );
    return out;
  }

  async function planWindow(input: PlanWindowInput): Promise<PlanWindowOutput> {
    const ctx = await tableContext(deps, input.table);
    const w = await ctx.strategy.planWindow(input.lastPosition);
    const capture = w.captureLatencySeconds !== undefined ? { captureLatencySeconds: w.captureLatencySeconds } : {};
    if (w.empty) return { window: null, lagSeconds: w.lagSeconds, ...capture };
    return {
      window: {
        seq: input.seq,
        kind: 'changes',
        from: w.from ?? input.lastPosition,
        to: w.to,
        plannedAt: new Date().toISOString(),
        ...(w.more ? { more: true } : {}),
        ...(w.idle ? { idle: true } : {}),
      },
      lagSeconds: w.lagSeconds,
      ...capture,
    };
  }

  async function extractWindow(input: ExtractWindowInput): Promise<ExtractWindowOutput> {
    const ctx = await tableContext(deps, input.table);
    const sw: SourceWindow = {
      strategy: input.table.strategy,
      from: input.window.from,
      to: input.window.to,
      empty: false,
      lagSeconds: null,
    };
    return stageStream(deps, ctx, input.window, input.attempt, ctx.strategy.readWindow(sw), () =>
      ctx.strategy.lastReadStats ? ctx.strategy.lastReadStats.rowsRead : undefined,
    );
  }

  async function validateWindow(input: ValidateWindowInput): Promise<ValidateWindowOutput> {
    const ctx = await tableContext(deps, input.table);
    const schema = await schemaVersion(ctx, input.extract.schemaVersion);
    const v = await lakeValidateWindow({
      lake: ctx.lake,
      schema,
      window: windowRefOf(input.window),
      staged: input.extract,
      ...(deps.scratchDir ? { scratchDir: deps.scratchDir } : {}),
    });
    return { controlTotals: encodeControlTotals(v.controlTotals) };
  }

  async function commitManifest(input: CommitManifestInput): Promise<CommitManifestOutput> {
    const ctx = await tableContext(deps, input.table);
    let committedBy = 'tidemark';
    try {
      const info = Context.current().info;
      committedBy = `${info.workflowExecution?.workflowId ?? info.workflowType ?? 'workflow'}/${info.activityId}`;
    } catch {
      // Outside an activity context (direct calls in tests).
    }
    const out = await lakeCommitManifest({
      lake: ctx.lake,
      window: windowRefOf(input.window, input.extract.resumePosition),
      staged: input.extract,
      validated: { controlTotals: decodeControlTotals(input.validation.controlTotals) },
      committedBy,
    });
    log(input.table).info(
      { window: input.window.seq, kind: input.window.kind, rows: out.rows, files: out.files, status: out.status },
      'window committed',
    );
    return {
      manifestPath: out.manifestPath,
      alreadyCommitted: out.status === 'already-committed',
      resumePosition: out.resumePosition,
    };
  }

  async function advanceWatermark(input: AdvanceWatermarkInput): Promise<AdvanceWatermarkOutput> {
    const ctx = await tableContext(deps, input.table);
    // The pointer carries the sync position the manifests give (a job's chunk windows do not move it), so
    // `_state/watermark.json` still says where incremental sync stands after a backfill, sweep or reconciliation.
    await lakeAdvanceWatermark({ lake: ctx.lake, sequence: input.seq });
    return { position: input.position };
  }

  return { readWatermark, planWindow, extractWindow, validateWindow, commitManifest, advanceWatermark };
}

async function schemaVersion(ctx: TableContext, version: number): Promise<SchemaDoc> {
  const schema = await readSchema(ctx.lake.store, ctx.lake.layout, version);
  if (!schema)
    throw new LakeIntegrityError(
      `Schema version ${version} is not registered`,
      ctx.ref.id,
      ctx.lake.layout.schemasPrefix,
    );
  return schema;
}

/** Heartbeat details of an extraction: what is staged and how far the stream was consumed. No row values. */
interface ExtractProgress {
  attemptId: string;
  schemaVersion: number;
  segments: number;
  eventsDone: number;
  lastPos: string | null;
  files: StagedFile[];
  opCounts: Record<ChangeOp, number>;
  minPosition: string | null;
  maxPosition: string | null;
  /**
   * SHA-256 (hex) over the positions of the events staged so far, in order. A resumed attempt skips that many
   * events of its re-read and reuses the staged segments only if the skipped positions hash the same: a read
   * that sees more than the interrupted one (identity: a gap committed in between) starts over instead of
   * leaving a row out. Absent in heartbeats of older workers (then only the last position is compared).
   */
  digest?: string;
}

/** Nothing staged yet. */
function freshProgress(attemptId: string, schemaVersion: number): ExtractProgress {
  return {
    attemptId,
    schemaVersion,
    segments: 0,
    eventsDone: 0,
    lastPos: null,
    files: [],
    opCounts: { c: 0, u: 0, d: 0, r: 0 },
    minPosition: null,
    maxPosition: null,
  };
}

function previousProgress(window: WindowPlan): ExtractProgress | undefined {
  try {
    const d = Context.current().info.heartbeatDetails as ExtractProgress | undefined;
    return d && typeof d.attemptId === 'string' && Array.isArray(d.files) ? d : undefined;
  } catch {
    void window;
    return undefined;
  }
}

function attemptIdFor(workflowAttempt: number): string {
  let activityAttempt = 1;
  try {
    activityAttempt = Context.current().info.attempt;
  } catch {
    // direct call
  }
  // Random suffix: a workflow restarted from the lake counts attempts from 1 again; names must still be new.
  return `${workflowAttempt}-${activityAttempt}-${randomBytes(4).toString('hex')}`;
}

function cancelled(): boolean {
  try {
    return Context.current().cancellationSignal.aborted;
  } catch {
    return false;
  }
}

/**
 * Rejects when the activity is cancelled (pause now, or the workflow went away); never settles outside an
 * activity. Raced against each pull from the source, so a cancel is honoured even while a throttled read sleeps.
 */
function cancellation(): Promise<never> {
  try {
    const p = Context.current().cancelled;
    p.catch(() => undefined);
    return p;
  } catch {
    return new Promise<never>(() => undefined);
  }
}

/**
 * Streams change batches into the lake in segments of `partRows` events; each segment is staged (Parquet →
 * Blob, names unique to this attempt) and recorded in the heartbeat, so a retry after a crash resumes after
 * the last staged segment instead of re-reading everything — provided the re-read stream yields the same
 * events in the same order (checked on the position of the last event staged; otherwise it starts over).
 */
export async function stageStream(
  deps: ActivityDeps,
  ctx: TableContext,
  window: WindowPlan,
  workflowAttempt: number,
  batches: AsyncIterable<ChangeBatch>,
  sourceRowsRead: () => number | undefined,
  filter?: (pos: string) => boolean,
  /** Appended to every row position (Change Tracking snapshot rows: see chunk-activities.ts). */
  posSuffix = '',
): Promise<ExtractWindowOutput> {
  const t0 = Date.now();
  const segmentRows = deps.partRows ?? 200_000;
  const schema = await ctx.schemaFor(ctx.strategy.columns);
  const prior = previousProgress(window);
  // Nothing staged yet (or a restart recorded by restartWindow): a fresh attempt id, so no name is written twice.
  const resume = prior && prior.schemaVersion === schema.version && prior.segments > 0 ? prior : undefined;
  const progress: ExtractProgress = resume ?? freshProgress(attemptIdFor(workflowAttempt), schema.version);
  let skip = progress.eventsDone;
  let seen = 0;
  let resumePosition: string | undefined;
  // Hash of the positions staged (or skipped as staged) so far; see ExtractProgress.digest.
  const digest = createHash('sha256');
  const projectors = new WeakMap<readonly LakeColumn[], (v: readonly LakeValue[]) => LakeValue[]>();
  const known = new Set(schema.columns.map((c) => c.name.toLowerCase()));
  const dropped = new Set(
    ctx.config.phi.filter((r) => r.action === 'drop').flatMap((r) => r.columns.map((c) => c.toLowerCase())),
  );

  async function* events(): AsyncGenerator<ChangeEvent> {
    for await (const batch of batches) {
      if (batch.resumePosition !== undefined) resumePosition = batch.resumePosition;
      let project = projectors.get(batch.columns);
      if (!project) {
        for (const c of batch.columns)
          if (!known.has(c.name.toLowerCase()) && !dropped.has(c.name.toLowerCase()))
            throw new Error(`Source schema of ${ctx.ref.id} changed during the window; retrying with the new schema`);
        project = ctx.projector(batch.columns, schema);
        projectors.set(batch.columns, project);
      }
      for (const row of batch.rows) {
        const pos = lakePosition(row.pos) + posSuffix;
        if (filter && !filter(row.pos)) continue;
        seen++;
        if (skip > 0) {
          skip--;
          digest.update(pos);
          if (
            skip === 0 &&
            ((progress.lastPos !== null && pos !== progress.lastPos) ||
              (progress.digest !== undefined && digest.copy().digest('hex') !== progress.digest))
          )
            throw restartWindow(progress);
          continue;
        }
        yield { op: row.op, position: pos, commitTs: row.commitTs, values: project(row.values) };
      }
    }
  }

  const it = events()[Symbol.asyncIterator]();
  const whenCancelled = cancellation();
  let done = false;
  let pending: IteratorResult<ChangeEvent> | undefined;
  heartbeat(progress);
  try {
    while (!done) {
      // Cancelled (pause now, or the workflow went away): report it as a cancellation, keeping what is staged.
      if (cancelled()) throw new CancelledFailure('extraction cancelled');
      // One segment: at most segmentRows events, pulled lazily (bounded memory).
      let count = 0;
      let lastPos: string | null = null;
      const byOp: Record<ChangeOp, number> = { c: 0, u: 0, d: 0, r: 0 };
      const segment: AsyncIterable<ChangeEvent> = {
        [Symbol.asyncIterator]: () => ({
          next: async (): Promise<IteratorResult<ChangeEvent>> => {
            if (count >= segmentRows) return { done: true, value: undefined };
            const r = pending ?? (await Promise.race([it.next(), whenCancelled]));
            pending = undefined;
            if (r.done) {
              done = true;
              return r;
            }
            count++;
            lastPos = r.value.position;
            digest.update(lastPos);
            byOp[r.value.op]++;
            return r;
          },
        }),
      };
      if (progress.segments > 0 || !done) {
        const staged = await stageWindow({
          lake: ctx.lake,
          window: windowRefOf(window),
          attemptId: `${progress.attemptId}-s${progress.segments}`,
          schema,
          events: segment,
          extractedAt: BigInt(Date.now()) * 1_000_000n,
          partRows: segmentRows,
          ...(deps.scratchDir ? { scratchDir: deps.scratchDir } : {}),
        });
        if (count === 0 && progress.segments > 0) break;
        progress.segments++;
        progress.eventsDone += count;
        if (lastPos !== null) progress.lastPos = lastPos;
        progress.digest = digest.copy().digest('hex');
        for (const f of staged.files)
          progress.files.push({ path: f.path, rows: f.rows, bytes: f.bytes, md5: f.md5, commitDate: f.commitDate });
        for (const op of CHANGE_OPS) progress.opCounts[op] += byOp[op];
        if (staged.minPosition !== null && (progress.minPosition === null || staged.minPosition < progress.minPosition))
          progress.minPosition = staged.minPosition;
        if (staged.maxPosition !== null && (progress.maxPosition === null || staged.maxPosition > progress.maxPosition))
          progress.maxPosition = staged.maxPosition;
        heartbeat(progress);
        if (count < segmentRows) {
          // The segment ended because the stream did: check there is nothing left.
          const r = await it.next();
          if (r.done) done = true;
          else pending = r;
        }
      }
    }
  } finally {
    // After a cancel the source read may still be asleep in its throttle: do not hold the cancellation up for it
    // (its own clean-up cancels the query when it wakes).
    const closing = it.return?.(undefined);
    if (cancelled()) void closing?.catch(() => undefined);
    else await closing;
  }
  const rows = progress.eventsDone;
  return {
    files: progress.files,
    rows,
    opCounts: { ...progress.opCounts },
    schemaVersion: schema.version,
    durationMs: Date.now() - t0,
    attemptId: progress.attemptId,
    minPosition: progress.minPosition,
    maxPosition: progress.maxPosition,
    sourceRowsRead: sourceRowsRead() ?? seen,
    ...(resumePosition !== undefined ? { resumePosition } : {}),
  };
}

/**
 * The re-read differs from what the interrupted attempt staged: record that nothing is reusable in the heartbeat
 * (so the next attempt starts over under a new attempt id instead of resuming the same segments again) and fail
 * this attempt; it is retried.
 */
function restartWindow(stale: ExtractProgress): Error {
  heartbeat(freshProgress(stale.attemptId, stale.schemaVersion));
  return new Error('Re-read of the window differs from the staged segments; starting the window over');
}
