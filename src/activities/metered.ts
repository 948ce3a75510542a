/**
 * Feeds the worker's metrics (src/metrics) from the activities' inputs and outputs: every activity already
 * returns counts, positions and timings, so metering is a wrapper around each one, not code inside the engine.
 * Labels come from the configured table (its id and strategy) and fixed sets only.
 *
 * Errors are observed before the boundary translates them: a retryable error counts in
 * `tidemark_retries_total{failure_kind}`; a stopping one is remembered as the table's stop reason, which the
 * status refresher (src/worker-metrics.ts) exports while the table is stopped.
 */
import { Context } from '@temporalio/activity';
import { FailureType } from '../domain/failures.js';
import type { WindowPlan } from '../domain/window.js';
import { BlobStoreError } from '../lake/errors.js';
import type { TidemarkMetrics, WindowKind } from '../metrics/tidemark-metrics.js';
import { TransientSourceError } from '../source/errors.js';
import type {
  CommitManifestInput,
  CommitManifestOutput,
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
import { failureTypeOf } from './failures.js';

/** The `failure_kind` of a stopping failure type (docs/metrics.md). */
const STOP_KINDS: Record<string, string> = {
  [FailureType.ChangeLogGap]: 'change_log_gap',
  [FailureType.IncompatibleSchemaChange]: 'incompatible_schema_change',
  [FailureType.Config]: 'config',
  [FailureType.Prerequisite]: 'prerequisite',
  [FailureType.WindowConflict]: 'window_conflict',
  DataQualityError: 'data_quality',
};

/** The `failure_kind` of a retryable error, by its class (never by its message). */
export function retryKindOf(err: unknown): string {
  if (err instanceof TransientSourceError) return 'source_transient';
  if (err instanceof BlobStoreError)
    return err.statusCode === 429 || err.statusCode === 503 ? 'sink_throttled' : 'sink_transient';
  return 'other';
}

/** The `failure_kind` of a stopping error, or undefined for a retryable one. */
export function stopKindOf(err: unknown): string | undefined {
  const type = failureTypeOf(err);
  return type === undefined ? undefined : (STOP_KINDS[type] ?? 'other');
}

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

/** A table's stop reason as last observed on this worker (exported while the table is `stopped`). */
export type StopKinds = Map<string, string>;

export interface ActivityMeter {
  /** Wraps one activity: times it, records its output, observes its errors (rethrown unchanged). */
  wrap<I extends { table: { id: string } }, O>(name: string, fn: (input: I) => Promise<O>): (input: I) => Promise<O>;
  readonly stopKinds: StopKinds;
}

/** The source connection's throttle counters (cumulative), read around each read to attribute them to its table. */
export interface ThrottleCounters {
  readonly backoffs: number;
  readonly slotWaitMs: number;
  readonly rateWaitMs: number;
  readonly backoffWaitMs: number;
}

/**
 * The metering of `metrics` (undefined: activities run unmetered, as in tests and benches). `throttle` reads the
 * source-wide throttle's counters: their growth during a table's read is attributed to that table (reads of
 * several tables at once share the waits; the sum over tables stays right).
 */
export function activityMeter(metrics: TidemarkMetrics | undefined, throttle?: () => ThrottleCounters): ActivityMeter {
  const stopKinds: StopKinds = new Map();
  const marks = new Map<string, PlanMark>();
  const throughs = new Map<string, number>();
  if (!metrics) return { wrap: (_name, fn) => fn, stopKinds };
  const m = metrics;

  const onOutput: Record<string, (input: never, output: never, ms: number) => void> = {
    planWindow: (input: PlanWindowInput, out: PlanWindowOutput, ms: number) => {
      const l = m.labels(input.table.id);
      if (!l) return;
      m.stageDuration.observe({ ...l, kind: 'changes', stage: 'plan' }, seconds(ms));
      m.queryDuration.observe({ ...l, query: 'plan' }, seconds(ms));
      const now = Date.now();
      // Complete through: CDC measures its lag (lsn_time_mapping); for the others a plan that found nothing new
      // read the source's bound now, so the lake is complete through now; a window with changes leaves the
      // time the committed bound was read (known on this worker once a window committed or a plan was empty).
      let through: number | undefined;
      if (out.lagSeconds !== null) through = now - out.lagSeconds * 1000;
      else if (!out.window || out.window.idle) through = now;
      else through = throughs.get(l.table);
      if (through !== undefined) setThrough(l, through, now);
      if (out.window && through !== undefined) marks.set(l.table, { seq: out.window.seq, completeThroughMs: through });
      if (!out.window) m.lagChanges.set(l, 0);
      const db = m.tables.get(l.table)?.database;
      if (db !== undefined && out.captureLatencySeconds !== undefined && out.captureLatencySeconds !== null)
        m.cdcCaptureLatency.set({ database: db }, out.captureLatencySeconds);
    },
    extractWindow: (input: ExtractWindowInput, out: ExtractWindowOutput, ms: number) =>
      recordStaged(input.table.id, kindOf(input.window), out, ms, 'read'),
    validateWindow: (input: ValidateWindowInput, out: ValidateWindowOutput, ms: number) => {
      const l = m.labels(input.table.id);
      if (!l) return;
      m.stageDuration.observe({ ...l, kind: kindOf(input.window), stage: 'commit' }, seconds(ms));
      if (out.sourceRowsRead !== undefined) {
        // A sampled window's receipt agreed with the source; what that cost the source.
        m.sourceRowsRead.inc({ ...l, kind: 'receipt' }, out.sourceRowsRead);
        m.dqChecks.inc({ ...l, check: 'control_totals', result: 'pass' });
        m.dqOk.set({ ...l, check: 'control_totals' }, 1);
      }
    },
    commitManifest: (input: CommitManifestInput, out: CommitManifestOutput, ms: number) => {
      const l = m.labels(input.table.id);
      if (!l) return;
      const kind = kindOf(input.window);
      m.stageDuration.observe({ ...l, kind, stage: 'commit' }, seconds(ms));
      if (out.alreadyCommitted) return; // counted by the attempt that committed it
      const now = Date.now();
      const { rows, opCounts } = input.extract;
      for (const [op, n] of Object.entries(opCounts)) if (n > 0) m.eventsLanded.inc({ ...l, kind, op }, n);
      m.windowsCommitted.inc({ ...l, kind });
      if (rows === 0) m.emptyWindowsCommitted.inc({ ...l, kind });
      m.lastCommit.set(l, now / 1000);
      if (kind === 'changes') {
        const mark = marks.get(l.table);
        // Upper bound of each event's freshness: every event of (from, to] committed after the source time the
        // lake was complete through when the window was planned (docs/metrics.md, "how the upper bound is labelled").
        if (mark && mark.seq === input.window.seq && rows > 0) {
          const bound = seconds(now - mark.completeThroughMs);
          for (let i = 0; i < rows; i++) m.freshness.observe({ ...l, basis: 'upper_bound' }, bound);
        }
        if (!input.window.more) {
          m.lagChanges.set(l, 0);
          // The window read everything up to its bound, which was read when it was planned.
          const planned = Date.parse(input.window.plannedAt);
          if (planned > (throughs.get(l.table) ?? 0)) setThrough(l, planned, now);
        }
      } else {
        m.jobChunksDone.inc({ ...l, kind });
        const chunk = input.window.keyRange;
        if (chunk?.count !== undefined && chunk.index === chunk.count - 1) {
          m.jobsFinished.inc({ ...l, kind, result: 'pass' });
          // A snapshot hands over at its job position: the lake is complete through about when it was planned.
          if (kind === 'snapshot') setThrough(l, Date.parse(input.window.plannedAt), now);
        }
      }
      // The receipt's checks passed (validate refuses a window otherwise; a data-quality failure records itself).
      recordChecks(l);
    },
    planChunks: (input: PlanChunksInput, out: PlanChunksOutput, ms: number) => {
      const l = m.labels(input.table.id);
      if (!l) return;
      m.stageDuration.observe({ ...l, kind: input.job.kind, stage: 'plan' }, seconds(ms));
      m.jobChunksPlanned.set({ ...l, kind: input.job.kind }, out.chunks.length);
    },
    runChunk: (input: RunChunkInput, out: RunChunkOutput, ms: number) => {
      const l = m.labels(input.table.id);
      if (!l) return;
      const kind = input.job.kind;
      if (out.staged) recordStaged(input.table.id, kind, out.staged, ms, 'read');
      else m.sourceRowsRead.inc({ ...l, kind }, out.sourceRowsRead);
      if (out.compared) {
        m.jobChunksCompared.inc({ ...l, kind });
        if (out.compared.differs) m.jobChunksReextracted.inc({ ...l, kind });
      }
    },
  };

  function setThrough(l: { table: string; strategy: string }, through: number, now: number): void {
    throughs.set(l.table, through);
    m.completeThrough.set(l, through / 1000);
    m.setLag(l.table, Math.max(0, (now - through) / 1000));
  }

  function recordChecks(l: { table: string; strategy: string }): void {
    for (const check of ['null_keys', 'duplicate_key_position', 'op_counts'] as const) {
      m.dqChecks.inc({ ...l, check, result: 'pass' });
      m.dqOk.set({ ...l, check }, 1);
    }
  }

  function recordStaged(table: string, kind: WindowKind, out: ExtractWindowOutput, ms: number, stage: 'read') {
    const l = m.labels(table);
    if (!l) return;
    const encode = out.stageMs?.encode ?? 0;
    const upload = out.stageMs?.upload ?? 0;
    m.stageDuration.observe({ ...l, kind, stage }, seconds(ms - encode - upload));
    m.stageDuration.observe({ ...l, kind, stage: 'encode' }, seconds(encode));
    m.stageDuration.observe({ ...l, kind, stage: 'upload' }, seconds(upload));
    m.sourceRowsRead.inc({ ...l, kind }, out.sourceRowsRead ?? out.rows);
    m.uploadedBytes.inc(
      { ...l, kind },
      out.files.reduce((n, f) => n + f.bytes, 0),
    );
    if (kind === 'changes') m.lagChanges.set(l, out.rows);
  }

  function recordThrottle(table: string, a: ThrottleCounters, b: ThrottleCounters): void {
    const l = m.labels(table);
    if (!l) return;
    if (b.backoffs > a.backoffs) m.throttleBackoffs.inc(l, b.backoffs - a.backoffs);
    const waits = {
      slot: b.slotWaitMs - a.slotWaitMs,
      rate: b.rateWaitMs - a.rateWaitMs,
      backoff: b.backoffWaitMs - a.backoffWaitMs,
    };
    for (const [reason, ms] of Object.entries(waits)) if (ms > 0) m.throttleWait.inc({ ...l, reason }, ms / 1000);
  }

  function onError(name: string, table: string, err: unknown): void {
    const l = m.labels(table);
    if (!l) return;
    const stop = stopKindOf(err);
    if (stop === undefined) {
      m.retries.inc({ ...l, activity: name, failure_kind: retryKindOf(err) });
      return;
    }
    stopKinds.set(table, stop);
    if (stop === 'data_quality') {
      m.dqChecks.inc({ ...l, check: 'control_totals', result: 'fail' });
      m.dqOk.set({ ...l, check: 'control_totals' }, 0);
    }
  }

  return {
    stopKinds,
    wrap: (name, fn) => async (input) => {
      const t0 = Date.now();
      const reads = name === 'extractWindow' || name === 'runChunk';
      const before = reads && throttle ? { ...throttle() } : undefined;
      let out;
      try {
        out = await fn(input);
      } catch (err) {
        try {
          onError(name, input.table.id, err);
        } catch {
          // Metering never changes an activity's outcome.
        }
        throw err;
      } finally {
        if (before && throttle) recordThrottle(input.table.id, before, throttle());
      }
      try {
        onOutput[name]?.(input as never, out as never, Date.now() - t0);
      } catch (err) {
        activityLogWarn(err);
      }
      return out;
    },
  };
}

function activityLogWarn(err: unknown): void {
  try {
    Context.current().log.warn('metrics: could not record an activity result', {
      error: err instanceof Error ? err.message : String(err),
    });
  } catch {
    // Outside an activity (direct calls).
  }
}
