/**
 * Chunk reads for initial loads, re-seeds, backfills and the nightly sweep: keyset pagination over the row key
 * (composite keys too), each chunk read inside one SNAPSHOT transaction (where the database allows it) at a
 * recorded source position, so the lake can order snapshot rows (`_op = 'r'`) against log events.
 *
 * - {@link readChunk}: the rows of `(after, upTo]` in key order, at most `limit`, optionally filtered on a
 *   business-date column (date-range backfills), as change rows with `_op = 'r'`.
 * - {@link nextChunkBoundary}: the key `chunkRows` keys after `after` (reads keys only), to fan chunks out.
 * - {@link readChunkKeys}: the keys of `(after, upTo]` (delete reconciliation's source side).
 *
 * How a chunk's rows get their `_pos` is the strategy's (its `snapshotPositioner()`, strategies/*.ts).
 */
import sql from 'mssql';
import { unscaledToDecimalText, type LakeValue } from '../domain/values.js';
import { EPOCH_TICKS, ticksToText } from './ticks.js';
import type { QueryParam, SourceConnection } from './connection.js';
import { findColumn, tableReaders, type DiscoveredColumn, type TableDiscovery } from './discovery.js';
import { TableNotFoundError } from './errors.js';
import { quoteIdent, quoteTable } from './sql-text.js';
import { decodeRow, mapColumn } from './type-mapping.js';
import { lakeColumns } from './strategies/common.js';
import type { ChangeBatch, SnapshotPositioner, StepStats } from './strategies/types.js';
import { keyOrderSql } from '../util/key-order-sql.js';
import type { SourceThrottle } from './throttle.js';
import { stagedReadBatches } from './row-batches.js';
import { newStats } from './strategies/types.js';
import type { KeyValues } from '../domain/keys.js';

/** Options of {@link readChunk}. */
export interface ChunkOptions {
  /** Exclusive lower key bound; from the first key when absent. */
  readonly after?: KeyValues;
  /** Inclusive upper key bound; to the last key when absent. */
  readonly upTo?: KeyValues;
  /** Most rows in the chunk. */
  readonly limit: number;
  /** Backfill filter: `column >= from AND column < to` (dates as `YYYY-MM-DD`). */
  readonly businessDate?: { readonly column: string; readonly from: string; readonly to: string };
  readonly positioner: SnapshotPositioner;
  readonly snapshot?: boolean;
  readonly batchRows?: number;
  readonly timeoutMs?: number;
  /** The table's rows/s limit. */
  readonly rowLimiter?: SourceThrottle;
}

/** What a chunk read reports. */
export interface ChunkSummary extends StepStats {
  /** The recorded source position of the chunk. */
  position: string;
  /** The last key read (start the next chunk after it); null when the chunk was empty. */
  lastKey: KeyValues | null;
}

function keyColumns(d: TableDiscovery): DiscoveredColumn[] {
  if (d.key.length === 0)
    throw new TableNotFoundError(`${d.schema}.${d.table}`, 'chunked reads need a primary key or unique index');
  return d.key.map((k) => findColumn(d, k)!);
}

/** A driver parameter for a key value of this column. */
function keyParam(name: string, col: DiscoveredColumn, v: LakeValue): QueryParam {
  const reader = mapColumn('', col.name, col.type);
  switch (reader.lakeType.kind) {
    case 'int64':
      return { name, type: sql.BigInt, value: (v as bigint).toString() };
    case 'uint8':
    case 'int16':
    case 'int32':
      return { name, type: sql.Int, value: v };
    case 'string':
      return { name, type: sql.NVarChar(sql.MAX), value: v };
    case 'binary':
      return { name, type: sql.VarBinary(sql.MAX), value: v };
    case 'uuid':
      return { name, type: sql.UniqueIdentifier, value: v };
    case 'decimal':
      return {
        name,
        type: sql.VarChar(50),
        value: typeof v === 'object' && v !== null && 'unscaled' in v ? unscaledToDecimalText(v.unscaled, v.scale) : v,
      };
    case 'date':
      return { name, type: sql.VarChar(10), value: new Date(Number(v) * 86_400_000).toISOString().slice(0, 10) };
    case 'timestamp':
      // nanoseconds since 1970 → the style-121 text SQL Server converts implicitly (exact to 100 ns).
      return { name, type: sql.VarChar(27), value: ticksToText((v as bigint) / 100n + EPOCH_TICKS) };
    default:
      throw new TableNotFoundError('', `key column '${col.name}' of type ${col.sqlType} cannot bound a keyset chunk`);
  }
}

/** `(k1, k2, …) op (@p1, @p2, …)` as a seekable OR-expansion. */
function keyCompare(cols: DiscoveredColumn[], prefix: string, op: '>' | '<='): string {
  return keyOrderSql(
    cols.map((c) => quoteIdent(c.name)),
    cols.map((_c, i) => `@${prefix}${i}`),
    op,
  );
}

function rangeWhere(
  cols: DiscoveredColumn[],
  after: KeyValues | undefined,
  upTo: KeyValues | undefined,
  params: QueryParam[],
): string[] {
  const where: string[] = [];
  if (after) {
    cols.forEach((c, i) => params.push(keyParam(`a${i}`, c, after[i] ?? null)));
    where.push(keyCompare(cols, 'a', '>'));
  }
  if (upTo) {
    cols.forEach((c, i) => params.push(keyParam(`u${i}`, c, upTo[i] ?? null)));
    where.push(keyCompare(cols, 'u', '<='));
  }
  return where;
}

/**
 * Reads one chunk as `r` events. Yields batches; returns the summary (also passed to `onSummary`).
 */
export async function* readChunk(
  conn: SourceConnection,
  d: TableDiscovery,
  opts: ChunkOptions,
  onSummary?: (s: ChunkSummary) => void,
): AsyncGenerator<ChangeBatch, ChunkSummary> {
  const t0 = Date.now();
  const cols = keyColumns(d);
  const readers = tableReaders(d);
  const columns = lakeColumns(d, readers);
  const keyIdx = cols.map((c) => readers.findIndex((r) => r.name === c.name));
  const params: QueryParam[] = [];
  const where = rangeWhere(cols, opts.after, opts.upTo, params);
  if (opts.businessDate) {
    const bc = findColumn(d, opts.businessDate.column);
    if (!bc) throw new TableNotFoundError(`${d.schema}.${d.table}`, `no column '${opts.businessDate.column}'`);
    params.push({ name: 'bdFrom', type: sql.VarChar(10), value: opts.businessDate.from });
    params.push({ name: 'bdTo', type: sql.VarChar(10), value: opts.businessDate.to });
    where.push(`${quoteIdent(bc.name)} >= CAST(@bdFrom AS date) AND ${quoteIdent(bc.name)} < CAST(@bdTo AS date)`);
  }
  const order = cols.map((c) => quoteIdent(c.name)).join(', ');
  const text = `SELECT TOP (${Math.max(1, Math.floor(opts.limit))}) ${readers.map((r) => r.selectSql()).join(', ')}
    FROM ${quoteTable(d.schema, d.table)}${where.length ? ` WHERE ${where.join(' AND ')}` : ''}
    ORDER BY ${order} OPTION (MAXDOP 1)`;
  const summary: ChunkSummary = { ...newStats(), position: '', lastKey: null };
  const snapshot = opts.snapshot ?? d.database.snapshotIsolation;
  const tx = snapshot ? new sql.Transaction(conn.pool) : undefined;
  if (tx) await tx.begin(sql.ISOLATION_LEVEL.SNAPSHOT);
  const timing = { pausedMs: 0, waitedMs: 0 };
  let ok = false;
  try {
    const q = (t: string) =>
      conn.query<Record<string, unknown>>('chunk.position', t, [], tx ? { transaction: tx } : {});
    summary.position = await opts.positioner.atStart(q);
    summary.queries += 2;
    for await (const b of conn.stream('chunk.read', text, params, {
      ...stagedReadBatches(opts.batchRows),
      ...(opts.rowLimiter ? { rowLimiter: opts.rowLimiter } : {}),
      ...(tx ? { transaction: tx } : {}),
      ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
      timing,
    })) {
      summary.rowsRead += b.rows.length;
      const rows = b.rows.map((raw) => {
        const values = decodeRow(readers, raw);
        return {
          op: 'r' as const,
          pos: opts.positioner.rowPos(summary.position, values, readers),
          commitTs: null,
          values,
        };
      });
      const last = rows[rows.length - 1];
      if (last) summary.lastKey = keyIdx.map((i) => last.values[i] ?? null);
      summary.rowsEmitted += rows.length;
      yield { columns, rows };
    }
    ok = true;
  } finally {
    if (tx) {
      if (ok) await tx.commit();
      else await tx.rollback().catch(() => undefined);
    }
    summary.durationMs = Date.now() - t0;
    // Where the read waited (ms): the request paused by our batch buffer, and the reader waiting for rows.
    summary.extra.streamPausedMs = timing.pausedMs;
    summary.extra.streamWaitedMs = timing.waitedMs;
    onSummary?.(summary);
  }
  return summary;
}

/** The key `chunkRows` keys after `after` (inclusive end of the next chunk), or null when fewer remain (up to `upTo`). */
export async function nextChunkBoundary(
  conn: SourceConnection,
  d: TableDiscovery,
  after: KeyValues | undefined,
  chunkRows: number,
  /** Inclusive upper end of the key range being chunked (null when fewer than `chunkRows` keys remain). */
  upTo?: KeyValues,
): Promise<KeyValues | null> {
  const cols = keyColumns(d);
  const readers = cols.map((c) => mapColumn('', c.name, c.type));
  const params: QueryParam[] = [];
  const where = rangeWhere(cols, after, upTo, params);
  const order = cols.map((c) => quoteIdent(c.name)).join(', ');
  const r = await conn.query<Record<string, unknown>>(
    'chunk.boundary',
    `SELECT ${readers.map((x) => x.selectSql()).join(', ')} FROM ${quoteTable(d.schema, d.table)}
      ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY ${order} OFFSET ${Math.max(0, Math.floor(chunkRows) - 1)} ROWS FETCH NEXT 1 ROWS ONLY OPTION (MAXDOP 1)`,
    params,
  );
  const row = r[0];
  if (!row) return null;
  return readers.map((x) => x.decode(row[x.name]));
}

/**
 * The keys of `(after, upTo]` in key order, in batches (keys only: delete reconciliation's source side). Reads
 * one index range; memory is one batch.
 */
export async function* readChunkKeys(
  conn: SourceConnection,
  d: TableDiscovery,
  range: { after?: KeyValues; upTo?: KeyValues; timeoutMs?: number; batchRows?: number },
): AsyncGenerator<KeyValues[]> {
  const cols = keyColumns(d);
  const readers = cols.map((c) => mapColumn('', c.name, c.type));
  const params: QueryParam[] = [];
  const where = rangeWhere(cols, range.after, range.upTo, params);
  const text = `SELECT ${readers.map((r) => r.selectSql()).join(', ')} FROM ${quoteTable(d.schema, d.table)}
    ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
    ORDER BY ${cols.map((c) => quoteIdent(c.name)).join(', ')} OPTION (MAXDOP 1)`;
  for await (const b of conn.stream('chunk.keys', text, params, {
    batchRows: range.batchRows ?? 5000,
    ...(range.timeoutMs !== undefined ? { timeoutMs: range.timeoutMs } : {}),
  }))
    yield b.rows.map((raw) => decodeRow(readers, raw));
}

/** The lake type kinds of the key columns (what a key range's bounds are made of). */
export function keyLakeKinds(d: TableDiscovery): string[] {
  return keyColumns(d).map((c) => mapColumn('', c.name, c.type).lakeType.kind);
}
