/**
 * src/source: everything that reads SQL Server. Public API:
 *
 * - {@link SourceConnection} (connection.ts): the throttled, retried, streaming pool; `SourceConnection.open`.
 * - {@link discoverTable} (discovery.ts), {@link checkPrerequisites} / {@link assertPrerequisites}.
 * - {@link createStrategy}: the table's {@link CaptureStrategy} from its config (planWindow / readWindow).
 * - Chunk reads (chunks.ts), the type mapping (type-mapping.ts, docs/type-mapping.md), positions
 *   (positions.ts), errors (errors.ts).
 */
import type { TableConfig } from '../config/types.js';
import type { SourceConnection } from './connection.js';
import type { TableDiscovery } from './discovery.js';
import { CdcStrategy } from './strategies/cdc.js';
import { ChangeTrackingStrategy } from './strategies/change-tracking.js';
import { IdentityStrategy } from './strategies/identity.js';
import { RowversionStrategy } from './strategies/rowversion.js';
import { UpdatedAtStrategy, type SeenEvents } from './strategies/updated-at.js';
import type { CaptureStrategy, StrategyOptions } from './strategies/types.js';
import { SourceThrottle } from './throttle.js';

export * from './errors.js';
export { SourceConnection, buildPoolConfig, assertNoDirtyReads } from './connection.js';
export type { QueryParam, RowBatch, ResultColumn } from './connection.js';
export { SourceThrottle, type ThrottleOptions, type ThrottleStats } from './throttle.js';
export { transientReason, withTransientRetry, TRANSIENT_SQL_NUMBERS, TRANSIENT_DRIVER_CODES } from './transient.js';
export { discoverTable, type TableDiscovery, type DiscoveredColumn, type CaptureInstance } from './discovery.js';
export { readableDiscovery, unreadColumns } from './read-columns.js';
export { installFastVarcharDecode, fastVarcharDecodeInstalled } from './varchar-decode.js';
export { installFastDateDecode, fastDateDecodeInstalled } from './date-decode.js';
export { checkPrerequisites, assertPrerequisites, type PrerequisiteReport } from './prerequisites.js';
export { mapColumn, type ColumnReader, type SqlColumnType } from './type-mapping.js';
export { readChunk, readChunkKeys, keyLakeKinds, nextChunkBoundary } from './chunks.js';
export type {
  CaptureStrategy,
  SourceWindow,
  ChangeBatch,
  ChangeRow,
  StepStats,
  SnapshotPositioner,
  VerifyRead,
  PlanOptions,
} from './strategies/types.js';
export { CdcStrategy, ChangeTrackingStrategy, IdentityStrategy, RowversionStrategy, UpdatedAtStrategy };
export { InMemorySeenEvents, contentHashOf, type SeenEvents } from './strategies/updated-at.js';

/**
 * The row limiter of one activity's reads of `table`: its `limits.maxRowsPerSecond`, lowered by the table's
 * application-latency back-off when it has one (latency-monitor.ts). The back-off's state is per table per worker
 * process; the limiter, like the cap, is per activity — N activities of one table at once read up to N × the cap
 * in force. Its waits count on the connection's throttle too, which the worker's metrics attribute to the table.
 */
export function tableRowLimiter(conn: SourceConnection, table: TableConfig): SourceThrottle {
  return backedOffLimiter(conn, table, `${table.schema}.${table.table}`, table.limits.maxRowsPerSecond);
}

/**
 * The ceiling of a chunk read's back-off when the table sets no `maxChunkRowsPerSecond`: above what one worker
 * reads a chunk at (6–73K rows/s measured, docs/performance.md), so a calm source does not slow the load, and
 * low enough that the first halvings bite (from 1,000,000 the cap would halve six times before it fell below a
 * chunk's actual rate).
 */
export const CHUNK_BACKOFF_CEILING_ROWS_PER_SECOND = 100_000;

/**
 * The row limiter of one chunk activity of `table` (snapshot, backfill, sweep): `limits.maxChunkRowsPerSecond`
 * when set, lowered by the table's application-latency back-off when it has one — a law of its own (key
 * `schema.table/chunks`), apart from the windows', whose ceiling is the window cap: a chunk under the back-off
 * starts at the chunk cap, or {@link CHUNK_BACKOFF_CEILING_ROWS_PER_SECOND} without one. Undefined when neither is
 * set: the chunk reads as fast as the source's query slots allow. Per activity, like the chunk cap.
 */
export function chunkRowLimiter(conn: SourceConnection, table: TableConfig): SourceThrottle | undefined {
  const cap = chunkRowsPerSecondCap(table);
  if (cap !== undefined && table.limits.latencyBackoff)
    return backedOffLimiter(conn, table, chunkBackoffKey(table), cap);
  return cap === undefined
    ? undefined
    : new SourceThrottle({ maxConcurrentQueries: Number.MAX_SAFE_INTEGER, maxRowsPerSecond: cap });
}

/**
 * The rows/s cap chunk reads of `table` start at (before any back-off; `chunkRowLimiter`), or undefined when
 * they are uncapped. The metrics export it as `tidemark_throttle_limit_rows_per_second{reads="chunk"}`.
 */
export function chunkRowsPerSecondCap(table: TableConfig): number | undefined {
  const cap = table.limits.maxChunkRowsPerSecond;
  return table.limits.latencyBackoff ? (cap ?? CHUNK_BACKOFF_CEILING_ROWS_PER_SECOND) : cap;
}

/** The key of the chunk reads' back-off law of `table` (`SourceConnection.backoffRateOf`). */
export function chunkBackoffKey(table: { schema: string; table: string }): string {
  return `${table.schema}.${table.table}/chunks`;
}

/** A limiter at `cap` rows/s, set lower by back-off `key` of the table's `latencyBackoff` when it has one. */
function backedOffLimiter(conn: SourceConnection, table: TableConfig, key: string, cap: number): SourceThrottle {
  const lb = table.limits.latencyBackoff;
  const backoff = lb
    ? conn.tableBackoff(
        key,
        { statement: lb.probe, intervalMs: lb.probeInterval.ms },
        { maxRowsPerSecond: cap, maxIncreasePercent: lb.maxIncreasePercent, minRowsPerSecond: lb.minRowsPerSecond },
      )
    : undefined;
  return new SourceThrottle({
    maxConcurrentQueries: Number.MAX_SAFE_INTEGER,
    maxRowsPerSecond: cap,
    alsoCount: conn.throttle.stats,
    ...(backoff
      ? {
          rateOf: () => {
            backoff.reading();
            return backoff.rowsPerSecond();
          },
        }
      : {}),
  });
}

/** Builds the capture strategy a table's config names. */
export function createStrategy(
  conn: SourceConnection,
  discovery: TableDiscovery,
  table: TableConfig,
  extra: { seen?: SeenEvents; snapshot?: boolean; batchRows?: number } = {},
): CaptureStrategy {
  const base: StrategyOptions = {
    queryTimeoutMs: table.limits.queryTimeout.ms,
    // The table's own rows/s cap; the source-wide slots and back-off live on the connection's throttle.
    rowLimiter: tableRowLimiter(conn, table),
    ...(extra.snapshot !== undefined ? { snapshot: extra.snapshot } : {}),
    ...(extra.batchRows !== undefined ? { batchRows: extra.batchRows } : {}),
  };
  const c = table.capture;
  switch (c.strategy) {
    case 'cdc':
      return new CdcStrategy(conn, discovery, {
        ...base,
        ...(c.captureInstance ? { captureInstance: c.captureInstance } : {}),
      });
    case 'change_tracking':
      return new ChangeTrackingStrategy(conn, discovery, base);
    case 'rowversion':
      return new RowversionStrategy(conn, discovery, c.column, base);
    case 'updated_at':
      return new UpdatedAtStrategy(conn, discovery, c.column, {
        ...base,
        lookbackMs: c.lookback.ms,
        safetyLagMs: c.safetyLag.ms,
        ...(extra.seen ? { seen: extra.seen } : {}),
      });
    case 'identity':
      return new IdentityStrategy(conn, discovery, c.column, {
        ...base,
        maxRowsPerWindow: table.limits.maxRowsPerWindow,
      });
  }
}
