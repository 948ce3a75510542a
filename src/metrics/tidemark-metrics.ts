/**
 * Tidemark's Prometheus series, exactly as docs/metrics.md catalogues them (names, types, labels, buckets), in one
 * prom-client registry per worker. Labels are bounded: the configured table id, its strategy and the small fixed
 * sets of the catalogue — never a key, a value, a position or a message.
 *
 * Why prom-client and not OpenTelemetry with its Prometheus exporter: the contract is Prometheus' own (names with
 * `_total` and unit suffixes, histograms with the alert thresholds as bucket bounds, a text endpoint scraped by
 * Prometheus); prom-client writes exactly that with one small dependency, while the OpenTelemetry SDK adds a
 * meter provider, views to set buckets, and an exporter that rewrites names (unit suffixes, `_total`) by its own
 * rules. The Temporal SDK exports its runtime metrics itself (from its Rust core), so OpenTelemetry would buy
 * nothing there either.
 *
 * Counters start at 0 for every configured table and every label value fixed in advance (docs/metrics.md), so
 * `rate()` sees the first event; `failure_kind` and `activity` combinations appear at first use.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { CHANGE_OPS } from '../domain/values.js';

export const KINDS = ['changes', 'snapshot', 'backfill', 'sweep', 'reconcile'] as const;
export const READ_KINDS = [...KINDS, 'receipt', 'verify'] as const;
export const STAGES = ['plan', 'read', 'encode', 'upload', 'commit'] as const;
export const STATES = ['running', 'paused', 'stopped', 'reseeding'] as const;
export const BASES = ['commit_time', 'upper_bound'] as const;
export const THROTTLE_REASONS = ['slot', 'rate', 'backoff'] as const;
export const QUERIES = ['plan', 'read', 'chunk', 'receipt', 'probe'] as const;
export const DQ_CHECKS = [
  'null_keys',
  'duplicate_key_position',
  'position_bounds',
  'op_counts',
  'control_totals',
] as const;
export const JOB_KINDS = ['snapshot', 'backfill', 'sweep', 'reconcile'] as const;
/** Where a lineage event can fail to go (src/lineage/emitter.ts): the `destination` label. */
export const LINEAGE_DESTINATIONS = ['endpoint', 'lake', 'queue', 'build'] as const;
/** The activities (the `activity` label of retries). */
export const ACTIVITIES = [
  'readWatermark',
  'planWindow',
  'extractWindow',
  'extractSubRange',
  'validateWindow',
  'commitManifest',
  'advanceWatermark',
  'planChunks',
  'runChunk',
] as const;
/** Retryable failure kinds (docs/metrics.md). */
export const RETRY_KINDS = [
  'source_transient',
  'source_timeout',
  'sink_transient',
  'sink_throttled',
  'timeout',
  'other',
] as const;

export type WindowKind = (typeof KINDS)[number];
export type ReadKind = (typeof READ_KINDS)[number];
export type Stage = (typeof STAGES)[number];
export type DataQualityCheck = (typeof DQ_CHECKS)[number];

/** A configured table as the metrics label it. */
export interface MeteredTable {
  /** `<database>.<schema>.<table>`, as `tidemark status` shows it. */
  readonly table: string;
  readonly strategy: string;
  readonly cadenceSeconds: number;
  readonly maxRowsPerSecond: number;
  /** The chunk reads' own cap (`limits.maxChunkRowsPerSecond`, or the back-off's ceiling); absent: uncapped. */
  readonly chunkMaxRowsPerSecond?: number;
  /** The source database (the `database` label of source-health series). */
  readonly database: string;
}

const FRESHNESS_BUCKETS = [5, 15, 30, 60, 120, 300, 600, 900, 1200, 1800, 2700, 3600, 7200, 14400, 43200, 86400];
const STAGE_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];
const QUERY_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

type TS = 'table' | 'strategy';

/** Every Tidemark series of one worker, registered in {@link TidemarkMetrics.registry}. */
export class TidemarkMetrics {
  readonly registry = new Registry();
  readonly tables: ReadonlyMap<string, MeteredTable>;

  private readonly reg = [this.registry];
  readonly eventsLanded = new Counter<TS | 'kind' | 'op'>({
    name: 'tidemark_events_landed_total',
    help: 'Change events made visible in the lake by a committed manifest.',
    labelNames: ['table', 'strategy', 'kind', 'op'],
    registers: this.reg,
  });
  readonly windowsCommitted = new Counter<TS | 'kind'>({
    name: 'tidemark_windows_committed_total',
    help: 'Manifests committed: one per incremental window and one per job chunk.',
    labelNames: ['table', 'strategy', 'kind'],
    registers: this.reg,
  });
  readonly emptyWindowsCommitted = new Counter<TS | 'kind'>({
    name: 'tidemark_empty_windows_committed_total',
    help: 'Manifests committed with no event.',
    labelNames: ['table', 'strategy', 'kind'],
    registers: this.reg,
  });
  readonly sourceRowsRead = new Counter<TS | 'kind'>({
    name: 'tidemark_source_rows_read_total',
    help: 'Rows the source returned to Tidemark.',
    labelNames: ['table', 'strategy', 'kind'],
    registers: this.reg,
  });
  readonly stageDuration = new Histogram<TS | 'kind' | 'stage'>({
    name: 'tidemark_window_stage_duration_seconds',
    help: 'Time one window (or job chunk) spent in each stage.',
    labelNames: ['table', 'strategy', 'kind', 'stage'],
    buckets: STAGE_BUCKETS,
    registers: this.reg,
  });
  readonly uploadedBytes = new Counter<TS | 'kind'>({
    name: 'tidemark_uploaded_bytes_total',
    help: 'Bytes of Parquet parts written to Blob Storage, every attempt.',
    labelNames: ['table', 'strategy', 'kind'],
    registers: this.reg,
  });
  readonly lastCommit = new Gauge<TS>({
    name: 'tidemark_table_last_commit_timestamp_seconds',
    help: "When the table's newest manifest was committed (Unix seconds).",
    labelNames: ['table', 'strategy'],
    registers: this.reg,
  });
  readonly completeThrough = new Gauge<TS>({
    name: 'tidemark_lake_complete_through_timestamp_seconds',
    help: 'The source time up to which the lake holds every committed change of the table (Unix seconds).',
    labelNames: ['table', 'strategy'],
    registers: this.reg,
  });
  readonly lagSeconds = new Gauge<TS>({
    name: 'tidemark_lag_seconds',
    help: 'How far the committed position is behind the source, at the last plan or status.',
    labelNames: ['table', 'strategy'],
    registers: this.reg,
  });
  readonly lagChanges = new Gauge<TS>({
    name: 'tidemark_lag_changes',
    help: 'Change events read but not yet committed (the pending window); 0 when caught up.',
    labelNames: ['table', 'strategy'],
    registers: this.reg,
  });
  readonly freshness = new Histogram<TS | 'basis'>({
    name: 'tidemark_freshness_seconds',
    help: "Per change event landed by an incremental window: manifest committed - the change's source commit time (or an upper bound).",
    labelNames: ['table', 'strategy', 'basis'],
    buckets: FRESHNESS_BUCKETS,
    registers: this.reg,
  });
  readonly cadence = new Gauge<TS>({
    name: 'tidemark_table_cadence_seconds',
    help: "The table's configured cadence.",
    labelNames: ['table', 'strategy'],
    registers: this.reg,
  });
  readonly tableState = new Gauge<TS | 'state'>({
    name: 'tidemark_table_state',
    help: "1 for the table's current state, 0 for the others.",
    labelNames: ['table', 'strategy', 'state'],
    registers: this.reg,
  });
  readonly stopReason = new Gauge<TS | 'failure_kind'>({
    name: 'tidemark_table_stop_reason',
    help: '1 for the failure kind that stopped the table, while it is stopped.',
    labelNames: ['table', 'strategy', 'failure_kind'],
    registers: this.reg,
  });
  readonly reseeds = new Counter<TS>({
    name: 'tidemark_reseeds_total',
    help: 'Re-seeds (snapshot jobs) started after a change-log gap.',
    labelNames: ['table', 'strategy'],
    registers: this.reg,
  });
  readonly throttleRate = new Gauge<TS | 'reads'>({
    name: 'tidemark_throttle_rows_per_second',
    help: 'The rows/s cap in force now, of window reads (reads="window") or job chunk reads (reads="chunk").',
    labelNames: ['table', 'strategy', 'reads'],
    registers: this.reg,
  });
  readonly throttleLimit = new Gauge<TS | 'reads'>({
    name: 'tidemark_throttle_limit_rows_per_second',
    help: 'The configured cap: limits.maxRowsPerSecond (reads="window"), the chunk reads\' cap (reads="chunk").',
    labelNames: ['table', 'strategy', 'reads'],
    registers: this.reg,
  });
  readonly throttleBackoffs = new Counter<TS>({
    name: 'tidemark_throttle_backoffs_total',
    help: "Times the throttle halved the rate because a query's latency rose above its baseline.",
    labelNames: ['table', 'strategy'],
    registers: this.reg,
  });
  readonly throttleWait = new Counter<TS | 'reason'>({
    name: 'tidemark_throttle_wait_seconds_total',
    help: 'Time reads waited for a query slot, the rows/s cap, or in back-off pauses.',
    labelNames: ['table', 'strategy', 'reason'],
    registers: this.reg,
  });
  readonly retries = new Counter<TS | 'activity' | 'failure_kind'>({
    name: 'tidemark_retries_total',
    help: 'Activity attempts that failed with a retryable error.',
    labelNames: ['table', 'strategy', 'activity', 'failure_kind'],
    registers: this.reg,
  });
  readonly jobsRunning = new Gauge<TS | 'kind'>({
    name: 'tidemark_jobs_running',
    help: 'Jobs of the table running now (0 or 1).',
    labelNames: ['table', 'strategy', 'kind'],
    registers: this.reg,
  });
  readonly jobChunksPlanned = new Gauge<TS | 'kind'>({
    name: 'tidemark_job_chunks_planned',
    help: 'Chunks the running job planned (0 when none runs).',
    labelNames: ['table', 'strategy', 'kind'],
    registers: this.reg,
  });
  readonly jobChunksDone = new Counter<TS | 'kind'>({
    name: 'tidemark_job_chunks_done_total',
    help: 'Job chunks committed.',
    labelNames: ['table', 'strategy', 'kind'],
    registers: this.reg,
  });
  readonly jobChunksCompared = new Counter<TS | 'kind'>({
    name: 'tidemark_job_chunks_compared_total',
    help: "Sweep and backfill chunks compared with the lake's latest state.",
    labelNames: ['table', 'strategy', 'kind'],
    registers: this.reg,
  });
  readonly jobChunksReextracted = new Counter<TS | 'kind'>({
    name: 'tidemark_job_chunks_reextracted_total',
    help: 'Compared chunks that differed and were re-extracted.',
    labelNames: ['table', 'strategy', 'kind'],
    registers: this.reg,
  });
  readonly jobsFinished = new Counter<TS | 'kind' | 'result'>({
    name: 'tidemark_jobs_finished_total',
    help: 'Jobs ended, by result.',
    labelNames: ['table', 'strategy', 'kind', 'result'],
    registers: this.reg,
  });
  readonly dqChecks = new Counter<TS | 'check' | 'result'>({
    name: 'tidemark_data_quality_checks_total',
    help: 'Data-quality checks of window receipts, by result.',
    labelNames: ['table', 'strategy', 'check', 'result'],
    registers: this.reg,
  });
  readonly dqOk = new Gauge<TS | 'check'>({
    name: 'tidemark_data_quality_check_ok',
    help: 'The last result of this check: 1 passed, 0 failed.',
    labelNames: ['table', 'strategy', 'check'],
    registers: this.reg,
  });
  readonly queryDuration = new Histogram<TS | 'query'>({
    name: 'tidemark_source_query_duration_seconds',
    help: 'Time from sending a query to its first row (or completion).',
    labelNames: ['table', 'strategy', 'query'],
    buckets: QUERY_BUCKETS,
    registers: this.reg,
  });
  readonly cdcCaptureLatency = new Gauge<'database'>({
    name: 'tidemark_source_cdc_capture_latency_seconds',
    help: "The CDC capture job's latency: seconds since the newest captured change, by the source's clock.",
    labelNames: ['database'],
    registers: this.reg,
  });
  readonly secondaryRedoLag = new Gauge<'database'>({
    name: 'tidemark_source_secondary_redo_lag_seconds',
    help: 'How far the readable secondary Tidemark reads is behind the primary.',
    labelNames: ['database'],
    registers: this.reg,
  });
  readonly retentionHorizon = new Gauge<TS>({
    name: 'tidemark_retention_horizon_seconds',
    help: "Time until CDC cleanup or Change Tracking retention can remove changes after the table's committed position.",
    labelNames: ['table', 'strategy'],
    registers: this.reg,
  });
  readonly clockSkew = new Gauge<'database'>({
    name: 'tidemark_source_clock_skew_seconds',
    help: "The source's clock minus the worker's, measured with each probe.",
    labelNames: ['database'],
    registers: this.reg,
  });
  readonly lineageFailures = new Counter<'destination'>({
    name: 'tidemark_lineage_delivery_failures_total',
    help: 'Lineage events that did not reach a destination (endpoint, lake), were dropped (queue) or not built.',
    labelNames: ['destination'],
    registers: this.reg,
  });
  readonly workerInfo = new Gauge<'namespace' | 'task_queue' | 'version'>({
    name: 'tidemark_worker_info',
    help: 'Always 1: which Tidemark version serves which task queue.',
    labelNames: ['namespace', 'task_queue', 'version'],
    registers: this.reg,
  });

  constructor(tables: readonly MeteredTable[]) {
    this.tables = new Map(tables.map((t) => [t.table, t]));
    for (const t of tables) this.initTable(t);
    for (const destination of LINEAGE_DESTINATIONS) this.lineageFailures.inc({ destination }, 0);
  }

  private readonly lastLag = new Map<string, number>();

  /** Sets the table's lag (seconds), remembered for the retention horizon. */
  setLag(table: string, seconds: number): void {
    const l = this.labels(table);
    if (!l) return;
    this.lagSeconds.set(l, seconds);
    this.lastLag.set(table, seconds);
  }

  /** The lag last set for the table, if any. */
  lagSecondsValue(table: string): number | undefined {
    return this.lastLag.get(table);
  }

  /** The labels of a configured table (undefined for a table this worker was not configured with). */
  labels(table: string): { table: string; strategy: string } | undefined {
    const t = this.tables.get(table);
    return t ? { table: t.table, strategy: t.strategy } : undefined;
  }

  /** Zeroes the table's counters and histograms for every fixed label value, and sets its configured gauges. */
  private initTable(t: MeteredTable): void {
    const l = { table: t.table, strategy: t.strategy };
    for (const kind of KINDS) {
      for (const op of CHANGE_OPS) this.eventsLanded.inc({ ...l, kind, op }, 0);
      this.windowsCommitted.inc({ ...l, kind }, 0);
      this.emptyWindowsCommitted.inc({ ...l, kind }, 0);
      this.uploadedBytes.inc({ ...l, kind }, 0);
      for (const stage of STAGES) this.stageDuration.zero({ ...l, kind, stage });
    }
    for (const kind of READ_KINDS) this.sourceRowsRead.inc({ ...l, kind }, 0);
    for (const basis of BASES) this.freshness.zero({ ...l, basis });
    for (const reason of THROTTLE_REASONS) this.throttleWait.inc({ ...l, reason }, 0);
    for (const query of QUERIES) this.queryDuration.zero({ ...l, query });
    for (const check of DQ_CHECKS) for (const result of ['pass', 'fail']) this.dqChecks.inc({ ...l, check, result }, 0);
    for (const kind of JOB_KINDS) {
      this.jobsRunning.set({ ...l, kind }, 0);
      this.jobChunksPlanned.set({ ...l, kind }, 0);
      this.jobChunksDone.inc({ ...l, kind }, 0);
      this.jobChunksCompared.inc({ ...l, kind }, 0);
      this.jobChunksReextracted.inc({ ...l, kind }, 0);
      for (const result of ['pass', 'fail']) this.jobsFinished.inc({ ...l, kind, result }, 0);
    }
    for (const activity of ACTIVITIES)
      for (const failure_kind of RETRY_KINDS) this.retries.inc({ ...l, activity, failure_kind }, 0);
    this.reseeds.inc(l, 0);
    this.throttleBackoffs.inc(l, 0);
    this.cadence.set(l, t.cadenceSeconds);
    this.throttleLimit.set({ ...l, reads: 'window' }, t.maxRowsPerSecond);
    this.throttleRate.set({ ...l, reads: 'window' }, t.maxRowsPerSecond);
    if (t.chunkMaxRowsPerSecond !== undefined) {
      this.throttleLimit.set({ ...l, reads: 'chunk' }, t.chunkMaxRowsPerSecond);
      this.throttleRate.set({ ...l, reads: 'chunk' }, t.chunkMaxRowsPerSecond);
    }
  }

  /** The Prometheus text exposition of every series. */
  async text(): Promise<string> {
    return this.registry.metrics();
  }
}
