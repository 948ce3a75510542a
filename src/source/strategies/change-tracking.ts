/**
 * SQL Server Change Tracking: net changes per key since a version, including deletes, read with the
 * documented SNAPSHOT pattern (capture reference §B).
 *
 * - `planWindow`: in one SNAPSHOT transaction, `to` = CHANGE_TRACKING_CURRENT_VERSION(); a `from` below
 *   CHANGE_TRACKING_MIN_VALID_VERSION(table) is a {@link ChangeLogGapError} (retention cleanup or TRUNCATE
 *   passed the watermark: re-seed). Nothing after `from` → empty window.
 * - `readWindow`: in a new SNAPSHOT transaction, validates `from` again (cleanup may have run since planning),
 *   then `CHANGETABLE(CHANGES t, @from) AS c LEFT JOIN t` — the outer join keeps deletes, whose non-key
 *   columns are NULL — limited to `SYS_CHANGE_VERSION <= to`. A row changed again after `to` is left to the
 *   next window (it then carries its final state), so no change is delivered twice or lost.
 *
 * - `planSubRanges` (issue 14): a window holding more than `subRangeRows` changed keys is cut at change versions
 *   (a version is one transaction's commit, so every cut is a transaction end); each sub-range (a, b] is read like
 *   a window: `CHANGETABLE(CHANGES t, a)` limited to versions ≤ b. A key appears in the one sub-range holding its
 *   last change ≤ the window's end, exactly as in the whole read, at the same position. Its operation is relative
 *   to the read's lower bound, as for any window: a key inserted before `a` and updated within (a, b] is `U`
 *   where the whole window would say `I` — the same `U` a window boundary at `a` gives it. The lake records it
 *   (docs/performance.md, "Change Tracking sub-ranges": positions, keys and the latest state are unchanged).
 *
 * Rows: I → `c`, U → `u`, D → `d` (key only). `_pos` = 20-digit zero-padded SYS_CHANGE_VERSION. CT must be
 * read on the primary: error 22117 (a readable secondary) becomes a {@link ReadableSecondaryError}; 3952
 * (snapshot isolation off) a {@link PrerequisiteError}.
 */
import sql from 'mssql';
import type { SourceConnection } from '../connection.js';
import { tableReaders, type TableDiscovery } from '../discovery.js';
import {
  ChangeLogGapError,
  PrerequisiteError,
  ReadableSecondaryError,
  SourceError,
  TableNotFoundError,
} from '../errors.js';
import { ctNoAccessError, ctSetupProblems } from '../capture-setup.js';
import { pad20, parse20 } from '../positions.js';
import { nstring, quoteIdent, quoteTable } from '../sql-text.js';
import { sqlErrorInfo } from '../transient.js';
import { decodeRow, type ColumnReader } from '../type-mapping.js';
import type { ChangeOp } from '../../domain/values.js';
import { jobOrder, lakeColumns, queryTimeout } from './common.js';
import { stagedReadBatches } from '../row-batches.js';
import { subRangesAt } from '../../domain/sub-ranges.js';
import { planRangeCuts, type SplitQuery } from './sub-range-queries.js';
import type { SubRange } from '../../domain/window.js';
import {
  newStats,
  type CaptureStrategy,
  type ChangeBatch,
  type ChangeRow,
  type SourceWindow,
  type SnapshotPositioner,
  type StepStats,
  type StrategyOptions,
  type VerifyRead,
} from './types.js';
import { lakePosition } from '../../domain/positions.js';

const OPS: Record<string, ChangeOp> = { I: 'c', U: 'u', D: 'd' };

/** Job rows: CHANGE_TRACKING_CURRENT_VERSION() in the same snapshot (the documented initial load). */
export const changeTrackingPositioner: SnapshotPositioner = {
  atStart: async (q) => {
    const r = await q('SELECT CHANGE_TRACKING_CURRENT_VERSION() AS v');
    return pad20(BigInt((r[0]?.v as string | number | null) ?? 0));
  },
  rowPos: (start) => start,
};

export class ChangeTrackingStrategy implements CaptureStrategy {
  readonly strategy = 'change_tracking' as const;
  readonly columns;
  private readonly readers: ColumnReader[];
  private readonly name: string;
  lastPlanStats: StepStats | undefined;
  lastReadStats: StepStats | undefined;

  readonly seesDeletes = true;
  snapshotPositioner(): SnapshotPositioner {
    return changeTrackingPositioner;
  }
  /** The strategy's upper bound now (CHANGE_TRACKING_CURRENT_VERSION), whatever the job. */
  async jobPosition(): Promise<string> {
    return (await this.planWindow(null)).to;
  }
  /**
   * A chunk row read at CURRENT_VERSION() = V would share (key, V) with a change committed at exactly V that the
   * first windows re-read. `V` + 'f' orders after every change ≤ V and before any change > V (a longer string
   * with the same 20-digit prefix), so the snapshot row is its own event; then the job's order (jobOrder).
   */
  jobRowSuffix(firstSeq: number): string {
    return 'f' + jobOrder(firstSeq);
  }
  /** 'g' sorts after every hex digit: job rows carry 'f' and their job's order after the job position. */
  verifyRead(): VerifyRead {
    return { positioner: changeTrackingPositioner, upperBound: (position) => lakePosition(position) + 'fg' };
  }

  constructor(
    private readonly conn: SourceConnection,
    private readonly d: TableDiscovery,
    private readonly options: StrategyOptions = {},
  ) {
    this.name = `${d.schema}.${d.table}`;
    if (d.key.length === 0) throw new TableNotFoundError(this.name, 'Change Tracking needs a primary key');
    this.readers = tableReaders(d);
    this.columns = lakeColumns(d, this.readers);
  }

  private async versions(tx: sql.Transaction): Promise<{ cur: bigint; min: bigint }> {
    const r = await this.conn.query<{ cur: string | null; mn: string | null }>(
      'ct.versions',
      `SELECT CHANGE_TRACKING_CURRENT_VERSION() AS cur,
              CHANGE_TRACKING_MIN_VALID_VERSION(OBJECT_ID(${nstring(quoteTable(this.d.schema, this.d.table))})) AS mn`,
      [],
      { transaction: tx },
    );
    const row = r[0];
    // CURRENT_VERSION() is NULL when the database has CT off; MIN_VALID_VERSION is NULL when the table is not
    // tracked or the login lacks VIEW CHANGE TRACKING on it (the catalog, read by discovery, tells which).
    if (row?.cur === null || row?.cur === undefined)
      throw new PrerequisiteError(this.name, ctSetupProblems(this.d, { database: false, table: false }));
    if (row.mn === null) {
      const off = ctSetupProblems(this.d);
      throw off.length > 0 ? new PrerequisiteError(this.name, off) : ctNoAccessError(this.d);
    }
    return { cur: BigInt(row.cur), min: BigInt(row.mn) };
  }

  private async inSnapshot<T>(op: string, fn: (tx: sql.Transaction) => Promise<T>): Promise<T> {
    try {
      return await this.conn.inSnapshot(op, fn);
    } catch (err) {
      throw this.translate(err);
    }
  }

  async planWindow(lastPosition: string | null): Promise<SourceWindow> {
    const t0 = Date.now();
    const stats = newStats();
    const { cur, min } = await this.inSnapshot('ct.plan', (tx) => this.versions(tx));
    stats.queries++;
    // SQL Server raises 3952 only at the first *table* read of the snapshot, which the plan (version functions
    // only) does not make: check the setting here (after the versions, so a secondary still reports 22117).
    const si = await this.conn.query<{ s: number }>(
      'ct.snapshot_state',
      'SELECT snapshot_isolation_state AS s FROM sys.databases WHERE name = DB_NAME()',
    );
    stats.queries++;
    if (si[0]?.s !== 1) throw this.translate({ number: 3952 });
    const from = lastPosition === null ? min : parse20('change_tracking', lastPosition);
    if (from < min)
      throw new ChangeLogGapError(
        this.name,
        'change_tracking',
        pad20(from),
        pad20(min),
        'retention cleanup or TRUNCATE',
      );
    const empty = cur <= from;
    stats.durationMs = Date.now() - t0;
    this.lastPlanStats = stats;
    return {
      strategy: 'change_tracking',
      from: lastPosition,
      to: empty ? pad20(from) : pad20(cur),
      empty,
      lagSeconds: null,
    };
  }

  /**
   * Sub-ranges of a planned window holding more than `rowsPerSubRange` changed keys, cut at change versions. In
   * one SNAPSHOT transaction (the two queries agree with each other), two queries on the change table, each with
   * a bounded result: a count of at most `rowsPerSubRange + 1` keys (a small window stops there), and the version
   * of every `rowsPerSubRange`-th key in version order, thinned to at most `maxSubRanges` sub-ranges — not the
   * window's count (`planRangeCuts`). A key changed again after planning moves to a later sub-range or window,
   * exactly as it would in a whole read.
   */
  async planSubRanges(
    window: SourceWindow,
    rowsPerSubRange: number,
    maxSubRanges: number,
  ): Promise<SubRange[] | undefined> {
    if (window.empty) return undefined;
    const qt = quoteTable(this.d.schema, this.d.table);
    const where = `FROM CHANGETABLE(CHANGES ${qt}, @from) AS c WHERE c.SYS_CHANGE_VERSION <= @to`;
    const cuts = await this.inSnapshot('ct.split', async (tx) => {
      const { min } = await this.versions(tx);
      const base = window.from === null ? min : parse20('change_tracking', window.from);
      // Below the minimum valid version the read fails with the gap; there is nothing to split.
      if (base < min) return undefined;
      const params = [
        { name: 'from', type: sql.BigInt, value: base.toString() },
        { name: 'to', type: sql.BigInt, value: parse20('change_tracking', window.to).toString() },
      ];
      // The split's counts and cuts grow with the window: not latency samples (QueryOptions.sizeDependent).
      const opts = { transaction: tx, ...queryTimeout(this.options), sizeDependent: true };
      const q: SplitQuery = (op, text) => this.conn.query(op, text, params, opts);
      const cuts = await planRangeCuts(
        q,
        { op: 'ct', from: where, orderBy: 'c.SYS_CHANGE_VERSION' },
        rowsPerSubRange,
        maxSubRanges,
      );
      return cuts?.map((v) => pad20(BigInt(v as string | number)));
    });
    return cuts && subRangesAt(window.from, window.to, cuts, maxSubRanges);
  }

  async *readWindow(window: SourceWindow): AsyncGenerator<ChangeBatch> {
    const stats = newStats();
    this.lastReadStats = stats;
    if (window.empty) return;
    const t0 = Date.now();
    const keys = new Set(this.d.key.map((k) => k.toLowerCase()));
    const list = this.readers.map((r) => r.selectSql(keys.has(r.name.toLowerCase()) ? 'c' : 't')).join(', ');
    const on = this.d.key.map((k) => `t.${quoteIdent(k)} = c.${quoteIdent(k)}`).join(' AND ');
    const qt = quoteTable(this.d.schema, this.d.table);
    const text = `SELECT c.SYS_CHANGE_VERSION, c.SYS_CHANGE_OPERATION, ${list}
      FROM CHANGETABLE(CHANGES ${qt}, @from) AS c LEFT JOIN ${qt} AS t ON ${on}
      WHERE c.SYS_CHANGE_VERSION <= @to
      ORDER BY c.SYS_CHANGE_VERSION OPTION (MAXDOP 1)`;
    const fromV = window.from === null ? null : parse20('change_tracking', window.from);
    const toV = parse20('change_tracking', window.to);
    const tx = new sql.Transaction(this.conn.pool);
    let ok = false;
    try {
      await tx.begin(sql.ISOLATION_LEVEL.SNAPSHOT);
      const { min } = await this.versions(tx);
      stats.queries++;
      const base = fromV ?? min;
      if (base < min)
        throw new ChangeLogGapError(
          this.name,
          'change_tracking',
          pad20(base),
          pad20(min),
          'cleanup ran after planning',
        );
      stats.queries++;
      for await (const b of this.conn.stream(
        'ct.read',
        text,
        [
          { name: 'from', type: sql.BigInt, value: base.toString() },
          { name: 'to', type: sql.BigInt, value: toV.toString() },
        ],
        {
          transaction: tx,
          ...stagedReadBatches(this.options.batchRows),
          ...(this.options.rowLimiter ? { rowLimiter: this.options.rowLimiter } : {}),
          ...(this.options.queryTimeoutMs !== undefined ? { timeoutMs: this.options.queryTimeoutMs } : {}),
        },
      )) {
        stats.rowsRead += b.rows.length;
        const rows: ChangeRow[] = b.rows.map((raw) => ({
          op: OPS[String(raw[1]).trim()] ?? 'u',
          pos: pad20(BigInt(raw[0] as string)),
          commitTs: null,
          values: decodeRow(this.readers, raw, 2),
        }));
        stats.rowsEmitted += rows.length;
        yield { columns: this.columns, rows };
      }
      ok = true;
    } catch (err) {
      throw this.translate(err);
    } finally {
      if (ok) await tx.commit();
      else await tx.rollback().catch(() => undefined);
      stats.durationMs = Date.now() - t0;
    }
  }

  private translate(err: unknown): Error {
    const n = (err as { sqlErrorNumber?: number }).sqlErrorNumber ?? sqlErrorInfo(err).number;
    if (n === 22117) return new ReadableSecondaryError(this.name);
    if (n === 3952)
      return new PrerequisiteError(this.name, [
        {
          code: 'ct.snapshot_off',
          severity: 'error',
          message: 'Snapshot isolation is off; Change Tracking is read in a SNAPSHOT transaction.',
          fixSql: `ALTER DATABASE ${quoteIdent(this.d.database.name)} SET ALLOW_SNAPSHOT_ISOLATION ON;`,
        },
      ]);
    if (n === 22105) return new PrerequisiteError(this.name, ctSetupProblems(this.d, { database: true, table: false }));
    if (err instanceof SourceError || err instanceof Error) return err;
    return new Error(String(err));
  }
}
