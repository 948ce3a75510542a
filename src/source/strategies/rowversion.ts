/**
 * rowversion watermark: window (from, to] with `to` = MIN_ACTIVE_ROWVERSION() − 1, never @@DBTS.
 *
 * MIN_ACTIVE_ROWVERSION is the lowest rowversion still held by an uncommitted transaction (or @@DBTS + 1 when
 * none), so every row version at or below `to` belongs to a committed transaction: an in-flight transaction's
 * rows land in a later window instead of being passed over (capture reference §C). Sees inserts and updates
 * (both emitted as `u`: a rowversion cannot tell them apart); deletes need the nightly reconciliation.
 * `_pos` is the row's own rowversion (16 hex digits).
 */
import sql from 'mssql';
import type { SourceConnection } from '../connection.js';
import { indexesLeadingWith, type TableDiscovery } from '../discovery.js';
import { hex, rowversionAdd, rowversionPosition } from '../positions.js';
import { quoteIdent, quoteTable } from '../sql-text.js';
import type { ColumnReader } from '../type-mapping.js';
import { bindWatermarkColumn, queryTimeout, readPlacedRows } from './common.js';
import {
  newStats,
  type CaptureStrategy,
  type ChangeBatch,
  type PlanOptions,
  type SourceWindow,
  type SnapshotPositioner,
  type StepStats,
  type StrategyOptions,
} from './types.js';
import { lakePosition } from '../../domain/positions.js';
import { subRangesAt } from '../../domain/sub-ranges.js';
import { planRangeCuts, type SplitQuery } from './sub-range-queries.js';
import type { SubRange } from '../../domain/window.js';

const ZERO = '0000000000000000';

/** Job rows: each row's own rowversion is its exact version. */
export function rowversionPositioner(column: string): SnapshotPositioner {
  return {
    atStart: async () => Promise.resolve(''),
    rowPos: (_s, values, cols) => hex(values[cols.findIndex((c) => c.name === column)] as Buffer),
  };
}

export class RowversionStrategy implements CaptureStrategy {
  readonly strategy = 'rowversion' as const;
  readonly columns;
  private readonly readers: ColumnReader[];
  private readonly rvIndex: number;
  private readonly rv: string;
  lastPlanStats: StepStats | undefined;
  lastReadStats: StepStats | undefined;

  readonly seesDeletes = false;
  snapshotPositioner(): SnapshotPositioner {
    return rowversionPositioner(this.rv);
  }
  /** The strategy's upper bound now (MIN_ACTIVE_ROWVERSION − 1), whatever the job. */
  async jobPosition(): Promise<string> {
    return (await this.planWindow(null)).to;
  }
  /**
   * Rows carry their own version: rows changed after the job's position are left to incremental sync (which
   * reads them with the same position), so no (key, position) lands twice.
   */
  jobRowFilter(jobPosition: string): (pos: string) => boolean {
    const limit = lakePosition(jobPosition);
    return (pos) => lakePosition(pos) <= limit;
  }

  constructor(
    private readonly conn: SourceConnection,
    private readonly d: TableDiscovery,
    column: string,
    private readonly options: StrategyOptions = {},
  ) {
    const bound = bindWatermarkColumn(d, column, (c) => c.rowversion, 'is not a rowversion column of the table');
    this.rv = bound.name;
    this.readers = bound.readers;
    this.rvIndex = bound.index;
    this.columns = bound.columns;
  }

  /** True when an index leads with the rowversion column (otherwise every poll scans). */
  get indexed(): boolean {
    return indexesLeadingWith(this.d, this.rv).length > 0;
  }

  /**
   * The window's row count capped at `cap` — counted by the plan, or (a span within the threshold) an upper bound
   * below it — for the split of the window object the plan returned (see CdcStrategy's `planned`).
   */
  private readonly planned = new WeakMap<SourceWindow, { readonly n: number; readonly cap: number }>();

  async planWindow(lastPosition: string | null, options: PlanOptions = {}): Promise<SourceWindow> {
    const t0 = Date.now();
    const stats = newStats();
    const from = lastPosition ?? ZERO;
    const r = await this.conn.query<{ mar: Buffer }>(
      'rowversion.plan',
      'SELECT MIN_ACTIVE_ROWVERSION() AS mar',
      [],
      queryTimeout(this.options),
    );
    stats.queries++;
    const mar = r[0]!.mar;
    const toBuf = Buffer.alloc(8);
    toBuf.writeBigUInt64BE(mar.readBigUInt64BE(0) - 1n);
    const to = rowversionPosition(toBuf);
    let empty = to <= from;
    let counted: { n: number; cap: number } | undefined;
    if (!empty) {
      const params = [
        { name: 'from', type: sql.VarBinary(8), value: rowversionAdd(from, 0n) },
        { name: 'to', type: sql.VarBinary(8), value: toBuf },
      ];
      const rv = quoteIdent(this.rv);
      const where = `FROM ${quoteTable(this.d.schema, this.d.table)} WHERE ${rv} > @from AND ${rv} <= @to`;
      // Row versions are unique in the database, so the window holds at most `to - from` rows: a span within the
      // threshold cannot be split, and a TOP (1) seek (one row read) tells all the split would ask.
      const span = toBuf.readBigUInt64BE(0) - rowversionAdd(from, 0n).readBigUInt64BE(0);
      if (options.rowsPerSubRange !== undefined && span > BigInt(options.rowsPerSubRange)) {
        // The split follows: count the row versions capped as its first query would, instead of a TOP (1) seek.
        const cap = options.rowsPerSubRange + 1;
        const r = await this.conn.query<{ n: number | string }>(
          'rowversion.plan_count',
          `SELECT COUNT_BIG(*) AS n FROM (SELECT TOP (${cap}) ${rv} AS v ${where}) AS t OPTION (MAXDOP 1)`,
          params,
          { ...queryTimeout(this.options), sizeDependent: true },
        );
        counted = { n: Number(r[0]?.n ?? 0), cap };
        stats.rowsRead += counted.n;
        empty = counted.n === 0;
      } else {
        // One seek: is there any row version in the window at all?
        const any = await this.conn.query(
          'rowversion.plan_probe',
          `SELECT TOP (1) ${rv} AS rv ${where} OPTION (MAXDOP 1)`,
          params,
          queryTimeout(this.options),
        );
        stats.rowsRead += any.length;
        empty = any.length === 0;
        // At most `span` rows, within the threshold: the split need not count them.
        if (options.rowsPerSubRange !== undefined) counted = { n: Number(span), cap: options.rowsPerSubRange + 1 };
      }
      stats.queries++;
    }
    stats.durationMs = Date.now() - t0;
    this.lastPlanStats = stats;
    const out: SourceWindow = {
      strategy: 'rowversion',
      from: lastPosition,
      to: empty ? from : to,
      empty,
      lagSeconds: null,
    };
    if (counted && !empty) this.planned.set(out, counted);
    return out;
  }

  /**
   * Sub-ranges of a planned window holding more than `rowsPerSubRange` row versions. Any row version is a cut
   * (a read sees each row once, at its current version; there is no transaction to keep whole). Two queries on
   * the rowversion column at most, each with a bounded result: a count of at most `rowsPerSubRange + 1` versions
   * (a small window stops there; the plan ran it when it was given `rowsPerSubRange`), and every
   * `rowsPerSubRange`-th version, thinned to at most `maxSubRanges` sub-ranges — not the window's count
   * (`planRangeCuts`). A row updated after planning leaves its sub-range for a later window, exactly as it leaves
   * a window read whole.
   */
  async planSubRanges(
    window: SourceWindow,
    rowsPerSubRange: number,
    maxSubRanges: number,
  ): Promise<SubRange[] | undefined> {
    if (window.empty) return undefined;
    const rv = quoteIdent(this.rv);
    const params = [
      { name: 'from', type: sql.VarBinary(8), value: rowversionAdd(window.from ?? ZERO, 0n) },
      { name: 'to', type: sql.VarBinary(8), value: rowversionAdd(window.to, 0n) },
    ];
    // The split's counts and cuts grow with the window: not latency samples (QueryOptions.sizeDependent).
    const q: SplitQuery = (op, text) =>
      this.conn.query(op, text, params, { ...queryTimeout(this.options), sizeDependent: true });
    const counted = this.planned.get(window);
    const cuts = await planRangeCuts(
      q,
      {
        op: 'rowversion',
        from: `FROM ${quoteTable(this.d.schema, this.d.table)} WHERE ${rv} > @from AND ${rv} <= @to`,
        orderBy: rv,
      },
      rowsPerSubRange,
      maxSubRanges,
      counted && counted.cap === rowsPerSubRange + 1 ? counted.n : undefined,
    );
    return (
      cuts &&
      subRangesAt(
        window.from,
        window.to,
        cuts.map((v) => rowversionPosition(v as Buffer)),
        maxSubRanges,
      )
    );
  }

  async *readWindow(window: SourceWindow): AsyncGenerator<ChangeBatch> {
    const stats = newStats();
    this.lastReadStats = stats;
    if (window.empty) return;
    const t0 = Date.now();
    const rv = quoteIdent(this.rv);
    const params = [
      { name: 'from', type: sql.VarBinary(8), value: rowversionAdd(window.from ?? ZERO, 0n) },
      { name: 'to', type: sql.VarBinary(8), value: rowversionAdd(window.to, 0n) },
    ];
    const query = { operation: 'rowversion.read', where: `${rv} > @from AND ${rv} <= @to`, orderBy: rv, params };
    const src = { conn: this.conn, d: this.d, options: this.options, readers: this.readers, columns: this.columns };
    yield* readPlacedRows(src, query, stats, t0, (values) => ({
      op: 'u',
      pos: rowversionPosition(values[this.rvIndex] as Buffer),
      commitTs: null,
      values,
    }));
  }
}
