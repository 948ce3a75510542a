/**
 * Chunk reads for initial loads, re-seeds, backfills and the nightly sweep: keyset pagination over the row key
 * (composite keys too), each chunk read inside one SNAPSHOT transaction (where the database allows it) at a
 * recorded source position, so the lake can order snapshot rows (`_op = 'r'`) against log events.
 *
 * - {@link readChunk}: the rows of `(after, upTo]` in key order, at most `limit`, optionally filtered on a
 *   business-date column (date-range backfills), as change rows with `_op = 'r'`.
 * - {@link nextChunkBoundary}: the key `chunkRows` keys after `after` (reads keys only), to fan chunks out.
 * - {@link chunkChecksum}: per-row `HASHBYTES('SHA2_256', …)` over a canonical text of every column (NULL
 *   marked, lengths prefixed so values cannot run into each other), folded in key order into one SHA-256, plus
 *   the key list (for delete reconciliation). Only hashes and keys leave the server, never row values.
 */
import { createHash } from 'node:crypto';
import sql from 'mssql';
import { unscaledToDecimalText, type LakeValue } from '../domain/values.js';
import { EPOCH_TICKS, textToTicks, ticksToText } from './strategies/updated-at.js';
import type { QueryParam, SourceConnection } from './connection.js';
import { findColumn, tableReaders, type DiscoveredColumn, type TableDiscovery } from './discovery.js';
import { TableNotFoundError } from './errors.js';
import { hex, pad20 } from './positions.js';
import { quoteIdent, quoteTable } from './sql-text.js';
import { decodeRow, mapColumn, type ColumnReader } from './type-mapping.js';
import { contentHash16, lakeColumns } from './strategies/common.js';
import type { ChangeBatch, StepStats } from './strategies/types.js';
import type { SourceThrottle } from './throttle.js';
import { newStats } from './strategies/types.js';
import type { KeyValues } from '../domain/keys.js';

/**
 * How a chunk's rows get their `_pos`: `atStart` runs inside the chunk's snapshot transaction before the rows
 * are read (the recorded position); `rowPos` may refine it per row.
 */
export interface SnapshotPositioner {
  atStart(q: (text: string) => Promise<Record<string, unknown>[]>): Promise<string>;
  rowPos(start: string, values: readonly LakeValue[], columns: readonly ColumnReader[]): string;
}

/** Positioners per strategy (see positions.ts). */
export const snapshotPositioners = {
  /** CDC: the max LSN at the read, with the highest seqval: every change at or below it is in the snapshot. */
  cdc: {
    atStart: async (q) => {
      const r = await q('SELECT sys.fn_cdc_get_max_lsn() AS lsn');
      const lsn = r[0]?.lsn as Buffer | null | undefined;
      return (lsn ? hex(lsn) : '0'.repeat(20)) + 'f'.repeat(20);
    },
    rowPos: (start) => start,
  },
  /** Change Tracking: CHANGE_TRACKING_CURRENT_VERSION() in the same snapshot (the documented initial load). */
  change_tracking: {
    atStart: async (q) => {
      const r = await q('SELECT CHANGE_TRACKING_CURRENT_VERSION() AS v');
      return pad20(BigInt((r[0]?.v as string | number | null) ?? 0));
    },
    rowPos: (start) => start,
  },
  /**
   * Identity: the highest id ever handed out at the read (`IDENT_CURRENT`, which never goes down, unlike `MAX`
   * when the top row is deleted), then the source clock (100 ns ticks): after the insert event of every key it
   * contains (`pad20(id)` is a prefix-shorter, smaller string), after every earlier chunk read, and before the
   * insert event of any id handed out later.
   */
  identity: (table: string, column: string): SnapshotPositioner => ({
    atStart: async (q) => {
      const r = await q(
        `SELECT CAST(MAX(${quoteIdent(column)}) AS bigint) AS mx, CAST(IDENT_CURRENT(${quoteLiteralN(table)}) AS bigint) AS cur, CONVERT(varchar(27), SYSUTCDATETIME(), 121) AS now FROM ${table}`,
      );
      const mx = BigInt((r[0]?.mx as string | number | null) ?? 0);
      const cur = BigInt((r[0]?.cur as string | number | null) ?? 0);
      return pad20(mx > cur ? mx : cur) + pad20(textToTicks(r[0]?.now as string));
    },
    rowPos: (start) => start,
  }),
  /**
   * updated_at: the source clock minus the table's safety lag (the upper bound a window planned now would get),
   * then `f`×16. updated_at events are `pad20(updated_at) + 16 hex` (strategies/updated-at.ts), so a chunk row
   * orders after every event a window up to that bound can carry and before any change stamped later; a
   * transaction stamped inside the lag that commits after the read still orders after the chunk row.
   */
  updatedAt: (safetyLagMs: number, clock: 'utc' | 'local' = 'utc'): SnapshotPositioner => ({
    atStart: async (q) => {
      const r = await q(
        `SELECT CONVERT(varchar(27), ${clock === 'local' ? 'SYSDATETIME()' : 'SYSUTCDATETIME()'}, 121) AS now`,
      );
      return pad20(textToTicks(r[0]?.now as string) - BigInt(safetyLagMs) * 10_000n) + 'f'.repeat(16);
    },
    rowPos: (start) => start,
  }),
  /** rowversion: each row's own rowversion is its exact version. */
  rowversion: (column: string): SnapshotPositioner => ({
    atStart: async () => Promise.resolve(''),
    rowPos: (_s, values, cols) => hex(values[cols.findIndex((c) => c.name === column)] as Buffer),
  }),
} satisfies Record<string, SnapshotPositioner | ((...args: never[]) => SnapshotPositioner)>;

/** `N'…'` with quotes doubled (an object name as a string argument, e.g. to IDENT_CURRENT). */
function quoteLiteralN(text: string): string {
  return `N'${text.replace(/'/g, "''")}'`;
}

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

/** `(k1, k2, …) > (@p1, @p2, …)` as a seekable OR-expansion. */
function keyCompare(cols: DiscoveredColumn[], prefix: string, op: '>' | '<='): string {
  const parts: string[] = [];
  for (let i = 0; i < cols.length; i++) {
    const eqs = cols.slice(0, i).map((c, j) => `${quoteIdent(c.name)} = @${prefix}${j}`);
    const last = i === cols.length - 1 && op === '<=' ? '<=' : op === '>' ? '>' : '<';
    parts.push([...eqs, `${quoteIdent(cols[i]!.name)} ${last} @${prefix}${i}`].join(' AND '));
  }
  return `(${parts.map((p) => `(${p})`).join(' OR ')})`;
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
  let ok = false;
  try {
    const q = (t: string) =>
      conn.query<Record<string, unknown>>('chunk.position', t, [], tx ? { transaction: tx } : {});
    summary.position = await opts.positioner.atStart(q);
    summary.queries += 2;
    for await (const b of conn.stream('chunk.read', text, params, {
      batchRows: opts.batchRows ?? 5000,
      ...(opts.rowLimiter ? { rowLimiter: opts.rowLimiter } : {}),
      ...(tx ? { transaction: tx } : {}),
      ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
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

/** The canonical text of a column for hashing: exact, style-fixed, length-prefixed, NULL marked. */
export function canonicalTextSql(c: DiscoveredColumn): string {
  const col = quoteIdent(c.name);
  let text: string;
  switch (c.type.typeName) {
    case 'float':
    case 'real':
      text = `CONVERT(nvarchar(40), ${col}, 3)`;
      break;
    case 'money':
    case 'smallmoney':
      text = `CONVERT(nvarchar(40), ${col}, 2)`;
      break;
    case 'binary':
    case 'varbinary':
    case 'timestamp':
    case 'image':
      text = `CONVERT(nvarchar(max), CAST(${col} AS varbinary(max)), 1)`;
      break;
    case 'datetime':
    case 'smalldatetime':
    case 'datetime2':
      text = `CONVERT(nvarchar(40), ${col}, 121)`;
      break;
    case 'hierarchyid':
    case 'geography':
    case 'geometry':
      text = `CONVERT(nvarchar(max), CAST(${col} AS varbinary(max)), 1)`;
      break;
    default:
      text = `CAST(${col} AS nvarchar(max))`;
  }
  return `CASE WHEN ${col} IS NULL THEN N'~' ELSE CONCAT(N'=', DATALENGTH(${text}), N':', ${text}) END`;
}

/** What {@link chunkChecksum} reports. */
export interface ChunkChecksum {
  rows: number;
  /** SHA-256 (hex) over the key-ordered row hashes; equal ⇔ same rows with the same content (up to SHA-256). */
  checksum: string;
  /** The chunk's keys in order, when asked for. */
  keys?: KeyValues[];
  durationMs: number;
}

/** Checksums (and optionally lists the keys of) the rows of `(after, upTo]`. */
export async function chunkChecksum(
  conn: SourceConnection,
  d: TableDiscovery,
  range: { after?: KeyValues; upTo?: KeyValues; withKeys?: boolean; timeoutMs?: number },
): Promise<ChunkChecksum> {
  const t0 = Date.now();
  const cols = keyColumns(d);
  const keyReaders = cols.map((c) => mapColumn('', c.name, c.type));
  const params: QueryParam[] = [];
  const where = rangeWhere(cols, range.after, range.upTo, params);
  const hashed = d.columns.filter((c) => !c.computed);
  const concat = hashed.map((c) => canonicalTextSql(c)).join(`, N'|', `);
  const text = `SELECT ${keyReaders.map((r) => r.selectSql()).join(', ')},
      HASHBYTES('SHA2_256', CONCAT(${concat}, N'')) AS [__row_hash]
    FROM ${quoteTable(d.schema, d.table)}${where.length ? ` WHERE ${where.join(' AND ')}` : ''}
    ORDER BY ${cols.map((c) => quoteIdent(c.name)).join(', ')} OPTION (MAXDOP 1)`;
  const h = createHash('sha256');
  let rows = 0;
  const keys: KeyValues[] = [];
  for await (const b of conn.stream('chunk.checksum', text, params, {
    ...(range.timeoutMs !== undefined ? { timeoutMs: range.timeoutMs } : {}),
  })) {
    for (const raw of b.rows) {
      rows++;
      const key = decodeRow(keyReaders, raw);
      h.update(contentHash16(key));
      h.update(raw[keyReaders.length] as Buffer);
      if (range.withKeys) keys.push(key);
    }
  }
  const out: ChunkChecksum = { rows, checksum: h.digest('hex'), durationMs: Date.now() - t0 };
  if (range.withKeys) out.keys = keys;
  return out;
}
