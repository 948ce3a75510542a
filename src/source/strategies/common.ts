/** Plumbing shared by the strategies: snapshot-or-not streaming, lake columns, hashing of row content. */
import { createHash } from 'node:crypto';
import sql from 'mssql';
import type { LakeColumn, LakeValue } from '../../domain/values.js';
import type { QueryParam, RowBatch, SourceConnection } from '../connection.js';
import { findColumn, tableReaders, type DiscoveredColumn, type TableDiscovery } from '../discovery.js';
import { TableNotFoundError } from '../errors.js';
import { quoteTable } from '../sql-text.js';
import { decodeRow, type ColumnReader } from '../type-mapping.js';
import type { SourceThrottle } from '../throttle.js';
import { stagedReadBatches } from '../row-batches.js';
import type { CaptureStrategy, ChangeBatch, ChangeRow, StepStats, StrategyOptions } from './types.js';
import type { JobKind } from '../../domain/jobs.js';

/** Lake columns for readers, with nullability from discovery. */
export function lakeColumns(d: TableDiscovery, readers: readonly ColumnReader[]): LakeColumn[] {
  return readers.map((r) => ({
    name: r.name,
    type: r.lakeType,
    nullable: d.columns.find((c) => c.name === r.name)?.nullable ?? true,
  }));
}

/** A watermark column bound to a table: its name, the table's readers, its index among them, lake columns. */
export interface BoundWatermarkColumn {
  name: string;
  readers: ColumnReader[];
  index: number;
  columns: LakeColumn[];
}

/**
 * Binds the strategy's watermark column (rowversion, identity): throws a {@link TableNotFoundError} saying
 * `requirement` when the column is missing or `accept` refuses it.
 */
export function bindWatermarkColumn(
  d: TableDiscovery,
  column: string,
  accept: (c: DiscoveredColumn) => boolean,
  requirement: string,
): BoundWatermarkColumn {
  const c = findColumn(d, column);
  if (!c || !accept(c)) throw new TableNotFoundError(`${d.schema}.${d.table}`, `'${column}' ${requirement}`);
  const readers = tableReaders(d);
  return {
    name: c.name,
    readers,
    index: readers.findIndex((r) => r.name === c.name),
    columns: lakeColumns(d, readers),
  };
}

/**
 * Streams a query, inside a SNAPSHOT transaction when `snapshot` is true (a consistent read that neither
 * waits on nor blocks OLTP writers), else at the session's READ COMMITTED.
 */
export async function* streamRead(
  conn: SourceConnection,
  operation: string,
  text: string,
  params: readonly QueryParam[],
  opts: {
    snapshot: boolean;
    batchRows: number;
    maxBufferedBatches: number;
    timeoutMs?: number;
    rowLimiter?: SourceThrottle;
  },
): AsyncGenerator<RowBatch> {
  if (!opts.snapshot) {
    yield* conn.stream(operation, text, params, {
      batchRows: opts.batchRows,
      maxBufferedBatches: opts.maxBufferedBatches,
      ...(opts.rowLimiter ? { rowLimiter: opts.rowLimiter } : {}),
      ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
    });
    return;
  }
  const tx = new sql.Transaction(conn.pool);
  await tx.begin(sql.ISOLATION_LEVEL.SNAPSHOT);
  let ok = false;
  try {
    yield* conn.stream(operation, text, params, {
      batchRows: opts.batchRows,
      maxBufferedBatches: opts.maxBufferedBatches,
      transaction: tx,
      ...(opts.rowLimiter ? { rowLimiter: opts.rowLimiter } : {}),
      ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
    });
    ok = true;
  } finally {
    if (ok) await tx.commit();
    else await tx.rollback().catch(() => undefined);
  }
}

/** How a watermark read places one decoded row: its event, or undefined to drop it (the caller counts why). */
export type PlaceRow = (values: LakeValue[]) => ChangeRow | undefined | Promise<ChangeRow | undefined>;

/** What a watermark strategy reads a table with. */
export interface WatermarkSource {
  readonly conn: SourceConnection;
  readonly d: TableDiscovery;
  readonly options: StrategyOptions;
  readonly readers: readonly ColumnReader[];
  readonly columns: readonly LakeColumn[];
}

/** One ordered read of a table: every column, the rows `where` selects (with `params`), ordered by `orderBy`. */
export interface WatermarkQuery {
  readonly operation: string;
  readonly where: string;
  readonly orderBy: string;
  readonly params: readonly QueryParam[];
}

/**
 * The read loop of the watermark strategies (rowversion, updated_at, identity and its sub-ranges): streams one
 * ordered query (`streamRead`, with `watermarkReadOptions`), decodes every row, and yields the events `place`
 * makes of them, one batch per source batch that kept any. Counts the query, the rows read and emitted in
 * `stats`, and sets its `durationMs` from `t0` when the read ends or fails. What differs between the strategies
 * is the query and `place` (a position from the row, a drop, a gap noted); `place` returns a promise only when
 * it must wait (updated_at's de-duplication index), so a row that needs no wait costs no microtask.
 */
export async function* readPlacedRows(
  src: WatermarkSource,
  query: WatermarkQuery,
  stats: StepStats,
  t0: number,
  place: PlaceRow,
): AsyncGenerator<ChangeBatch> {
  const list = src.readers.map((r) => r.selectSql()).join(', ');
  const text = `SELECT ${list} FROM ${quoteTable(src.d.schema, src.d.table)} WHERE ${query.where}
      ORDER BY ${query.orderBy} OPTION (MAXDOP 1)`;
  const opts = watermarkReadOptions(src.options, src.d);
  stats.queries++;
  try {
    for await (const b of streamRead(src.conn, query.operation, text, query.params, opts)) {
      stats.rowsRead += b.rows.length;
      const rows: ChangeRow[] = [];
      for (const raw of b.rows) {
        const placed = place(decodeRow(src.readers, raw));
        const event = placed instanceof Promise ? await placed : placed;
        if (event !== undefined) rows.push(event);
      }
      stats.rowsEmitted += rows.length;
      if (rows.length > 0) yield { columns: src.columns, rows };
    }
  } finally {
    stats.durationMs = Date.now() - t0;
  }
}

/** The per-query timeout of a strategy's options, as query options. */
export function queryTimeout(options: StrategyOptions): { timeoutMs?: number } {
  return options.queryTimeoutMs !== undefined ? { timeoutMs: options.queryTimeoutMs } : {};
}

/** How a watermark strategy streams a window: snapshot reads where the database allows them, batches, limits. */
export function watermarkReadOptions(
  options: StrategyOptions,
  d: TableDiscovery,
): {
  snapshot: boolean;
  batchRows: number;
  maxBufferedBatches: number;
  timeoutMs?: number;
  rowLimiter?: SourceThrottle;
} {
  return {
    snapshot: options.snapshot ?? d.database.snapshotIsolation,
    // Batched as a chunk's read (row-batches.ts): rows are staged while young (docs/performance.md).
    ...stagedReadBatches(options.batchRows),
    ...(options.rowLimiter ? { rowLimiter: options.rowLimiter } : {}),
    ...queryTimeout(options),
  };
}

/** A canonical, type-tagged serialisation of values, for content hashes. */
export function canonicalValues(values: readonly LakeValue[]): string {
  return JSON.stringify(values, (_k, v: unknown) => {
    if (typeof v === 'bigint') return `n:${v}`;
    if (v instanceof Uint8Array) return `b:${Buffer.from(v).toString('base64')}`;
    if (v && typeof v === 'object' && 'unscaled' in v) {
      const d = v as { unscaled: bigint; scale: number };
      return `d:${d.unscaled}e-${d.scale}`;
    }
    if (v && typeof v === 'object' && 'epochNanos' in v) {
      const t = v as { epochNanos: bigint; offsetMinutes: number };
      return `t:${t.epochNanos}@${t.offsetMinutes}`;
    }
    return v;
  });
}

/** The first 16 hex digits of SHA-256 over the canonical values: a content fingerprint (not a secret). */
export function contentHash16(values: readonly LakeValue[]): string {
  return createHash('sha256').update(canonicalValues(values)).digest('hex').slice(0, 16);
}

/** A stable key string of a row's key values (for de-duplication sets). */
export function keyString(values: readonly LakeValue[], keyIdx: readonly number[]): string {
  return canonicalValues(keyIdx.map((i) => values[i] ?? null));
}

/** A query for a job's position (outside any chunk's transaction). */
export function jobPositionQuery(conn: SourceConnection): (text: string) => Promise<Record<string, unknown>[]> {
  return (t) => conn.query<Record<string, unknown>>('job.position', t);
}

/**
 * CDC and Change Tracking job positions repeat while the source's log does not move (no capture in between),
 * yet a later job may read newer rows (a change not captured yet): the job's first manifest sequence, fixed
 * width, appended to its rows' positions makes each job's rows their own events and orders a later job's after
 * an earlier one's, still before any change logged after the job's position (its 20-digit prefix is larger).
 */
export function jobOrder(firstSeq: number): string {
  return String(firstSeq).padStart(12, '0');
}

/**
 * The job position of a strategy whose chunk positioner reads the source's clock or counter (identity,
 * updated_at): a snapshot's is where incremental sync resumes (the strategy's own window format); the other
 * jobs' is the chunk positioner's, which orders after every event the lake holds.
 */
export async function clockedJobPosition(
  strategy: Pick<CaptureStrategy, 'planWindow' | 'snapshotPositioner'>,
  conn: SourceConnection,
  kind: JobKind,
): Promise<string> {
  if (kind === 'snapshot') return (await strategy.planWindow(null)).to;
  return strategy.snapshotPositioner().atStart(jobPositionQuery(conn));
}
