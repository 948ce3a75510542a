/**
 * The worker's metrics that no activity reports: each table's state, lag, last commit and running jobs from its
 * workflow's `status` query (the same source of truth `tidemark status` reads, so every worker exports the same
 * values and the rules take max/min), and the source probe — the retention horizon (how long CDC cleanup or
 * Change Tracking retention keeps changes, minus how far behind the table is) and the clock skew. Refreshed on a
 * timer (status every `statusIntervalMs`, the probe at most once a minute), never per scrape, so a scrape never
 * waits on Temporal or SQL Server.
 */
import { Client } from '@temporalio/client';
import type { NativeConnection } from '@temporalio/worker';
import type { StopKinds } from './activities/metered.js';
import type { TidemarkConfig } from './config/types.js';
import { tableRef } from './config/tables.js';
import type { TableRef } from './domain/table.js';
import { STATES, type TidemarkMetrics } from './metrics/tidemark-metrics.js';
import type { SourceConnection } from './source/index.js';
import { changeRetentionSeconds, sourceClockSkewSeconds } from './source/retention.js';
import type { TableSyncStatus } from './state/table-sync-snapshot.js';
import type { Logger } from './util/logger.js';
import { statusQuery } from './workflows/messages.js';
import { tableSyncWorkflowId } from './workflows/table-sync.js';

export interface TableMetricsRefresherOptions {
  readonly config: TidemarkConfig;
  readonly metrics: TidemarkMetrics;
  readonly connection: NativeConnection;
  readonly source: SourceConnection;
  readonly stopKinds: StopKinds;
  readonly logger: Logger;
  /** Default 15 s. */
  readonly statusIntervalMs?: number;
  /** Default 60 s. */
  readonly probeIntervalMs?: number;
}

export interface TableMetricsRefresher {
  /** One refresh of every table's status (and the probe when due); resolves when done. */
  refresh(): Promise<void>;
  stop(): Promise<void>;
}

/** Applies one status answer to the table's gauges. */
export function applyTableStatus(
  metrics: TidemarkMetrics,
  table: string,
  status: TableSyncStatus,
  stopKind: string | undefined,
): void {
  const l = metrics.labels(table);
  if (!l) return;
  for (const state of STATES) metrics.tableState.set({ ...l, state }, status.mode === state ? 1 : 0);
  // The stop reason is exported only while the table is stopped; a resumed table drops its series.
  for (const kind of new Set(['other', ...Object.values(STOP_KIND_VALUES)]))
    metrics.stopReason.remove({ ...l, failure_kind: kind });
  if (status.mode === 'stopped') metrics.stopReason.set({ ...l, failure_kind: stopKind ?? 'other' }, 1);
  if (status.lagSeconds !== null) metrics.setLag(table, status.lagSeconds);
  if (status.lastCommitted) metrics.lastCommit.set(l, Date.parse(status.lastCommitted.committedAt) / 1000);
  const running = new Set(status.jobs.filter((j) => j.state === 'running').map((j) => j.kind));
  for (const kind of ['snapshot', 'backfill', 'sweep', 'reconcile']) {
    metrics.jobsRunning.set({ ...l, kind }, running.has(kind) ? 1 : 0);
    if (!running.has(kind)) metrics.jobChunksPlanned.set({ ...l, kind }, 0);
  }
}

const STOP_KIND_VALUES = [
  'change_log_gap',
  'incompatible_schema_change',
  'config',
  'prerequisite',
  'window_conflict',
  'data_quality',
];

/** Starts refreshing; the first refresh runs at once. */
export function startTableMetricsRefresher(options: TableMetricsRefresherOptions): TableMetricsRefresher {
  const { config, metrics, source, logger } = options;
  const client = new Client({ connection: options.connection, namespace: config.temporal.namespace });
  const refs: TableRef[] = config.tables.map((t) => tableRef(config, t));
  const retention = new Map<string, number>();
  const probeEvery = options.probeIntervalMs ?? 60_000;
  let lastProbe = 0;
  let running: Promise<void> | undefined;

  async function refreshStatus(ref: TableRef): Promise<void> {
    const handle = client.workflow.getHandle(tableSyncWorkflowId(ref.id));
    try {
      const status = await options.connection.withDeadline(Date.now() + 5000, () => handle.query(statusQuery));
      applyTableStatus(metrics, ref.id, status, options.stopKinds.get(ref.id));
    } catch {
      // Not started yet, or no worker answered in time: the gauges keep their last value (the rules' staleness
      // and no-worker alerts cover a table nobody serves).
    }
  }

  async function probe(): Promise<void> {
    const t0 = Date.now();
    try {
      metrics.clockSkew.set({ database: config.source.database }, await sourceClockSkewSeconds(source));
    } catch {
      // The source is unreachable: the windows' own failures say so (retries, staleness).
    }
    for (const ref of refs) {
      const l = metrics.labels(ref.id);
      if (!l) continue;
      const seconds = await changeRetentionSeconds(source, ref.strategy).catch(() => null);
      if (seconds !== null) retention.set(ref.id, seconds);
      metrics.queryDuration.observe({ ...l, query: 'probe' }, (Date.now() - t0) / 1000);
    }
  }

  /**
   * Retention horizon: how long the source keeps changes − how far behind the table is (the age of the oldest
   * change it still needs), recomputed at every refresh from the last probed retention and the latest lag.
   */
  function updateHorizons(): void {
    for (const ref of refs) {
      const l = metrics.labels(ref.id);
      const keep = retention.get(ref.id);
      const behind = metrics.lagSecondsValue(ref.id);
      if (l && keep !== undefined && behind !== undefined) metrics.retentionHorizon.set(l, keep - behind);
    }
  }

  async function refresh(): Promise<void> {
    for (const ref of refs) await refreshStatus(ref);
    if (Date.now() - lastProbe >= probeEvery) {
      lastProbe = Date.now();
      await probe();
    }
    updateHorizons();
  }

  const tick = () => {
    if (running) return;
    running = refresh()
      .catch((err: unknown) => logger.warn({ error: (err as Error).message }, 'metrics refresh failed'))
      .finally(() => (running = undefined));
  };
  tick();
  const timer = setInterval(tick, options.statusIntervalMs ?? 15_000);
  timer.unref();
  return {
    refresh: async () => {
      await running;
      await refresh();
    },
    stop: async () => {
      clearInterval(timer);
      await running;
    },
  };
}
