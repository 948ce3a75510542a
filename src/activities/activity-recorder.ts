/**
 * What each activity's result means for the worker's metrics (src/metrics): one method per metered activity,
 * called by the wrapper in metered.ts with the activity's input, output and duration. Between the activities of a
 * window it remembers, per table on this worker, the source time the lake was complete through (freshness bound).
 */
import { Context } from '@temporalio/activity';
import type { WindowPlan } from '../domain/window.js';
import type { TidemarkMetrics, WindowKind } from '../metrics/tidemark-metrics.js';
import type {
  CommitManifestInput,
  CommitManifestOutput,
  ExtractSubRangeInput,
  ExtractWindowInput,
  ExtractWindowOutput,
  PlanChunksInput,
  PlanChunksOutput,
  PlanWindowInput,
  PlanWindowOutput,
  RunChunkInput,
  RunChunkOutput,
  ValidateWindowInput,
  ValidateWindowOutput,
} from './contracts.js';
import { retryKindOf, stopKindOf, type StopKinds, type ThrottleCounters } from './failure-kinds.js';

/** A window's `kind` label: `changes` or the job kind of its chunk. */
const kindOf = (w: WindowPlan): WindowKind => w.kind;

const seconds = (ms: number) => Math.max(0, ms) / 1000;

/**
 * Per table, what the metering remembers between activities of one window on this worker: the source time
 * the lake was complete through when the window was planned (its freshness bound at commit).
 */
interface PlanMark {
  seq: number;
  completeThroughMs: number;
}

/** Records activity results into the metrics. */
export class ActivityRecorder {
  private readonly marks = new Map<string, PlanMark>();
  private readonly throughs = new Map<string, number>();

  constructor(
    private readonly m: TidemarkMetrics,
    private readonly stopKinds: StopKinds,
  ) {}

  planWindow(input: PlanWindowInput, out: PlanWindowOutput, ms: number): void {
    const l = this.m.labels(input.table.id);
    if (!l) return;
    this.m.stageDuration.observe({ ...l, kind: 'changes', stage: 'plan' }, seconds(ms));
    this.m.queryDuration.observe({ ...l, query: 'plan' }, seconds(ms));
    const now = Date.now();
    // Complete through: CDC measures its lag (lsn_time_mapping); for the others a plan that found nothing new
    // read the source's bound now, so the lake is complete through now; a window with changes leaves the
    // time the committed bound was read (known on this worker once a window committed or a plan was empty).
    let through: number | undefined;
    if (out.lagSeconds !== null) through = now - out.lagSeconds * 1000;
    else if (!out.window || out.window.idle) through = now;
    else through = this.throughs.get(l.table);
    if (through !== undefined) this.setThrough(l, through, now);
    if (out.window && through !== undefined)
      this.marks.set(l.table, { seq: out.window.seq, completeThroughMs: through });
    if (!out.window) this.m.lagChanges.set(l, 0);
    const db = this.m.tables.get(l.table)?.database;
    if (db !== undefined && out.captureLatencySeconds !== undefined && out.captureLatencySeconds !== null)
      this.m.cdcCaptureLatency.set({ database: db }, out.captureLatencySeconds);
  }

  extractWindow(input: ExtractWindowInput, out: ExtractWindowOutput, ms: number): void {
    this.recordStaged(input.table.id, kindOf(input.window), out, ms, 'read');
  }

  /** A sub-range's read is recorded as a window read is (its part of the window's events and time). */
  extractSubRange(input: ExtractSubRangeInput, out: ExtractWindowOutput, ms: number): void {
    this.extractWindow(input, out, ms);
  }

  validateWindow(input: ValidateWindowInput, out: ValidateWindowOutput, ms: number): void {
    const l = this.m.labels(input.table.id);
    if (!l) return;
    this.m.stageDuration.observe({ ...l, kind: kindOf(input.window), stage: 'commit' }, seconds(ms));
    if (out.sourceRowsRead !== undefined) {
      // A sampled window's receipt agreed with the source; what that cost the source.
      this.m.sourceRowsRead.inc({ ...l, kind: 'receipt' }, out.sourceRowsRead);
      this.m.dqChecks.inc({ ...l, check: 'control_totals', result: 'pass' });
      this.m.dqOk.set({ ...l, check: 'control_totals' }, 1);
    }
  }

  commitManifest(input: CommitManifestInput, out: CommitManifestOutput, ms: number): void {
    const l = this.m.labels(input.table.id);
    if (!l) return;
    const kind = kindOf(input.window);
    this.m.stageDuration.observe({ ...l, kind, stage: 'commit' }, seconds(ms));
    if (out.alreadyCommitted) return; // counted by the attempt that committed it
    const now = Date.now();
    const { rows, opCounts } = input.extract;
    for (const [op, n] of Object.entries(opCounts)) if (n > 0) this.m.eventsLanded.inc({ ...l, kind, op }, n);
    this.m.windowsCommitted.inc({ ...l, kind });
    if (rows === 0) this.m.emptyWindowsCommitted.inc({ ...l, kind });
    this.m.lastCommit.set(l, now / 1000);
    if (kind === 'changes') {
      const mark = this.marks.get(l.table);
      // Upper bound of each event's freshness: every event of (from, to] committed after the source time the
      // lake was complete through when the window was planned (docs/metrics.md, "how the upper bound is labelled").
      if (mark && mark.seq === input.window.seq && rows > 0) {
        const bound = seconds(now - mark.completeThroughMs);
        for (let i = 0; i < rows; i++) this.m.freshness.observe({ ...l, basis: 'upper_bound' }, bound);
      }
      if (!input.window.more) {
        this.m.lagChanges.set(l, 0);
        // The window read everything up to its bound, which was read when it was planned.
        const planned = Date.parse(input.window.plannedAt);
        if (planned > (this.throughs.get(l.table) ?? 0)) this.setThrough(l, planned, now);
      }
    } else {
      this.m.jobChunksDone.inc({ ...l, kind });
      const chunk = input.window.keyRange;
      if (chunk?.count !== undefined && chunk.index === chunk.count - 1) {
        this.m.jobsFinished.inc({ ...l, kind, result: 'pass' });
        // A snapshot hands over at its job position: the lake is complete through about when it was planned.
        if (kind === 'snapshot') this.setThrough(l, Date.parse(input.window.plannedAt), now);
      }
    }
    // The receipt's checks passed (validate refuses a window otherwise; a data-quality failure records itself).
    this.recordChecks(l);
  }

  planChunks(input: PlanChunksInput, out: PlanChunksOutput, ms: number): void {
    const l = this.m.labels(input.table.id);
    if (!l) return;
    this.m.stageDuration.observe({ ...l, kind: input.job.kind, stage: 'plan' }, seconds(ms));
    this.m.jobChunksPlanned.set({ ...l, kind: input.job.kind }, out.chunks.length);
    if (input.job.kind === 'snapshot' && isReseed(workflowIdOfActivity())) this.m.reseeds.inc(l);
  }

  runChunk(input: RunChunkInput, out: RunChunkOutput, ms: number): void {
    const l = this.m.labels(input.table.id);
    if (!l) return;
    const kind = input.job.kind;
    if (out.staged) this.recordStaged(input.table.id, kind, out.staged, ms, 'read');
    else this.m.sourceRowsRead.inc({ ...l, kind }, out.sourceRowsRead);
    if (out.compared) {
      this.m.jobChunksCompared.inc({ ...l, kind });
      if (out.compared.differs) this.m.jobChunksReextracted.inc({ ...l, kind });
    }
  }

  private setThrough(l: { table: string; strategy: string }, through: number, now: number): void {
    this.throughs.set(l.table, through);
    this.m.completeThrough.set(l, through / 1000);
    this.m.setLag(l.table, Math.max(0, (now - through) / 1000));
  }

  private recordChecks(l: { table: string; strategy: string }): void {
    for (const check of ['null_keys', 'duplicate_key_position', 'op_counts', 'position_bounds'] as const) {
      this.m.dqChecks.inc({ ...l, check, result: 'pass' });
      this.m.dqOk.set({ ...l, check }, 1);
    }
  }

  private recordStaged(table: string, kind: WindowKind, out: ExtractWindowOutput, ms: number, stage: 'read') {
    const l = this.m.labels(table);
    if (!l) return;
    const encode = out.stageMs?.encode ?? 0;
    const upload = out.stageMs?.upload ?? 0;
    this.m.stageDuration.observe({ ...l, kind, stage }, seconds(ms - encode - upload));
    this.m.stageDuration.observe({ ...l, kind, stage: 'encode' }, seconds(encode));
    this.m.stageDuration.observe({ ...l, kind, stage: 'upload' }, seconds(upload));
    this.m.sourceRowsRead.inc({ ...l, kind }, out.sourceRowsRead ?? out.rows);
    this.m.uploadedBytes.inc(
      { ...l, kind },
      out.files.reduce((n, f) => n + f.bytes, 0),
    );
    if (kind === 'changes') this.m.lagChanges.set(l, out.rows);
  }

  recordThrottle(
    table: string,
    a: ThrottleCounters,
    b: ThrottleCounters,
    backoffRate?: number,
    path: 'window' | 'chunk' = 'window',
  ): void {
    const l = this.m.labels(table);
    if (!l) return;
    // The cap the read's latency back-off set by its end (without one the gauge stays the limit).
    if (backoffRate !== undefined) this.m.throttleRate.set({ ...l, reads: path }, backoffRate);
    if (b.backoffs > a.backoffs) this.m.throttleBackoffs.inc(l, b.backoffs - a.backoffs);
    const waits = {
      slot: b.slotWaitMs - a.slotWaitMs,
      rate: b.rateWaitMs - a.rateWaitMs,
      backoff: b.backoffWaitMs - a.backoffWaitMs,
    };
    for (const [reason, ms] of Object.entries(waits)) if (ms > 0) this.m.throttleWait.inc({ ...l, reason }, ms / 1000);
  }

  onError(name: string, table: string, err: unknown): void {
    const l = this.m.labels(table);
    if (!l) return;
    const stop = stopKindOf(err);
    if (stop === undefined) {
      this.m.retries.inc({ ...l, activity: name, failure_kind: retryKindOf(err) });
      return;
    }
    this.stopKinds.set(table, stop);
    if (stop === 'data_quality') {
      // The check the DataQualityError names (capture/receipt.ts); control totals when it names none.
      const named = (err as { check?: unknown }).check;
      const check = named === 'position_bounds' ? 'position_bounds' : 'control_totals';
      this.m.dqChecks.inc({ ...l, check, result: 'fail' });
      this.m.dqOk.set({ ...l, check }, 0);
    }
  }
}

/**
 * Whether a snapshot job's workflow is a re-seed: the table's sync names a re-seed's job `reseed-<seq>`
 * (state/table-sync-state.ts `beginReseed`), in its workflow id `snapshot/<table>/<job id>` (workflows/chunked-jobs.ts).
 * Counted when the job's chunks are planned (once per job: a planning attempt that fails counts nothing).
 */
export function isReseed(workflowId: string | undefined): boolean {
  return workflowId !== undefined && /^snapshot\/.+\/reseed-[^/]*$/.test(workflowId);
}

function workflowIdOfActivity(): string | undefined {
  try {
    return Context.current().info.workflowExecution?.workflowId;
  } catch {
    return undefined;
  }
}
