/**
 * `updated_at` watermark: window (from, to] with `to` = source clock − safety lag, each read going back
 * `lookback` before `from` (overlap) so a row whose transaction committed after the previous read, but whose
 * `updated_at` was stamped before that read's upper bound, is still found (capture reference §D).
 *
 * Positions order by when Tidemark saw the change, not only by the writer's clock. `_pos` is 20 digits of
 * 100 ns ticks since 0001-01-01 followed by 16 hex digits of SHA-256 over the row's values (key included):
 * - a row stamped above the read's floor (below) keeps its own time: `pad20(updated_at)` + hash;
 * - a row stamped at or below the floor that is not a re-read — a late-committing transaction, or a writer whose
 *   clock runs slow, moving the row's `updated_at` backwards — gets the window's bound: `pad20(to)` + hash. It
 *   then orders after every event the lake already holds for its key, so "last event per key by `_pos`" is the
 *   source's latest state (with its own time it could sort before the older version it replaces).
 * The floor is `from` (every event of earlier windows is at or below it), raised to the newest job position the
 * lake holds when a snapshot, sweep, backfill or reconciliation committed after `from` (their rows sit at
 * `source clock − safety lag` + `f`×16, updatedAtPositioner): jobs run between windows, so a window's `to` is above them.
 *
 * De-duplication: a row stamped at or below the floor is dropped when the {@link SeenEvents} index holds an event
 * with its content hash — a re-read of a row version already landed. The hash covers every value, the key too, so
 * it identifies (key, content) whatever prefix the earlier event got (its own time or a window's bound). The
 * activities give the index the lake's committed positions of `[from − lookback, from]`
 * (src/lake/committed-positions.ts), which holds every earlier event of a row the read can return: such an event
 * was written at or after the row's `updated_at` (its own time or a later bound) and at or below `from`. So the
 * answer does not depend on which worker reads or whether it restarted. Without an index the overlap is emitted
 * again (same content, at this window's bound): "latest event per key by `_pos`" is still right.
 *
 * Limits: rows whose writers do not maintain the column, and NULL `updated_at`, are invisible (nightly sweep);
 * deletes are invisible (nightly reconciliation); a transaction open longer than `lookback + safetyLag` can
 * still be missed (the sweep catches it), and a late row is found only by a window that has a row stamped after
 * its `from` (an empty window reads nothing). Inserts and updates are both emitted as `u`.
 *
 * Sub-ranges (issue 14): a window over `subRangeRows` is cut at timestamps (`planSubRanges`), and each sub-range
 * places its rows with the whole window's floor, index and bound (`readWindow`, `SourceWindow.partOf`).
 */
import sql from 'mssql';
import type { SourceConnection } from '../connection.js';
import { findColumn, tableReaders, type TableDiscovery } from '../discovery.js';
import { TableNotFoundError, PositionFormatError } from '../errors.js';
import { pad20 } from '../positions.js';
import { EPOCH_TICKS, TICKS_PER_MS, textToTicks, ticksToText } from '../ticks.js';
import { quoteIdent, quoteTable } from '../sql-text.js';
import type { ColumnReader } from '../type-mapping.js';
import type { LakeValue } from '../../domain/values.js';
import { contentHash16, clockedJobPosition, keyString, lakeColumns, queryTimeout, readPlacedRows } from './common.js';
import type { JobKind } from '../../domain/jobs.js';
import { subRangesAt } from '../../domain/sub-ranges.js';
import type { SubRange } from '../../domain/window.js';
import { cappedCount, planRangeCuts, type PositionRange, type SplitQuery } from './sub-range-queries.js';
import {
  newStats,
  type CaptureStrategy,
  type ChangeBatch,
  type ChangeRow,
  type PlanOptions,
  type SourceWindow,
  type SnapshotPositioner,
  type StepStats,
  type StrategyOptions,
} from './types.js';

/** Which row versions the lake already holds, by key and content hash (the last 16 hex digits of `_pos`). */
export interface SeenEvents {
  /**
   * Called once per read before any `has`, with the overlap's position range: `[low, highExclusive)` (20-digit
   * tick prefixes). An index kept outside the process (the lake) loads what it needs here.
   */
  prepare?(low: string, highExclusive: string): Promise<void>;
  has(key: string, contentHash: string): boolean | Promise<boolean>;
  /**
   * After `prepare`: the highest `_pos` the lake holds (a window's event or a job's row), or null when unknown.
   * Rows stamped at or below it are placed at the window's bound (see the module comment).
   */
  highestPosition?(): string | null;
}

/** The content hash of an updated_at `_pos` (its last 16 hex digits), or undefined for another shape (job rows). */
export function contentHashOf(pos: string): string | undefined {
  return /^\d{20}[0-9a-f]{16}$/.test(pos) && !pos.endsWith(JOB_SUFFIX) ? pos.slice(20) : undefined;
}

/** The suffix of job rows (updatedAtPositioner): `f`×16, never read as a content hash. */
const JOB_SUFFIX = 'f'.repeat(16);

/** A {@link SeenEvents} in memory (tests; small tables). */
export class InMemorySeenEvents implements SeenEvents {
  private readonly set = new Set<string>();
  private highest: string | null = null;
  /** Records an emitted event (`pos` as emitted). */
  add(key: string, pos: string): void {
    const hash = contentHashOf(pos);
    if (hash !== undefined) this.set.add(`${key}\u0000${hash}`);
    if (this.highest === null || pos > this.highest) this.highest = pos;
  }
  has(key: string, contentHash: string): boolean {
    return this.set.has(`${key}\u0000${contentHash}`);
  }
  highestPosition(): string | null {
    return this.highest;
  }
}

/** Options of the updated_at strategy. */
export interface UpdatedAtOptions extends StrategyOptions {
  /** Overlap re-read before `from`, ms (config `lookback`). */
  readonly lookbackMs: number;
  /** Distance of `to` behind the source clock, ms (config `safetyLag`). */
  readonly safetyLagMs: number;
  /** Which source clock the writers stamp with: `utc` (SYSUTCDATETIME, default) or `local` (SYSDATETIME). */
  readonly clock?: 'utc' | 'local';
  readonly seen?: SeenEvents;
}

function windowTicks(pos: string): bigint {
  const m = /^(\d{20})(?:[0-9a-f]{16})?$/.exec(pos);
  if (!m) throw new PositionFormatError('updated_at', pos);
  return BigInt(m[1]!);
}

/** max(`from`, the 20-digit prefix of `highest`), kept below `to` (a window's rows never sort past its bound). */
function maxTicks(from: bigint, highest: string | null, to: bigint): bigint {
  const m = highest === null ? null : /^(\d{20})/.exec(highest);
  const h = m ? BigInt(m[1]!) : from;
  const floor = h > from ? h : from;
  return floor < to ? floor : to;
}

/**
 * Job rows: the source clock minus the table's safety lag (the upper bound a window planned now would get), then
 * `f`×16. Events are `pad20(updated_at) + 16 hex`, so a chunk row orders after every event a window up to that
 * bound can carry and before any change stamped later; a transaction stamped inside the lag that commits after
 * the read still orders after the chunk row.
 */
export function updatedAtPositioner(safetyLagMs: number, clock: 'utc' | 'local' = 'utc'): SnapshotPositioner {
  return {
    atStart: async (q) => {
      const r = await q(
        `SELECT CONVERT(varchar(27), ${clock === 'local' ? 'SYSDATETIME()' : 'SYSUTCDATETIME()'}, 121) AS now`,
      );
      return pad20(textToTicks(r[0]?.now as string) - BigInt(safetyLagMs) * TICKS_PER_MS) + 'f'.repeat(16);
    },
    rowPos: (start) => start,
  };
}

export class UpdatedAtStrategy implements CaptureStrategy {
  readonly strategy = 'updated_at' as const;
  readonly columns;
  private readonly readers: ColumnReader[];
  private readonly colIndex: number;
  private readonly keyIdx: number[];
  private readonly col: string;
  lastPlanStats: StepStats | undefined;
  lastReadStats: StepStats | undefined;

  readonly seesDeletes = false;
  snapshotPositioner(): SnapshotPositioner {
    return updatedAtPositioner(this.options.safetyLagMs, this.options.clock);
  }
  jobPosition(kind: JobKind): Promise<string> {
    return clockedJobPosition(this, this.conn, kind);
  }

  constructor(
    private readonly conn: SourceConnection,
    private readonly d: TableDiscovery,
    column: string,
    private readonly options: UpdatedAtOptions,
  ) {
    const c = findColumn(d, column);
    if (!c || !['datetime2', 'datetime', 'smalldatetime'].includes(c.type.typeName))
      throw new TableNotFoundError(
        `${d.schema}.${d.table}`,
        `'${column}' must be a datetime2, datetime or smalldatetime column of the table`,
      );
    if (d.key.length === 0)
      throw new TableNotFoundError(`${d.schema}.${d.table}`, 'the table needs a primary key or unique index');
    this.col = c.name;
    this.readers = tableReaders(d);
    this.colIndex = this.readers.findIndex((r) => r.name === c.name);
    this.keyIdx = d.key.map((k) => this.readers.findIndex((r) => r.name === k));
    this.columns = lakeColumns(d, this.readers);
  }

  /**
   * The window's rows counted up to `cap` by the plan, for the split of the window object the plan returned
   * (as rowversion's `planned`).
   */
  private readonly planned = new WeakMap<SourceWindow, { readonly n: number; readonly cap: number }>();

  /**
   * `to` = the source clock − safety lag; empty when no row is stamped in (from, to]. When the caller splits the
   * window next (`options.rowsPerSubRange`), the probe for a row is the split's capped count (one query, at most
   * `rowsPerSubRange + 1` timestamps read) instead of a TOP (1) seek followed by that count.
   */
  async planWindow(lastPosition: string | null, options: PlanOptions = {}): Promise<SourceWindow> {
    const t0 = Date.now();
    const stats = newStats();
    const clock = this.options.clock === 'local' ? 'SYSDATETIME()' : 'SYSUTCDATETIME()';
    const r = await this.conn.query<{ now: string }>(
      'updated_at.plan',
      `SELECT CONVERT(varchar(27), ${clock}, 121) AS now`,
      [],
      queryTimeout(this.options),
    );
    stats.queries++;
    const to = textToTicks(r[0]!.now) - BigInt(this.options.safetyLagMs) * TICKS_PER_MS;
    const from = lastPosition === null ? null : windowTicks(lastPosition);
    let empty = from !== null && to <= from;
    let counted: { n: number; cap: number } | undefined;
    if (!empty) {
      const { q, range } = this.stamped(from ?? 0n, to, options.rowsPerSubRange !== undefined);
      if (options.rowsPerSubRange !== undefined) {
        counted = {
          n: await cappedCount(q, range, options.rowsPerSubRange, 'updated_at.plan_count'),
          cap: options.rowsPerSubRange + 1,
        };
        stats.rowsRead += counted.n;
        empty = counted.n === 0;
      } else {
        const any = await q('updated_at.plan_probe', `SELECT TOP (1) 1 AS x ${range.from} OPTION (MAXDOP 1)`);
        stats.rowsRead += any.length;
        empty = any.length === 0;
      }
      stats.queries++;
    }
    stats.durationMs = Date.now() - t0;
    this.lastPlanStats = stats;
    const out: SourceWindow = {
      strategy: 'updated_at',
      from: lastPosition,
      to: empty ? (lastPosition ?? pad20(0n)) : pad20(to),
      empty,
      lagSeconds: null,
    };
    if (counted && !empty) this.planned.set(out, counted);
    return out;
  }

  /**
   * The rows stamped in (from, to] as a position range, and a query over them. `sizeDependent`: the query's time
   * grows with the window (a count, the cuts), so the throttle does not take it for a latency sample.
   */
  private stamped(from: bigint, to: bigint, sizeDependent: boolean): { q: SplitQuery; range: PositionRange } {
    const c = quoteIdent(this.col);
    const params = [
      { name: 'from', type: sql.VarChar(27), value: ticksToText(from) },
      { name: 'to', type: sql.VarChar(27), value: ticksToText(to) },
    ];
    const opts = { ...queryTimeout(this.options), ...(sizeDependent ? { sizeDependent: true } : {}) };
    const q: SplitQuery = (op, text) => this.conn.query(op, text, params, opts);
    const range = {
      op: 'updated_at',
      from: `FROM ${quoteTable(this.d.schema, this.d.table)}
          WHERE ${c} > CAST(@from AS datetime2(7)) AND ${c} <= CAST(@to AS datetime2(7))`,
      orderBy: c,
      cutValue: `CONVERT(varchar(27), CAST(${c} AS datetime2(7)), 121)`,
    };
    return { q, range };
  }

  /**
   * Sub-ranges of a planned window holding more than `rowsPerSubRange` rows stamped in (from, to], cut at
   * `updated_at` values (sub-range-queries.ts): a sub-range (a, b] holds every row stamped above `a` and at or
   * below `b`, so rows with equal timestamps at a cut all fall in one sub-range. The cuts are read as
   * `datetime2(7)` text, the type the reads compare the column with, so a cut and the predicates agree on every
   * value. Each sub-range is read with the window's bounds (`SourceWindow.partOf`): see readWindow.
   *
   * Two scans of the window's timestamps at most, not three: the capped count comes from the plan, and the cuts
   * are read at every `rowsPerSubRange`-th row without the window's full count (`planRangeCuts`).
   */
  async planSubRanges(
    window: SourceWindow,
    rowsPerSubRange: number,
    maxSubRanges: number,
  ): Promise<SubRange[] | undefined> {
    if (window.empty) return undefined;
    const { q, range } = this.stamped(
      window.from === null ? 0n : windowTicks(window.from),
      windowTicks(window.to),
      true,
    );
    const counted = this.planned.get(window);
    const probed = counted && counted.cap === rowsPerSubRange + 1 ? counted.n : undefined;
    const cuts = await planRangeCuts(q, range, rowsPerSubRange, maxSubRanges, probed);
    return (
      cuts &&
      subRangesAt(
        window.from,
        window.to,
        cuts.map((v) => pad20(textToTicks(v as string))),
        maxSubRanges,
      )
    );
  }

  /**
   * Reads the window — or one of its sub-ranges (`window.partOf` set: the whole window's bounds) — and places
   * every row as the whole read would: the floor, the de-duplication index and the bound rows are placed at are
   * the whole window's, whichever sub-range reads the row. Only the sub-range starting at the window's start
   * re-reads the overlap (`lookback` before `from`); the others read their own range: the overlap is for rows
   * committed after the *previous window's* read, and a row stamped in this window that commits after its
   * sub-range was read is found by the next window's overlap, exactly as a row committing after a whole read is
   * (a row version's stamp is part of its content, so one version lies in one sub-range and is read once).
   */
  async *readWindow(window: SourceWindow): AsyncGenerator<ChangeBatch> {
    const stats = newStats();
    this.lastReadStats = stats;
    if (window.empty) return;
    const t0 = Date.now();
    const whole = window.partOf ?? window;
    const from = whole.from === null ? null : windowTicks(whole.from);
    const to = windowTicks(whole.to);
    const overlap = window.from === whole.from;
    const lo = from === null ? 0n : from - BigInt(this.options.lookbackMs) * TICKS_PER_MS;
    const seen = this.options.seen;
    // A later sub-range needs only the lake's highest position (the floor): an empty range loads no positions.
    if (from !== null && seen?.prepare)
      await (overlap ? seen.prepare(pad20(lo), pad20(from + 1n)) : seen.prepare(pad20(from + 1n), pad20(from + 1n)));
    const floor = from === null ? null : maxTicks(from, seen?.highestPosition?.() ?? null, to);
    const bound = pad20(to);
    const readLo = overlap || window.from === null ? lo : windowTicks(window.from);
    const readTo = windowTicks(window.to);
    const c = quoteIdent(this.col);
    const params = [
      { name: 'lo', type: sql.VarChar(27), value: ticksToText(readLo) },
      { name: 'to', type: sql.VarChar(27), value: ticksToText(readTo) },
    ];
    const where = `${c} > CAST(@lo AS datetime2(7)) AND ${c} <= CAST(@to AS datetime2(7))`;
    const atBound = (values: LakeValue[], hash: string): ChangeRow => {
      // Seen only now, stamped at or below what the lake already holds: order it by when it was seen.
      stats.extra.placedAtBound = (stats.extra.placedAtBound ?? 0) + 1;
      return { op: 'u', pos: `${bound}${hash}`, commitTs: null, values };
    };
    const src = { conn: this.conn, d: this.d, options: this.options, readers: this.readers, columns: this.columns };
    const query = { operation: 'updated_at.read', where, orderBy: c, params };
    yield* readPlacedRows(src, query, stats, t0, (values) => {
      const ticks = (values[this.colIndex] as bigint) / 100n + EPOCH_TICKS;
      const hash = contentHash16(values);
      if (floor === null || ticks > floor) return { op: 'u', pos: `${pad20(ticks)}${hash}`, commitTs: null, values };
      if (!seen) return atBound(values, hash);
      const known = seen.has(keyString(values, this.keyIdx), hash);
      const drop = (has: boolean) => {
        if (!has) return atBound(values, hash);
        stats.duplicatesDropped++;
        return undefined;
      };
      return known instanceof Promise ? known.then(drop) : drop(known);
    });
  }

  /** The de-duplication key of an emitted row (what a {@link SeenEvents} index stores with `_pos`). */
  keyOf(values: readonly unknown[]): string {
    return keyString(values as never, this.keyIdx);
  }
}
