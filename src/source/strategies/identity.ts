/**
 * Identity key only: new rows above the last id, fenced so that an uncommitted lower id is not passed over.
 *
 * SQL Server has no MIN_ACTIVE_ROWVERSION for identity values: ids are taken at insert time, so id 100 can
 * commit after 105 has been read, and a plain `id > @last` loses it for good (capture reference §D). The
 * fence used here is *gap tracking*:
 *
 * - `planWindow` fixes only the bound, with one seek: the highest committed id above the high-water mark
 *   (under SNAPSHOT when allowed, so it neither waits on nor blocks writers), capped at the lowest new id +
 *   (`maxRowsPerWindow` − 1) × increment (a second seek, only when capping; `more` says ids lie beyond it).
 * - `readWindow` reads `(from, to]` plus the previously open gaps in one statement and emits every row it
 *   sees. Every id it does not see between the old high-water and the highest id it saw is an *open gap*: an
 *   insert still in flight, or one rolled back (identity values are never reused). The read ends with the
 *   refined position (`ChangeBatch.resumePosition`): the new high-water plus the open gaps, each with the
 *   source time it was first seen. The window commits that position with the files of the attempt that
 *   produced it, so a retry that sees more (a gap committed in between) is still exactly-once.
 * - A gap open longer than `gapTimeoutMs` (longer than any OLTP transaction; default 1 h) is abandoned as a
 *   rolled-back insert and counted (`gapsAbandoned`); the nightly sweep would still find a row that appears
 *   after that.
 *
 * Why not the alternatives: a lookback re-read of the last N ids relies on transactions finishing within N
 * inserts, which a burst breaks; waiting on row locks under READ COMMITTED blocks the extractor behind OLTP
 * transactions (and does nothing on a readable secondary, where reads are snapshots). Cost: one source row
 * per new row, plus one for the plan's seek. (Before: planning read the new keys, then the read read them again
 * — 2 source rows per new row.)
 *
 * - `planSubRanges` (issue 14): a window of more than `subRangeRows` new ids is split at ids, and its end is fixed
 *   at plan time instead of refined by the read — sub-ranges read by different activities cannot refine one end
 *   together. The split reads the window's ids (keys only, one ordered scan of the window and the old gaps):
 *   every id of `(from, to]` and of the old gaps it does not see is a gap of the window's end, which is now
 *   `to`'s high-water plus those gaps (old gaps aged out or beyond `maxGaps` abandoned, as a read would). Each
 *   sub-range then emits the ids it reads except those inside the end's gaps: an id that commits between the
 *   plan and the read of its sub-range is left to the next window, which reads the end's gaps, so it lands once.
 *   Cost: one more source row per new row (the keys at plan time), only in split windows.
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
import type { ColumnReader } from '../type-mapping.js';
import { bindWatermarkColumn, clockedJobPosition, queryTimeout, readPlacedRows } from './common.js';
import { textToTicks } from '../ticks.js';
import type { JobKind } from '../../domain/jobs.js';
import { subRangesAt } from '../../domain/sub-ranges.js';
import type { SubRange } from '../../domain/window.js';
import { thinCuts } from './sub-range-queries.js';
import {
  newStats,
  type CaptureStrategy,
  type ChangeBatch,
  type SourceWindow,
  type SnapshotPositioner,
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

type QueryParams = { name: string; type: sql.ISqlTypeFactoryWithNoParams; value: unknown }[];

/** The ranges of `gap` not covered by the ascending `present` ids (binary search: gaps × log(found)). */
function splitGap(gap: IdentityGap, present: readonly bigint[], step: bigint): IdentityGap[] {
  const out: IdentityGap[] = [];
  let i = 0;
  let j = present.length;
  while (i < j) {
    const mid = (i + j) >> 1;
    if (present[mid]! < gap.lo) i = mid + 1;
    else j = mid;
  }
  let lo = gap.lo;
  for (; i < present.length && present[i]! <= gap.hi; i++) {
    const id = present[i]!;
    if (id > lo) out.push({ lo, hi: id - step, seenAt: gap.seenAt });
    lo = id + step;
  }
  if (lo <= gap.hi) out.push({ lo, hi: gap.hi, seenAt: gap.seenAt });
  return out;
}

/** Whether `id` lies in one of `gaps` (sorted by `lo`, disjoint: binary search). */
function inGaps(gaps: readonly IdentityGap[], id: bigint): boolean {
  let i = 0;
  let j = gaps.length;
  while (i < j) {
    const mid = (i + j) >> 1;
    if (gaps[mid]!.hi < id) i = mid + 1;
    else j = mid;
  }
  const g = gaps[i];
  return g !== undefined && g.lo <= id;
}

/**
 * Job rows: the highest id ever handed out at the read (`IDENT_CURRENT`, which never goes down, unlike `MAX` when
 * the top row is deleted), then the source clock (100 ns ticks): after the insert event of every key it contains
 * (`pad20(id)` is a prefix-shorter, smaller string), after every earlier chunk read, and before the insert event
 * of any id handed out later. `table` is the quoted table name.
 */
export function identityPositioner(table: string, column: string): SnapshotPositioner {
  return {
    atStart: async (q) => {
      const r = await q(
        `SELECT CAST(MAX(${quoteIdent(column)}) AS bigint) AS mx, CAST(IDENT_CURRENT(${quoteLiteralN(table)}) AS bigint) AS cur, CONVERT(varchar(27), SYSUTCDATETIME(), 121) AS now FROM ${table}`,
      );
      const mx = BigInt((r[0]?.mx as string | number | null) ?? 0);
      const cur = BigInt((r[0]?.cur as string | number | null) ?? 0);
      return pad20(mx > cur ? mx : cur) + pad20(textToTicks(r[0]?.now as string));
    },
    rowPos: (start) => start,
  };
}

/** `N'…'` with quotes doubled (an object name as a string argument, e.g. to IDENT_CURRENT). */
function quoteLiteralN(text: string): string {
  return `N'${text.replace(/'/g, "''")}'`;
}

export class IdentityStrategy implements CaptureStrategy {
  readonly strategy = 'identity' as const;
  readonly columns;
  private readonly readers: ColumnReader[];
  private readonly idIndex: number;
  private readonly col: string;
  lastPlanStats: StepStats | undefined;
  lastReadStats: StepStats | undefined;

  readonly seesDeletes = false;
  snapshotPositioner(): SnapshotPositioner {
    return identityPositioner(this.table, this.col);
  }
  jobPosition(kind: JobKind): Promise<string> {
    return clockedJobPosition(this, this.conn, kind);
  }

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

  private gapPredicate(gaps: readonly IdentityGap[], params: QueryParams): string {
    return gaps
      .map((g, i) => {
        params.push({ name: `glo${i}`, type: sql.BigInt, value: g.lo.toString() });
        params.push({ name: `ghi${i}`, type: sql.BigInt, value: g.hi.toString() });
        return `(${quoteIdent(this.col)} BETWEEN @glo${i} AND @ghi${i})`;
      })
      .join(' OR ');
  }

  /** The identity increment and the source clock (unix seconds): catalog only, no table rows. */
  private async meta(): Promise<{ step: bigint; now: number }> {
    const r = await this.conn.query<{ increment_value: number | string; now: number }>(
      'identity.meta',
      `SELECT CAST(increment_value AS bigint) AS increment_value, DATEDIFF(second, '1970-01-01', SYSUTCDATETIME()) AS now
         FROM sys.identity_columns WHERE object_id = OBJECT_ID(@t)`,
      [{ name: 't', type: sql.NVarChar(300), value: this.table }],
      queryTimeout(this.options),
    );
    let step = BigInt(r[0]?.increment_value ?? 1);
    if (step <= 0n) step = 1n;
    return { step, now: Number(r[0]?.now ?? Math.floor(Date.now() / 1000)) };
  }

  /**
   * Fixes the window's bound with one seek: `to` = the highest committed id above the high-water mark, capped
   * at the lowest new id + (`maxRowsPerWindow` − 1) × increment (`more` when ids lie beyond the cap). `to`
   * carries the old gaps unchanged: which ids inside the bound are still missing is found by the read. Nothing
   * new, no previously open gap filled and none aged out → empty.
   */
  async planWindow(lastPosition: string | null): Promise<SourceWindow> {
    const t0 = Date.now();
    const stats = newStats();
    const { step, now } = await this.meta();
    stats.queries++;
    if (lastPosition === null) return this.planFromStart(stats, step, now, t0);
    const last = parseIdentityPosition(lastPosition);
    const limit = BigInt(this.options.maxRowsPerWindow ?? 1_000_000);
    let cap = last.highWater + limit * step;
    const c = quoteIdent(this.col);
    const params: QueryParams = [{ name: 'hw', type: sql.BigInt, value: last.highWater.toString() }];
    const gapSql = last.gaps.length > 0 ? this.gapPredicate(last.gaps, params) : '';
    let maxId: bigint | null = null;
    let gapFilled = false;
    const probe = async (tx?: sql.Transaction) => {
      const opts = { ...queryTimeout(this.options), ...(tx ? { transaction: tx } : {}) };
      const top = await this.conn.query<{ id: string | number }>(
        'identity.plan_max',
        `SELECT TOP (1) ${c} AS id FROM ${this.table} WHERE ${c} > @hw ORDER BY ${c} DESC OPTION (MAXDOP 1)`,
        params,
        opts,
      );
      stats.queries++;
      stats.rowsRead += top.length;
      if (top[0]) maxId = BigInt(top[0].id);
      if (maxId !== null && maxId > last.highWater + limit * step) {
        // Capped: count the window from the lowest new id (ids may jump far beyond the high-water mark).
        const low = await this.conn.query<{ id: string | number }>(
          'identity.plan_min',
          `SELECT TOP (1) ${c} AS id FROM ${this.table} WHERE ${c} > @hw ORDER BY ${c} OPTION (MAXDOP 1)`,
          params,
          opts,
        );
        stats.queries++;
        stats.rowsRead += low.length;
        if (low[0]) cap = BigInt(low[0].id) + (limit - 1n) * step;
      }
      if (maxId === null && gapSql) {
        const g = await this.conn.query<{ id: string | number }>(
          'identity.plan_gaps',
          `SELECT TOP (1) ${c} AS id FROM ${this.table} WHERE ${gapSql} OPTION (MAXDOP 1)`,
          params,
          opts,
        );
        stats.queries++;
        stats.rowsRead += g.length;
        gapFilled = g.length > 0;
      }
    };
    if (this.snapshot) await this.conn.inSnapshot('identity.plan', probe);
    else await probe();

    const timeoutS = this.gapTimeoutS;
    const aging = last.gaps.filter((g) => now - g.seenAt > timeoutS).length;
    const found = maxId as bigint | null;
    const bound = found === null ? last.highWater : found > cap ? cap : found;
    const more = found !== null && found > cap;
    const empty = found === null && !gapFilled && aging === 0;
    stats.extra = { gapsOpen: last.gaps.length, gapsAging: aging, capped: more ? 1 : 0 };
    stats.durationMs = Date.now() - t0;
    this.lastPlanStats = stats;
    return {
      strategy: 'identity',
      from: lastPosition,
      to: empty ? (lastPosition ?? pad20(0n)) : formatIdentityPosition({ highWater: bound, gaps: last.gaps }),
      empty,
      lagSeconds: null,
      ...(more ? { more } : {}),
    };
  }

  /**
   * From nothing (`planWindow(null)`: where a full load starts, e.g. the snapshot job's position): the highest
   * committed id and every id missing below it, read as keys only in one snapshot, uncapped. The snapshot's
   * chunks read later; an id in flight now is a gap here, so incremental sync picks it up when it commits
   * (the chunk may read it too: its `r` event sorts after the `c`, see chunks.ts). Reads every key once —
   * once per full load, never per window.
   */
  private async planFromStart(stats: StepStats, step: bigint, now: number, t0: number): Promise<SourceWindow> {
    const c = quoteIdent(this.col);
    const gaps: IdentityGap[] = [];
    let prev: bigint | null = null;
    const keys = async (tx?: sql.Transaction) => {
      for await (const b of this.conn.stream(
        'identity.plan_start',
        `SELECT ${c} AS id FROM ${this.table} ORDER BY ${c} OPTION (MAXDOP 1)`,
        [],
        { ...queryTimeout(this.options), ...(tx ? { transaction: tx } : {}), batchRows: 10_000 },
      )) {
        stats.rowsRead += b.rows.length;
        for (const raw of b.rows) {
          const id = BigInt(raw[0] as string | number);
          if (prev !== null && id - prev > step) gaps.push({ lo: prev + step, hi: id - step, seenAt: now });
          prev = id;
        }
      }
      stats.queries++;
    };
    if (this.snapshot) await this.conn.inSnapshot('identity.plan', keys);
    else await keys();
    const maxGaps = this.options.maxGaps ?? 500;
    const kept = gaps.length > maxGaps ? gaps.slice(gaps.length - maxGaps) : gaps;
    const top = prev as bigint | null;
    stats.extra = { gapsOpen: kept.length, gapsAbandoned: gaps.length - kept.length };
    stats.durationMs = Date.now() - t0;
    this.lastPlanStats = stats;
    return {
      strategy: 'identity',
      from: null,
      to: formatIdentityPosition({ highWater: top ?? 0n, gaps: kept }),
      empty: top === null,
      lagSeconds: null,
    };
  }

  /**
   * Sub-ranges of a planned window of more than `rowsPerSubRange` new ids, and the window's end fixed now (the
   * last sub-range's `to`: `to`'s high-water plus every id of the window and of the old gaps not committed at
   * this scan). One statement: the scan cuts at every `rowsPerSubRange`-th new id, thinned to at most
   * `maxSubRanges` sub-ranges (sub-range-queries.ts `thinCuts`, as the other strategies' splits), and a window
   * whose scan finds at most `rowsPerSubRange` new ids is not split — no capped count and no window count first.
   * The first sub-range also reads the old gaps (its `from` is the window's). Not split: a window from nothing
   * (`from` null: the plan has just read every key, the snapshot's position), or one holding only old gaps. Ids
   * are unique, so a window whose id span is within the threshold is not scanned.
   */
  async planSubRanges(
    window: SourceWindow,
    rowsPerSubRange: number,
    maxSubRanges: number,
  ): Promise<SubRange[] | undefined> {
    if (window.empty || window.from === null) return undefined;
    const last = parseIdentityPosition(window.from);
    const top = parseIdentityPosition(window.to).highWater;
    const { step, now } = await this.meta();
    if ((top - last.highWater) / step <= BigInt(rowsPerSubRange)) return undefined;
    const c = quoteIdent(this.col);
    const params: QueryParams = [
      { name: 'hw', type: sql.BigInt, value: last.highWater.toString() },
      { name: 'top', type: sql.BigInt, value: top.toString() },
    ];
    const gapSql = last.gaps.length > 0 ? ` OR ${this.gapPredicate(last.gaps, params)}` : '';
    const split = async (tx?: sql.Transaction) => {
      // The split's key scan grows with the window: not a latency sample (QueryOptions.sizeDependent).
      const opts = { ...queryTimeout(this.options), ...(tx ? { transaction: tx } : {}), sizeDependent: true };
      // One ordered scan of the keys: the cuts (every rowsPerSubRange-th new id) and the ids missing now.
      const cuts: bigint[] = [];
      const foundInGaps: bigint[] = [];
      const fresh: IdentityGap[] = [];
      let prev = last.highWater;
      let n = 0;
      for await (const b of this.conn.stream(
        'identity.split_cuts',
        `SELECT ${c} AS id FROM ${this.table} WHERE (${c} > @hw AND ${c} <= @top)${gapSql} ORDER BY ${c} OPTION (MAXDOP 1)`,
        params,
        { ...opts, batchRows: 10_000 },
      )) {
        for (const raw of b.rows) {
          const id = BigInt(raw[0] as string | number);
          if (id <= last.highWater) {
            foundInGaps.push(id);
            continue;
          }
          if (id - prev > step) fresh.push({ lo: prev + step, hi: id - step, seenAt: now });
          prev = id;
          if (++n % rowsPerSubRange === 0 && id < top) cuts.push(id);
        }
      }
      if (n <= rowsPerSubRange) return undefined;
      // Ids between the last one seen and the bound were handed out before the plan (the bound is a committed
      // id, or the cap below one): a gap too.
      if (prev + step <= top) fresh.push({ lo: prev + step, hi: top, seenAt: now });
      return { cuts, end: this.settleGaps(last.gaps, foundInGaps, fresh, step, now).gaps };
    };
    const planned = this.snapshot ? await this.conn.inSnapshot('identity.split', split) : await split();
    if (!planned) return undefined;
    const end = formatIdentityPosition({ highWater: top, gaps: planned.end });
    return subRangesAt(window.from, end, thinCuts(planned.cuts, maxSubRanges).map(pad20), maxSubRanges);
  }

  /**
   * Reads `(from, to]` plus the previously open gaps in one statement, in id order, and emits every row it
   * sees. The ids it does not see become the window's refined end (the last batch's `resumePosition`): the
   * highest id seen is the new high-water, every id missing below it is an open gap (old gaps keep their first
   * seen time; new ones get the read's source clock). So an id that commits between the plan and the read —
   * or between two attempts — is either emitted by this read or listed as a gap in its position: never lost,
   * never emitted by two windows (the window commits the position of the attempt whose files it commits).
   */
  async *readWindow(window: SourceWindow): AsyncGenerator<ChangeBatch> {
    if (window.partOf) {
      yield* this.readSubRange(window, parseIdentityPosition(window.partOf.to).gaps);
      return;
    }
    const stats = newStats();
    this.lastReadStats = stats;
    if (window.empty) return;
    const t0 = Date.now();
    const first = window.from === null;
    const from = this.fromPosition(window);
    const { step, now } = await this.meta();
    stats.queries++;
    // Gaps are found while the rows stream by: a window is never held in memory, only the ids found in old gaps.
    const foundInGaps: bigint[] = [];
    const newGaps: IdentityGap[] = [];
    let prev = from.highWater;
    yield* this.readIds(window, from, stats, t0, (id) => {
      if (id <= from.highWater) foundInGaps.push(id);
      else {
        if (id - prev > step && !(first && prev === 0n)) newGaps.push({ lo: prev + step, hi: id - step, seenAt: now });
        prev = id;
      }
      return true;
    });
    const resume = this.settleGaps(from.gaps, foundInGaps, newGaps, step, now);
    stats.extra = { gapsOpen: resume.gaps.length, gapsAbandoned: resume.abandoned, gapRowsFound: foundInGaps.length };
    yield {
      columns: this.columns,
      rows: [],
      resumePosition: formatIdentityPosition({ highWater: prev, gaps: resume.gaps }),
    };
  }

  /**
   * Reads one sub-range of a split window: `(from, to]` plus, for the first, the old gaps of its `from`; emits
   * every id it sees except those inside `endGaps` (the window's end, fixed by the split: the next window reads
   * them). No refined end: the window commits the end planned with it.
   */
  private async *readSubRange(window: SourceWindow, endGaps: readonly IdentityGap[]): AsyncGenerator<ChangeBatch> {
    const stats = newStats();
    this.lastReadStats = stats;
    let left = 0;
    yield* this.readIds(window, this.fromPosition(window), stats, Date.now(), (id) => {
      if (!inGaps(endGaps, id)) return true;
      left++;
      return false;
    });
    stats.extra = { gapRowsLeft: left };
  }

  private fromPosition(window: SourceWindow): IdentityPosition {
    return window.from === null ? { highWater: 0n, gaps: [] } : parseIdentityPosition(window.from);
  }

  /**
   * The one read of identity, whole window or sub-range: `(from, to]` plus the old gaps of `from`, in id order;
   * emits each row `keep` keeps (it also sees every id, in order, to note gaps).
   */
  private readIds(
    window: SourceWindow,
    from: IdentityPosition,
    stats: StepStats,
    t0: number,
    keep: (id: bigint) => boolean,
  ): AsyncGenerator<ChangeBatch> {
    const params: QueryParams = [
      { name: 'hw', type: sql.BigInt, value: from.highWater.toString() },
      { name: 'top', type: sql.BigInt, value: parseIdentityPosition(window.to).highWater.toString() },
    ];
    const c = quoteIdent(this.col);
    const gapSql = from.gaps.length > 0 ? ` OR ${this.gapPredicate(from.gaps, params)}` : '';
    const query = { operation: 'identity.read', where: `(${c} > @hw AND ${c} <= @top)${gapSql}`, orderBy: c, params };
    const src = { conn: this.conn, d: this.d, options: this.options, readers: this.readers, columns: this.columns };
    return readPlacedRows(src, query, stats, t0, (values) => {
      const id = BigInt(values[this.idIndex] as number | bigint);
      return keep(id) ? { op: 'c', pos: pad20(id), commitTs: null, values } : undefined;
    });
  }

  /** Old gaps minus the ids found in them (aged-out remainders abandoned), plus the new gaps; at most maxGaps. */
  private settleGaps(
    old: readonly IdentityGap[],
    found: readonly bigint[],
    fresh: readonly IdentityGap[],
    step: bigint,
    now: number,
  ): { gaps: IdentityGap[]; abandoned: number } {
    let gaps: IdentityGap[] = [];
    let abandoned = 0;
    for (const g of old) {
      for (const rest of splitGap(g, found, step)) {
        if (now - rest.seenAt > this.gapTimeoutS) abandoned++;
        else gaps.push(rest);
      }
    }
    gaps.push(...fresh);
    const maxGaps = this.options.maxGaps ?? 500;
    if (gaps.length > maxGaps) {
      gaps.sort((a, b) => a.seenAt - b.seenAt || (a.lo < b.lo ? -1 : 1));
      abandoned += gaps.length - maxGaps;
      gaps = gaps.slice(gaps.length - maxGaps);
    }
    gaps.sort((a, b) => (a.lo < b.lo ? -1 : a.lo > b.lo ? 1 : 0));
    return { gaps, abandoned };
  }

  private get gapTimeoutS(): number {
    return (this.options.gapTimeoutMs ?? 3_600_000) / 1000;
  }

  private get snapshot(): boolean {
    return this.options.snapshot ?? this.d.database.snapshotIsolation;
  }
}
