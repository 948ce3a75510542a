/**
 * Identity key only: new rows above the last id, fenced so that an uncommitted lower id is not passed over.
 *
 * SQL Server has no MIN_ACTIVE_ROWVERSION for identity values: ids are taken at insert time, so id 100 can
 * commit after 105 has been read, and a plain `id > @last` loses it for good (capture reference §D). The
 * fence used here is *gap tracking*:
 *
 * - `planWindow` reads the committed ids above the high-water mark (keys only, at most `maxRowsPerWindow`,
 *   under SNAPSHOT when allowed so it neither waits on nor blocks writers) and the ids now present in the
 *   previously open gaps. Every id missing between the old high-water and the new one (the highest id read) is
 *   an *open gap*: an insert still in flight, or one rolled back (identity values are never reused). The new
 *   window's `to` is the new high-water plus the list of open gaps, each with the source time it was first
 *   seen. All bounds are fixed here, before reading.
 * - `readWindow` reads `(from, to]` plus the previous gaps, and emits exactly the ids that were present at
 *   planning time (it skips ids inside the new gap list: a row that committed in between is emitted by the next
 *   window, once), so retries read the same set.
 * - A gap open longer than `gapTimeoutMs` (longer than any OLTP transaction; default 1 h) is abandoned as a
 *   rolled-back insert and counted (`gapsAbandoned`); the nightly sweep would still find a row that appears
 *   after that.
 *
 * Why not the alternatives: a lookback re-read of the last N ids relies on transactions finishing within N
 * inserts, which a burst breaks; waiting on row locks under READ COMMITTED blocks the extractor behind OLTP
 * transactions (and does nothing on a readable secondary, where reads are snapshots). The cost: planning reads
 * the new keys once more, so an identity window reads ~2 source rows per new row (narrow key rows).
 *
 * Position: 20-digit zero-padded high-water id, then `~a-b@t,…` for the open gap ranges (t = unix seconds
 * first seen). Row `_pos` = the 20-digit id. Only non-negative ids; the increment comes from discovery.
 */
import sql from 'mssql';
import type { SourceConnection } from '../connection.js';
import type { TableDiscovery } from '../discovery.js';
import { PositionFormatError } from '../errors.js';
import { pad20 } from '../positions.js';
import { quoteIdent, quoteTable } from '../sql-text.js';
import { decodeRow, type ColumnReader } from '../type-mapping.js';
import { bindWatermarkColumn, streamRead } from './common.js';
import {
  newStats,
  type CaptureStrategy,
  type ChangeBatch,
  type SourceWindow,
  type StepStats,
  type StrategyOptions,
} from './types.js';

/** An open gap: ids `lo..hi` (inclusive) missing since `seenAt` (unix seconds, source clock). */
export interface IdentityGap {
  readonly lo: bigint;
  readonly hi: bigint;
  readonly seenAt: number;
}

/** A decoded identity position. */
export interface IdentityPosition {
  readonly highWater: bigint;
  readonly gaps: readonly IdentityGap[];
}

export function formatIdentityPosition(p: IdentityPosition): string {
  const head = pad20(p.highWater);
  return p.gaps.length === 0 ? head : `${head}~${p.gaps.map((g) => `${g.lo}-${g.hi}@${g.seenAt}`).join(',')}`;
}

export function parseIdentityPosition(text: string): IdentityPosition {
  const m = /^(\d{20})(?:~(.*))?$/.exec(text);
  if (!m) throw new PositionFormatError('identity', text);
  const gaps: IdentityGap[] = [];
  for (const part of m[2] ? m[2].split(',') : []) {
    const g = /^(\d+)-(\d+)@(\d+)$/.exec(part);
    if (!g) throw new PositionFormatError('identity', text);
    gaps.push({ lo: BigInt(g[1]!), hi: BigInt(g[2]!), seenAt: Number(g[3]) });
  }
  return { highWater: BigInt(m[1]!), gaps };
}

/** Options of the identity strategy. */
export interface IdentityOptions extends StrategyOptions {
  /** Most new rows per window (config `limits.maxRowsPerWindow`); default 1 000 000. */
  readonly maxRowsPerWindow?: number;
  /** A gap open longer than this is taken for a rolled-back insert; default 1 h. */
  readonly gapTimeoutMs?: number;
  /** Most open gap ranges kept in a position; the oldest beyond it are abandoned; default 500. */
  readonly maxGaps?: number;
}

function inGaps(id: bigint, gaps: readonly IdentityGap[]): boolean {
  return gaps.some((g) => id >= g.lo && id <= g.hi);
}

/** The ranges of `gap` not covered by the sorted `present` ids. */
function splitGap(gap: IdentityGap, present: readonly bigint[], step: bigint): IdentityGap[] {
  const out: IdentityGap[] = [];
  let lo = gap.lo;
  for (const id of present) {
    if (id < gap.lo || id > gap.hi) continue;
    if (id > lo) out.push({ lo, hi: id - step, seenAt: gap.seenAt });
    lo = id + step;
  }
  if (lo <= gap.hi) out.push({ lo, hi: gap.hi, seenAt: gap.seenAt });
  return out;
}

export class IdentityStrategy implements CaptureStrategy {
  readonly strategy = 'identity' as const;
  readonly columns;
  private readonly readers: ColumnReader[];
  private readonly idIndex: number;
  private readonly col: string;
  private step = 1n;
  lastPlanStats: StepStats | undefined;
  lastReadStats: StepStats | undefined;

  constructor(
    private readonly conn: SourceConnection,
    private readonly d: TableDiscovery,
    column: string,
    private readonly options: IdentityOptions = {},
  ) {
    const bound = bindWatermarkColumn(d, column, (c) => c.identity, 'is not the identity column of the table');
    this.col = bound.name;
    this.readers = bound.readers;
    this.idIndex = bound.index;
    this.columns = bound.columns;
  }

  private get table() {
    return quoteTable(this.d.schema, this.d.table);
  }

  private gapPredicate(
    gaps: readonly IdentityGap[],
    params: { name: string; type: sql.ISqlTypeFactoryWithNoParams; value: unknown }[],
  ): string {
    return gaps
      .map((g, i) => {
        params.push({ name: `glo${i}`, type: sql.BigInt, value: g.lo.toString() });
        params.push({ name: `ghi${i}`, type: sql.BigInt, value: g.hi.toString() });
        return `(${quoteIdent(this.col)} BETWEEN @glo${i} AND @ghi${i})`;
      })
      .join(' OR ');
  }

  async planWindow(lastPosition: string | null): Promise<SourceWindow> {
    const t0 = Date.now();
    const stats = newStats();
    const last = lastPosition === null ? { highWater: 0n, gaps: [] } : parseIdentityPosition(lastPosition);
    const inc = await this.conn.query<{ increment_value: number | string; now: number }>(
      'identity.plan_meta',
      `SELECT CAST(increment_value AS bigint) AS increment_value, DATEDIFF(second, '1970-01-01', SYSUTCDATETIME()) AS now
         FROM sys.identity_columns WHERE object_id = OBJECT_ID(@t)`,
      [{ name: 't', type: sql.NVarChar(300), value: this.table }],
      this.timeout(),
    );
    stats.queries++;
    this.step = BigInt(inc[0]?.increment_value ?? 1);
    if (this.step <= 0n) this.step = 1n;
    const now = Number(inc[0]?.now ?? Math.floor(Date.now() / 1000));

    const limit = this.options.maxRowsPerWindow ?? 1_000_000;
    const params: { name: string; type: sql.ISqlTypeFactoryWithNoParams; value: unknown }[] = [
      { name: 'hw', type: sql.BigInt, value: last.highWater.toString() },
    ];
    const c = quoteIdent(this.col);
    const gapSql = last.gaps.length > 0 ? this.gapPredicate(last.gaps, params) : '';
    const foundInGaps: bigint[] = [];
    // New gaps between the old high-water and the new one, computed while the keys stream by (a window of
    // new keys is never held in memory).
    const newGaps: IdentityGap[] = [];
    let prev = last.highWater;
    let newCount = 0;
    const ids = async (tx?: sql.Transaction) => {
      const opts = { ...this.timeout(), ...(tx ? { transaction: tx } : {}), batchRows: 10_000 };
      for await (const b of this.conn.stream(
        'identity.plan_keys',
        `SELECT TOP (${limit}) ${c} AS id FROM ${this.table} WHERE ${c} > @hw ORDER BY ${c} OPTION (MAXDOP 1)`,
        params,
        opts,
      )) {
        stats.rowsRead += b.rows.length;
        for (const raw of b.rows) {
          const id = BigInt(raw[0] as string | number);
          if (id - prev > this.step && !(prev === 0n && lastPosition === null))
            newGaps.push({ lo: prev + this.step, hi: id - this.step, seenAt: now });
          prev = id;
          newCount++;
        }
      }
      stats.queries++;
      if (gapSql) {
        const g = await this.conn.query<{ id: string | number }>(
          'identity.plan_gaps',
          `SELECT ${c} AS id FROM ${this.table} WHERE ${gapSql} ORDER BY ${c} OPTION (MAXDOP 1)`,
          params,
          opts,
        );
        stats.queries++;
        stats.rowsRead += g.length;
        for (const r of g) foundInGaps.push(BigInt(r.id));
      }
    };
    if (this.snapshot) await this.conn.inSnapshot('identity.plan', ids);
    else await ids();

    // Old gaps: what is still missing stays open (or is abandoned when too old).
    let gaps: IdentityGap[] = [];
    let abandoned = 0;
    const timeoutS = (this.options.gapTimeoutMs ?? 3_600_000) / 1000;
    for (const g of last.gaps) {
      for (const rest of splitGap(g, foundInGaps, this.step)) {
        if (now - rest.seenAt > timeoutS) abandoned++;
        else gaps.push(rest);
      }
    }
    gaps.push(...newGaps);
    const maxGaps = this.options.maxGaps ?? 500;
    if (gaps.length > maxGaps) {
      gaps.sort((a, b) => a.seenAt - b.seenAt || (a.lo < b.lo ? -1 : 1));
      abandoned += gaps.length - maxGaps;
      gaps = gaps.slice(gaps.length - maxGaps);
    }
    gaps.sort((a, b) => (a.lo < b.lo ? -1 : a.lo > b.lo ? 1 : 0));
    const highWater = prev;
    const empty = newCount === 0 && foundInGaps.length === 0 && abandoned === 0;
    const to = formatIdentityPosition({ highWater, gaps });
    stats.extra = { gapsOpen: gaps.length, gapsAbandoned: abandoned, gapRowsFound: foundInGaps.length };
    stats.durationMs = Date.now() - t0;
    this.lastPlanStats = stats;
    return {
      strategy: 'identity',
      from: lastPosition,
      to: empty ? (lastPosition ?? pad20(0n)) : to,
      empty,
      lagSeconds: null,
    };
  }

  async *readWindow(window: SourceWindow): AsyncGenerator<ChangeBatch> {
    const stats = newStats();
    this.lastReadStats = stats;
    if (window.empty) return;
    const t0 = Date.now();
    const from = window.from === null ? { highWater: 0n, gaps: [] } : parseIdentityPosition(window.from);
    const to = parseIdentityPosition(window.to);
    const params: { name: string; type: sql.ISqlTypeFactoryWithNoParams; value: unknown }[] = [
      { name: 'hw', type: sql.BigInt, value: from.highWater.toString() },
      { name: 'top', type: sql.BigInt, value: to.highWater.toString() },
    ];
    const c = quoteIdent(this.col);
    const gapSql = from.gaps.length > 0 ? ` OR ${this.gapPredicate(from.gaps, params)}` : '';
    const list = this.readers.map((r) => r.selectSql()).join(', ');
    const text = `SELECT ${list} FROM ${this.table} WHERE (${c} > @hw AND ${c} <= @top)${gapSql}
      ORDER BY ${c} OPTION (MAXDOP 1)`;
    stats.queries++;
    try {
      for await (const b of streamRead(this.conn, 'identity.read', text, params, this.readOpts())) {
        stats.rowsRead += b.rows.length;
        const rows = [];
        for (const raw of b.rows) {
          const values = decodeRow(this.readers, raw);
          const id = BigInt(values[this.idIndex] as number | bigint);
          // Still a gap at planning time: the next window emits it (exactly once).
          if (inGaps(id, to.gaps)) continue;
          rows.push({ op: 'c' as const, pos: pad20(id), commitTs: null, values });
        }
        stats.rowsEmitted += rows.length;
        if (rows.length > 0) yield { columns: this.columns, rows };
      }
    } finally {
      stats.durationMs = Date.now() - t0;
    }
  }

  private get snapshot(): boolean {
    return this.options.snapshot ?? this.d.database.snapshotIsolation;
  }

  private timeout() {
    return this.options.queryTimeoutMs !== undefined ? { timeoutMs: this.options.queryTimeoutMs } : {};
  }

  private readOpts() {
    return {
      snapshot: this.snapshot,
      batchRows: this.options.batchRows ?? 5000,
      ...(this.options.rowLimiter ? { rowLimiter: this.options.rowLimiter } : {}),
      ...(this.options.queryTimeoutMs !== undefined ? { timeoutMs: this.options.queryTimeoutMs } : {}),
    };
  }
}
