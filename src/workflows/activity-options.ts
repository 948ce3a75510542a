/**
 * Each activity's timeouts, matched to what it does. Workflow code (deterministic): only option objects here.
 *
 * Every activity heartbeats on time while it runs (src/activities/heartbeat.ts), so a killed worker's activity
 * is found by its heartbeat timeout (default 30 s) and retried on another worker, whatever it was doing. The
 * start-to-close timeout only bounds an activity whose worker is alive but which never finishes: short for the
 * steps that do a few small reads and writes, long for the reads whose length is set by the data and by
 * `limits.maxRowsPerSecond` (a window read at 15 rows/s for hours is legitimate).
 */
import { ActivityCancellationType, proxyActivities, type ActivityOptions } from '@temporalio/workflow';
import type { Duration } from '@temporalio/common';
import type { ChunkedJobActivities, TableSyncActivities } from '../activities/contracts.js';
import { ACTIVITY_RETRY } from './retry.js';

/** Overrides for tests (a small heartbeat timeout makes a missed heartbeat show in seconds). */
export interface ActivityTimeouts {
  /** Start-to-close of one window's extraction, or of one of its sub-ranges (default 24 h). */
  extractStartToCloseSeconds?: number;
  /** Heartbeat timeout of every activity (default 30 s). */
  heartbeatSeconds?: number;
}

/** Start-to-close timeouts (see the module comment for why each is what it is). */
export const START_TO_CLOSE = {
  /** Discovery, then the manifest chain read back to the newest window that carries a position. */
  readWatermark: '10m',
  /** A few catalog and bound queries, each bounded by `limits.queryTimeout` (default 2 min). */
  planWindow: '30m',
  /** DuckDB over the window's staged Parquet files. */
  validateWindow: '1h',
  /** One conditional manifest write after reading the staged files' properties. */
  commitManifest: '10m',
  /** A few blob reads and one compare-and-swap of `_state/watermark.json`. */
  advanceWatermark: '1m',
  /** One boundary query per chunk (and the sweep's range from the lake). */
  planChunks: '1h',
  /** One chunk's read, compare and staging: as long as the rows and the rows/s cap make it. */
  runChunk: '24h',
  extractWindow: '24h',
  /** One sub-range of a split window: the same read as extractWindow's, over a part of its bounds. */
  extractSubRange: '24h',
} as const satisfies Record<keyof TableSyncActivities | keyof ChunkedJobActivities, Duration>;

function options(startToCloseTimeout: Duration, t: ActivityTimeouts, cancellable = false): ActivityOptions {
  return {
    startToCloseTimeout,
    heartbeatTimeout: (t.heartbeatSeconds ?? 30) * 1000,
    retry: ACTIVITY_RETRY,
    // A pause-now (or a cancelled job) reaches a long read with its next heartbeat; wait until it has stopped.
    ...(cancellable ? { cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED } : {}),
  };
}

/** The activities of a table's sync, each with its own timeouts. */
export function tableSyncActivities(t: ActivityTimeouts = {}): TableSyncActivities {
  const proxy = (o: ActivityOptions) => proxyActivities<TableSyncActivities>(o);
  const s = START_TO_CLOSE;
  const extract: Duration =
    t.extractStartToCloseSeconds !== undefined ? t.extractStartToCloseSeconds * 1000 : s.extractWindow;
  return {
    readWatermark: proxy(options(s.readWatermark, t)).readWatermark,
    planWindow: proxy(options(s.planWindow, t)).planWindow,
    extractWindow: proxy(options(extract, t, true)).extractWindow,
    extractSubRange: proxy(options(extract, t, true)).extractSubRange,
    validateWindow: proxy(options(s.validateWindow, t)).validateWindow,
    commitManifest: proxy(options(s.commitManifest, t)).commitManifest,
    advanceWatermark: proxy(options(s.advanceWatermark, t)).advanceWatermark,
  };
}

/** The activities of a chunked job (its windows are validated and committed like the sync's). */
export function chunkedJobActivities(t: ActivityTimeouts = {}): ChunkedJobActivities & TableSyncActivities {
  const jobs = (o: ActivityOptions) => proxyActivities<ChunkedJobActivities>(o);
  return {
    ...tableSyncActivities(t),
    planChunks: jobs(options(START_TO_CLOSE.planChunks, t)).planChunks,
    runChunk: jobs(options(START_TO_CLOSE.runChunk, t, true)).runChunk,
  };
}
