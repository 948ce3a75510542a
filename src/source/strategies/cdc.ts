/**
 * SQL Server CDC: every insert, update and delete in commit order, from `cdc.fn_cdc_get_all_changes_<ci>`.
 *
 * Window: `from` = fn_cdc_increment_lsn(last LSN), `to` = fn_cdc_get_max_lsn() read at planning time (one
 * shared high endpoint). No call is made when max LSN has not moved (an empty window). When it moved but the
 * table has no change in the window (a `TOP (1)` probe of the change function), the window is `idle`. `from` below the
 * instance's min LSN means cleanup removed unread changes: a {@link ChangeLogGapError}, never a skip. A NULL
 * max LSN means the capture job has never run (reported as an empty window with `captureNotRunning`).
 *
 * Capture instances: a table has at most two. Changes below the newer instance's `start_lsn` are read from
 * the older one, the rest from the newer one, so columns added with a new instance start flowing at its start
 * LSN without an operator (Debezium does the same). Each batch carries its own `columns`, so a window that
 * spans the switch yields batches of both shapes. A dropped instance (error 208 on its function, or none
 * left while the table is no longer tracked) is a {@link CaptureInstanceDroppedError}. A table with no instance
 * this login may read stops with a prerequisite error saying why: CDC off for the database or the table (with
 * `sp_cdc_enable_db` / `sp_cdc_enable_table`), or the login lacking SELECT or the gating role (with the GRANT).
 *
 * Rows: op 2 → `c`, 4 → `u` (after image; `N'all'` leaves out op 3), 1 → `d` (the delete's before image,
 * key included). `_pos` = 20 hex digits of `__$start_lsn` + 20 of `__$seqval`; a window's `to` is the max LSN
 * followed by `f`×20 (every change of that LSN). `_commit_ts` = the transaction's `tran_end_time` from
 * `sys.fn_cdc_map_lsn_to_time` (server-local time, per the docs), as ns since 1970 — a public function, where
 * joining `cdc.lsn_time_mapping` would need SELECT on the `cdc` schema besides what reading changes needs. It is
 * called once per transaction, not per row: a read maps the commit times of up to `commitTimesPerQuery`
 * transactions (GROUP BY `__$start_lsn`), then streams their changes, sub-range after sub-range — or, when the
 * plan counted the whole window and found at most {@link MAX_PLANNED_TRANSACTIONS} transactions, takes their
 * times from the plan (`SourceWindow.transactions`) and only streams the changes.
 */
import sql from 'mssql';
import type { SourceConnection } from '../connection.js';
import { cdcNoAccessError, cdcSetupError } from '../capture-setup.js';
import {
  captureInstanceAccess,
  discoverCaptureInstances,
  findColumn,
  isTrackedByCdc,
  type CaptureInstance,
  type TableDiscovery,
} from '../discovery.js';
import { CaptureBehindError, CaptureInstanceDroppedError, ChangeLogGapError, SourceError } from '../errors.js';
import { hex, MAX_SEQVAL, parseHex } from '../positions.js';
import { quoteIdent } from '../sql-text.js';
import { sqlErrorInfo } from '../transient.js';
import { dateToEpochNanos, decodeRow, mapColumn, type ColumnReader } from '../type-mapping.js';
import { jobOrder, jobPositionQuery, lakeColumns } from './common.js';
import { stagedReadBatches } from '../row-batches.js';
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
  type VerifyRead,
} from './types.js';
import { lakePosition } from '../../domain/positions.js';
import type { ChangeOp } from '../../domain/values.js';
import { subRangesAt, subRangeTarget } from '../../domain/sub-ranges.js';
import type { SubRange, WindowTransaction } from '../../domain/window.js';

const ZERO_LSN = '0'.repeat(20);
const OPS: Record<number, ChangeOp> = { 1: 'd', 2: 'c', 4: 'u' };
/** Counts and cuts over a window: their time grows with its size, so they are no throttle latency samples. */
const SIZE_DEPENDENT = { sizeDependent: true } as const;

/** Options of the CDC strategy. */
export interface CdcOptions extends StrategyOptions {
  /** Read only this capture instance (config `captureInstance`); automatic switching when absent. */
  readonly captureInstance?: string;
  /** Transactions whose commit times one query maps (a read's LSN sub-range); default {@link COMMIT_TIMES_PER_QUERY}. */
  readonly commitTimesPerQuery?: number;
}

/** Transactions per commit-time query: bounds the memory of a read to this many (LSN, time) pairs (~ 5 MB). */
export const COMMIT_TIMES_PER_QUERY = 50_000;

/**
 * A counted window of at most this many transactions carries their commit times from the plan to the read
 * (`SourceWindow.transactions`, ~50 bytes each in the workflow's history), so the read skips its commit-time
 * query — a pass over every change of the window at the source. A burst is one transaction.
 */
export const MAX_PLANNED_TRANSACTIONS = 64;

/** One instance's part of a window: LSNs [fromLsn, toLsn], both inclusive. */
interface Segment {
  readonly instance: CaptureInstance;
  readonly fromLsn: string;
  readonly toLsn: string;
}

/**
 * What a plan learnt about the window it returned, for `planSubRanges` of the same window object: its instance
 * segments and, when the plan was given `rowsPerSubRange`, its change count capped at `cap`.
 */
interface PlanMemo {
  readonly segments: Segment[];
  readonly counted?: { readonly n: number; readonly cap: number };
  /** The whole window's transactions with their commit times (a counted window of few transactions). */
  readonly transactions?: WindowTransaction[];
}

/** Job rows: the max LSN at the read, with the highest seqval: every change at or below it is in the snapshot. */
export const cdcPositioner: SnapshotPositioner = {
  atStart: async (q) => {
    const r = await q('SELECT sys.fn_cdc_get_max_lsn() AS lsn');
    const lsn = r[0]?.lsn as Buffer | null | undefined;
    return (lsn ? hex(lsn) : '0'.repeat(20)) + 'f'.repeat(20);
  },
  rowPos: (start) => start,
};

export class CdcStrategy implements CaptureStrategy {
  readonly strategy = 'cdc' as const;
  columns: CaptureStrategy['columns'];
  lastPlanStats: StepStats | undefined;
  lastReadStats: StepStats | undefined;
  /**
   * Keyed by the window object planWindow returned, so only the split of that very plan uses it (a window that
   * crossed Temporal is a new object and is split from its own queries): the split then re-reads neither the
   * capture instances nor the window's first LSN, and skips its capped count when the plan ran it.
   */
  private readonly planned = new WeakMap<SourceWindow, PlanMemo>();

  readonly seesDeletes = true;
  snapshotPositioner(): SnapshotPositioner {
    return cdcPositioner;
  }
  /** The max LSN now (with the highest seqval), whatever the job. */
  jobPosition(): Promise<string> {
    return cdcPositioner.atStart(jobPositionQuery(this.conn));
  }
  jobRowSuffix(firstSeq: number): string {
    return jobOrder(firstSeq);
  }
  /** 'g' sorts after every hex digit: job rows carry their job's order after the job position (jobRowSuffix). */
  verifyRead(): VerifyRead {
    return { positioner: cdcPositioner, upperBound: (position) => lakePosition(position) + 'g' };
  }
  private readonly name: string;

  constructor(
    private readonly conn: SourceConnection,
    private readonly d: TableDiscovery,
    private readonly options: CdcOptions = {},
  ) {
    this.name = `${d.schema}.${d.table}`;
    const readable = d.cdc.instances.filter((i) => !options.captureInstance || i.name === options.captureInstance);
    const newest = readable[readable.length - 1];
    // No instance to read: say why now (CDC off, instance missing, no access), before anything is planned or
    // loaded — the table's columns come from its instance.
    if (!newest) throw cdcSetupError(d, options.captureInstance);
    this.columns = lakeColumns(d, this.readersFor(newest));
    this.discoveredInstances = [...d.cdc.instances];
  }

  private readersFor(ci: CaptureInstance): ColumnReader[] {
    const out: ColumnReader[] = [];
    for (const name of ci.columns) {
      const c = findColumn(this.d, name);
      if (c && !c.computed) out.push(mapColumn(this.name, c.name, c.type));
    }
    return out;
  }

  /**
   * The capture instances the discovery this strategy was built from read (`sp_cdc_help_change_data_capture`),
   * taken by the first plan or read instead of running the procedure again: each activity builds its strategy
   * right after its discovery (capture/table-context.ts), so this is one round trip less per plan and per read.
   * Every later call asks the source again.
   */
  private discoveredInstances: CaptureInstance[] | undefined;

  private async instances(): Promise<CaptureInstance[]> {
    let all = this.discoveredInstances ?? (await discoverCaptureInstances(this.conn, this.d.schema, this.d.table));
    this.discoveredInstances = undefined;
    if (this.options.captureInstance) all = all.filter((i) => i.name === this.options.captureInstance);
    if (all.length === 0) throw await this.noInstance();
    // Oldest first by start LSN; equal start LSNs keep the newest by create_date (Debezium's rule).
    all.sort((a, b) =>
      (a.startLsn ?? '') === (b.startLsn ?? '')
        ? a.createDate.getTime() - b.createDate.getTime()
        : (a.startLsn ?? '') < (b.startLsn ?? '')
          ? -1
          : 1,
    );
    return all.filter((i, k) => all[k + 1]?.startLsn !== i.startLsn || i.startLsn === null);
  }

  /**
   * No readable instance left: dropped (the table is no longer tracked, or the configured instance is gone), or
   * no longer readable by this login (a revoked GRANT or role membership) — a permission error, not a gap.
   */
  private async noInstance(): Promise<Error> {
    const ci = this.options.captureInstance;
    const dropped = new CaptureInstanceDroppedError(this.name, ci ?? `(any)`);
    if (!(await isTrackedByCdc(this.conn, this.d.objectId))) return dropped;
    const all = await captureInstanceAccess(this.conn, this.d.objectId);
    if (all && !all.some((i) => !ci || i.name === ci)) return dropped;
    return cdcNoAccessError(this.d, all, ci);
  }

  private async lsnQuery(
    op: string,
    text: string,
    params: { name: string; value: string }[] = [],
    sample: { sizeDependent?: boolean } = {},
  ) {
    return this.conn.query<Record<string, Buffer | null | number>>(
      op,
      text,
      params.map((p) => ({ name: p.name, type: sql.VarBinary(10), value: Buffer.from(p.value, 'hex') })),
      { ...(this.options.queryTimeoutMs !== undefined ? { timeoutMs: this.options.queryTimeoutMs } : {}), ...sample },
    );
  }

  /** Splits [fromLsn, toLsn] between the instances (older up to the newer one's start LSN). */
  private async segments(fromLsn: string, toLsn: string, instances: CaptureInstance[]): Promise<Segment[]> {
    const out: Segment[] = [];
    for (let k = 0; k < instances.length; k++) {
      const ci = instances[k]!;
      const next = instances[k + 1];
      const ciStart = ci.startLsn ?? ZERO_LSN;
      let hi = toLsn;
      if (next?.startLsn) {
        if (next.startLsn <= fromLsn) continue; // fully superseded before this window
        const r = await this.lsnQuery('cdc.decrement', 'SELECT sys.fn_cdc_decrement_lsn(@l) AS l', [
          { name: 'l', value: next.startLsn },
        ]);
        const dec = hex(r[0]!.l as Buffer);
        if (dec < hi) hi = dec;
      }
      const lo = fromLsn > ciStart ? fromLsn : ciStart;
      if (lo <= hi) out.push({ instance: ci, fromLsn: lo, toLsn: hi });
      if (hi === toLsn) break;
    }
    return out;
  }

  async planWindow(lastPosition: string | null, options: PlanOptions = {}): Promise<SourceWindow> {
    const t0 = Date.now();
    const stats = newStats();
    const instances = await this.instances();
    stats.queries += 1 + instances.length;
    const lastLsn = lastPosition === null ? null : parseHex('cdc', lastPosition, 40).subarray(0, 10).toString('hex');
    const { row, mins } = await this.planBounds(lastLsn, instances, stats);
    const mx = row.mx as Buffer | null;
    const done = (w: Omit<SourceWindow, 'strategy'>, memo?: PlanMemo): SourceWindow => {
      stats.durationMs = Date.now() - t0;
      this.lastPlanStats = stats;
      const out: SourceWindow = { strategy: 'cdc', ...w };
      if (memo) this.planned.set(out, memo);
      return out;
    };
    if (!mx) {
      stats.extra.captureNotRunning = 1;
      return done({ from: lastPosition, to: lastPosition ?? ZERO_LSN + '0'.repeat(20), empty: true, lagSeconds: null });
    }
    const maxLsn = hex(mx);
    const captureLatency = captureLatencyOf(row.mxt as Date | null, row.now as Date | null);
    const minOf = (k: number) => hex(mins[0]![`mn${k}`]!);
    const fromLsn = lastLsn ? hex(row.nxt as Buffer) : minOf(0);
    if (fromLsn > maxLsn)
      return done({
        from: lastPosition,
        to: lastPosition ?? `${ZERO_LSN}${ZERO_LSN}`,
        empty: true,
        lagSeconds: captureLatency,
        captureLatencySeconds: captureLatency,
      });
    this.assertReadable(fromLsn, instances, minOf, lastLsn ? lastPosition : null);
    // The max LSN moves while this table is idle (other tables' changes, the capture job's placeholders in
    // cdc.lsn_time_mapping): one cheap probe per instance tells the sync the window would be empty.
    const probe = lastLsn ? await this.probeChanges(fromLsn, maxLsn, instances, stats, options) : undefined;
    if (probe && !probe.found)
      return done({
        from: lastPosition,
        to: maxLsn + MAX_SEQVAL,
        empty: false,
        idle: true,
        // Caught up to the max LSN, like an empty window: behind only by what capture has not harvested yet.
        lagSeconds: captureLatency,
        captureLatencySeconds: captureLatency,
      });
    const lag = secondsCrossed(row.frt as Date | null, row.mxt as Date | null);
    return done(
      {
        from: lastPosition,
        to: maxLsn + MAX_SEQVAL,
        empty: false,
        lagSeconds: lagBehindSource(lag, captureLatency),
        captureLatencySeconds: captureLatency,
        ...(probe?.memo.transactions ? { transactions: probe.memo.transactions } : {}),
        // Below the cap the count is the whole window's (one instance segment: cap > 0 only then).
        ...(probe?.memo.counted && probe.memo.counted.n < probe.memo.counted.cap ? { rows: probe.memo.counted.n } : {}),
      },
      probe?.memo,
    );
  }

  /**
   * The plan's bounds in one query (four before: three round trips less per plan, docs/performance.md): the max
   * LSN, the LSN after `lastLsn`, each instance's min LSN, and the times the capture latency and the lag are taken
   * from — the max LSN's commit time, the source's clock, the window's first LSN's commit time (null when it maps
   * to none). The differences are taken here (`captureLatencyOf`, `secondsCrossed`), as `DATEDIFF` took them in
   * their own queries, whose errors (a millisecond `DATEDIFF` overflows past 24 days) left them unknown.
   */
  private async planBounds(lastLsn: string | null, instances: CaptureInstance[], stats: StepStats) {
    const first = instances[0]!;
    // The window's first LSN as the plan takes it: after `lastLsn`, else the oldest instance's min LSN.
    const firstLsn = lastLsn ? 'sys.fn_cdc_increment_lsn(@last)' : 'sys.fn_cdc_get_min_lsn(@ci0)';
    const r = await this.conn
      .query<Record<string, Buffer | Date | null>>(
        'cdc.plan',
        `SELECT sys.fn_cdc_get_max_lsn() AS mx, ${
          lastLsn ? 'sys.fn_cdc_increment_lsn(@last)' : 'CAST(NULL AS binary(10))'
        } AS nxt, ${instances.map((_i, k) => `sys.fn_cdc_get_min_lsn(@ci${k}) AS mn${k}`).join(', ')},
          sys.fn_cdc_map_lsn_to_time(sys.fn_cdc_get_max_lsn()) AS mxt, SYSDATETIME() AS now,
          sys.fn_cdc_map_lsn_to_time(${firstLsn}) AS frt`,
        [
          ...(lastLsn ? [{ name: 'last', type: sql.VarBinary(10), value: Buffer.from(lastLsn, 'hex') }] : []),
          ...instances.map((i, k) => ({ name: `ci${k}`, type: sql.NVarChar(128), value: i.name })),
        ],
        this.options.queryTimeoutMs !== undefined ? { timeoutMs: this.options.queryTimeoutMs } : {},
      )
      .catch((err: unknown) => {
        throw this.translate(err, first.name);
      });
    stats.queries++;
    return { row: r[0]!, mins: r as Record<string, Buffer>[] };
  }

  /**
   * Throws when `fromLsn` cannot be read: no access to the instance that holds it, or (after `lastPosition`)
   * the instance's log no longer reaches back to it (a gap).
   */
  private assertReadable(
    fromLsn: string,
    instances: CaptureInstance[],
    minOf: (k: number) => string,
    lastPosition: string | null,
  ): void {
    // Which instance holds `fromLsn`? The newest whose start is at or below it, else the oldest.
    let k = 0;
    for (let j = 0; j < instances.length; j++) if ((instances[j]!.startLsn ?? ZERO_LSN) <= fromLsn) k = j;
    const min = minOf(k);
    // fn_cdc_get_min_lsn returns 0x00… to a caller who may not read the instance.
    if (min === ZERO_LSN) throw cdcNoAccessError(this.d, [instances[k]!], instances[k]!.name);
    if (lastPosition !== null && fromLsn < min)
      throw new ChangeLogGapError(
        this.name,
        'cdc',
        lastPosition,
        min + ZERO_LSN,
        `capture instance ${instances[k]!.name}`,
      );
  }

  /**
   * Whether the window (fromLsn, toLsn] holds changes: one probe per instance segment (`TOP (1)` of its change
   * function). Given `rowsPerSubRange` and a window in one segment (the split reads only those), the probe
   * counts the changes capped at `rowsPerSubRange + 1` — the split's first query, which then need not run: on a
   * 100-change window it reads the same 100 rows the read does, and a plan has one round trip less
   * (docs/performance.md). It counts them per transaction (`GROUP BY __$start_lsn` over the same capped rows):
   * when the count is below the cap the groups are the whole window's transactions, and when there are at most
   * {@link MAX_PLANNED_TRANSACTIONS} of them the plan maps their commit times (one query, no pass over the
   * changes) for the read, which then skips its own commit-time query (a pass over every change).
   */
  private async probeChanges(
    fromLsn: string,
    toLsn: string,
    instances: CaptureInstance[],
    stats: StepStats,
    options: PlanOptions,
  ): Promise<{ found: boolean; memo: PlanMemo }> {
    const segments = await this.segments(fromLsn, toLsn, instances);
    const cap = options.rowsPerSubRange !== undefined && segments.length === 1 ? options.rowsPerSubRange + 1 : 0;
    for (const seg of segments) {
      const fn = `cdc.${quoteIdent(`fn_cdc_get_all_changes_${seg.instance.name}`)}`;
      stats.queries++;
      const range = [
        { name: 'from', value: seg.fromLsn },
        { name: 'to', value: seg.toLsn },
      ];
      const found = await (
        cap > 0
          ? this.lsnQuery(
              'cdc.probe_count',
              `SELECT t.l AS lsn, COUNT_BIG(*) AS n FROM (SELECT TOP (${cap}) c.__$start_lsn AS l
               FROM ${fn}(@from, @to, N'all') AS c) AS t GROUP BY t.l`,
              range,
              SIZE_DEPENDENT,
            )
          : this.lsnQuery('cdc.probe', `SELECT TOP (1) 1 AS found FROM ${fn}(@from, @to, N'all')`, range)
      ).catch(async (err: unknown) => {
        const e = await this.behindOrTranslate(err, seg);
        // Not harvested yet for this instance: there are changes; the read retries until they arrive.
        if (e instanceof CaptureBehindError) return undefined;
        throw e;
      });
      if (found === undefined) return { found: true, memo: { segments } };
      if (cap > 0) {
        let n = 0;
        for (const g of found) n += Number(g.n);
        if (n === 0) continue;
        const transactions =
          n < cap && found.length <= MAX_PLANNED_TRANSACTIONS
            ? await this.transactionTimes(found.map((g) => hex(g.lsn as Buffer)))
            : undefined;
        if (transactions) stats.queries++;
        return { found: true, memo: { segments, counted: { n, cap }, ...(transactions ? { transactions } : {}) } };
      } else if (found.length > 0) return { found: true, memo: { segments } };
    }
    return { found: false, memo: { segments } };
  }

  /** The commit times of transactions `lsns` (one `sys.fn_cdc_map_lsn_to_time` each, one query), in LSN order. */
  private async transactionTimes(lsns: string[]): Promise<WindowTransaction[]> {
    lsns.sort();
    const r = await this.conn.query<Record<string, Date | null>>(
      'cdc.transaction_times',
      `SELECT ${lsns.map((_l, k) => `sys.fn_cdc_map_lsn_to_time(@l${k}) AS t${k}`).join(', ')}`,
      lsns.map((l, k) => ({ name: `l${k}`, type: sql.VarBinary(10), value: Buffer.from(l, 'hex') })),
      this.options.queryTimeoutMs !== undefined ? { timeoutMs: this.options.queryTimeoutMs } : {},
    );
    return lsns.map((at, k) => {
      const t = r[0]?.[`t${k}`];
      return { at, commitNs: t ? dateToEpochNanos(t).toString() : null };
    });
  }

  async *readWindow(window: SourceWindow): AsyncGenerator<ChangeBatch> {
    const stats = newStats();
    this.lastReadStats = stats;
    if (window.empty) return;
    const t0 = Date.now();
    try {
      const instances = await this.instances();
      const segments = await this.windowSegments(window, instances);
      stats.extra.instanceSegments = segments.length;
      // The plan's transactions are the window's only when it is read in one segment, as it was planned.
      const planned = segments.length === 1 ? plannedTimes(window) : undefined;
      if (planned) stats.extra.plannedTransactions = planned.size;
      for (const seg of segments) yield* this.readSegment(seg, window, stats, planned);
    } finally {
      stats.durationMs = Date.now() - t0;
    }
  }

  /** The instances' parts of the window's LSNs (see {@link segments}). */
  private async windowSegments(window: SourceWindow, instances: CaptureInstance[]): Promise<Segment[]> {
    const toLsn = parseHex('cdc', window.to, 40).subarray(0, 10).toString('hex');
    let fromLsn: string;
    if (window.from === null) {
      // From the oldest change the instance still holds (its start LSN may be below it after cleanup).
      const r = await this.conn.query<{ mn: Buffer }>('cdc.min', 'SELECT sys.fn_cdc_get_min_lsn(@ci) AS mn', [
        { name: 'ci', type: sql.NVarChar(128), value: instances[0]!.name },
      ]);
      fromLsn = hex(r[0]!.mn);
    } else if (window.transactions?.[0] && !window.partOf) {
      // The plan listed every transaction of the window (capped count below the cap): the first of them is the
      // window's first change, so the read starts there without asking the source for the LSN after `from`.
      fromLsn = window.transactions.reduce((lo, t) => (t.at < lo ? t.at : lo), window.transactions[0].at);
    } else {
      const r = await this.lsnQuery('cdc.increment', 'SELECT sys.fn_cdc_increment_lsn(@l) AS l', [
        { name: 'l', value: window.from.slice(0, 20) },
      ]);
      fromLsn = hex(r[0]!.l as Buffer);
    }
    return this.segments(fromLsn, toLsn, instances);
  }

  /**
   * Sub-ranges of a planned window whose backlog exceeds `rowsPerSubRange` change rows, cut at transaction ends
   * (an LSN followed by the highest seqval: every change of that transaction is in the sub-range before the cut).
   * Three queries of the change function, each with a bounded result: a count of at most `rowsPerSubRange + 1`
   * rows (the common, small window stops there), the window's count, and the LSN of every `target`-th change
   * (at most `maxSubRanges` rows). A window that spans two capture instances is read whole (it happens once per
   * schema change), as is one whose changes the capture has not harvested yet.
   */
  async planSubRanges(
    window: SourceWindow,
    rowsPerSubRange: number,
    maxSubRanges: number,
  ): Promise<SubRange[] | undefined> {
    if (window.empty || window.idle) return undefined;
    const memo = this.planned.get(window);
    const segments = memo?.segments ?? (await this.windowSegments(window, await this.instances()));
    const seg = segments.length === 1 ? segments[0]! : undefined;
    if (!seg) return undefined;
    const fn = `cdc.${quoteIdent(`fn_cdc_get_all_changes_${seg.instance.name}`)}`;
    const range = [
      { name: 'from', value: seg.fromLsn },
      { name: 'to', value: seg.toLsn },
    ];
    const count = async (op: string, text: string) =>
      Number((await this.lsnQuery(op, text, range, SIZE_DEPENDENT))[0]?.n ?? 0);
    try {
      const probed =
        memo?.counted && memo.counted.cap === rowsPerSubRange + 1
          ? memo.counted.n
          : await count(
              'cdc.split_probe',
              `SELECT COUNT_BIG(*) AS n FROM (SELECT TOP (${rowsPerSubRange + 1}) c.__$seqval AS s
                 FROM ${fn}(@from, @to, N'all') AS c) AS t`,
            );
      if (probed <= rowsPerSubRange) return undefined;
      const total = await count('cdc.split_count', `SELECT COUNT_BIG(*) AS n FROM ${fn}(@from, @to, N'all') AS c`);
      const target = subRangeTarget(total, rowsPerSubRange, maxSubRanges);
      if (target === undefined) return undefined;
      const cuts = await this.lsnQuery(
        'cdc.split_cuts',
        `SELECT DISTINCT t.l FROM (
           SELECT c.__$start_lsn AS l, ROW_NUMBER() OVER (ORDER BY c.__$start_lsn, c.__$seqval) AS rn
             FROM ${fn}(@from, @to, N'all') AS c) AS t
          WHERE t.rn % ${target} = 0
          ORDER BY t.l OPTION (MAXDOP 1)`,
        range,
        SIZE_DEPENDENT,
      );
      return subRangesAt(
        window.from,
        window.to,
        cuts.map((r) => hex(r.l as Buffer) + MAX_SEQVAL),
        maxSubRanges,
      );
    } catch (err) {
      const e = await this.behindOrTranslate(err, seg);
      if (e instanceof CaptureBehindError) return undefined;
      throw e;
    }
  }

  private async *readSegment(
    seg: Segment,
    window: SourceWindow,
    stats: StepStats,
    planned?: ReadonlyMap<string, bigint | null>,
  ): AsyncGenerator<ChangeBatch> {
    const readers = this.readersFor(seg.instance);
    const columns = lakeColumns(this.d, readers);
    const fn = `cdc.${quoteIdent(`fn_cdc_get_all_changes_${seg.instance.name}`)}`;
    const text = `SELECT c.__$start_lsn, c.__$seqval, c.__$operation,
        ${readers.map((r) => r.selectSql('c')).join(', ')}
      FROM ${fn}(@from, @to, N'all') AS c
      ORDER BY c.__$start_lsn, c.__$seqval, c.__$operation OPTION (MAXDOP 1)`;
    const perQuery = this.options.commitTimesPerQuery ?? COMMIT_TIMES_PER_QUERY;
    try {
      // The plan found every transaction of the window with its commit time: one read, no commit-time query.
      if (planned) {
        yield* this.readRange(text, seg.fromLsn, seg.toLsn, planned, columns, readers, stats, window);
        return;
      }
      // In LSN sub-ranges of at most `perQuery` transactions: their commit times first (one map_lsn_to_time per
      // transaction), then their changes; memory holds one sub-range's times.
      for (let lo = seg.fromLsn; ;) {
        const times = await this.commitTimes(fn, lo, seg.toLsn, perQuery, stats);
        if (times.size === 0) return;
        const full = times.size >= perQuery;
        const hi = full ? [...times.keys()].pop()! : seg.toLsn;
        yield* this.readRange(text, lo, hi, times, columns, readers, stats);
        if (!full || hi >= seg.toLsn) return;
        const r = await this.lsnQuery('cdc.increment', 'SELECT sys.fn_cdc_increment_lsn(@l) AS l', [
          { name: 'l', value: hi },
        ]);
        lo = hex(r[0]!.l as Buffer);
      }
    } catch (err) {
      throw await this.behindOrTranslate(err, seg, window);
    }
  }

  /**
   * `_commit_ts` of the transactions in [lo, hi] (the first `limit` of them, in LSN order): one
   * `sys.fn_cdc_map_lsn_to_time` per transaction (grouped by `__$start_lsn`), not per change row — the function
   * seeks `cdc.lsn_time_mapping` on every call, and a burst of one transaction has thousands of rows. A public
   * function: joining `cdc.lsn_time_mapping` would need SELECT on the `cdc` schema besides what reading changes
   * needs.
   */
  private async commitTimes(
    fn: string,
    lo: string,
    hi: string,
    limit: number,
    stats: StepStats,
  ): Promise<Map<string, bigint | null>> {
    stats.queries++;
    const rows = await this.conn.query<{ lsn: Buffer; t: Date | null }>(
      'cdc.commit_times',
      `SELECT TOP (${limit}) c.__$start_lsn AS lsn, sys.fn_cdc_map_lsn_to_time(c.__$start_lsn) AS t
         FROM ${fn}(@from, @to, N'all') AS c
        GROUP BY c.__$start_lsn
        ORDER BY c.__$start_lsn OPTION (MAXDOP 1)`,
      [
        { name: 'from', type: sql.VarBinary(10), value: Buffer.from(lo, 'hex') },
        { name: 'to', type: sql.VarBinary(10), value: Buffer.from(hi, 'hex') },
      ],
      this.options.queryTimeoutMs !== undefined ? { timeoutMs: this.options.queryTimeoutMs } : {},
    );
    const times = new Map<string, bigint | null>();
    for (const r of rows) times.set(hex(r.lsn), r.t ? dateToEpochNanos(r.t) : null);
    return times;
  }

  /** The changes of LSNs [lo, hi], their commit times from `times`. */
  private async *readRange(
    text: string,
    lo: string,
    hi: string,
    times: ReadonlyMap<string, bigint | null>,
    columns: ChangeBatch['columns'],
    readers: readonly ColumnReader[],
    stats: StepStats,
    planned?: SourceWindow,
  ): AsyncGenerator<ChangeBatch> {
    const params = [
      { name: 'from', type: sql.VarBinary(10), value: Buffer.from(lo, 'hex') },
      { name: 'to', type: sql.VarBinary(10), value: Buffer.from(hi, 'hex') },
    ];
    stats.queries++;
    let lastLsn: Buffer | undefined;
    let lsn = '';
    let commitTs: bigint | null = null;
    // Where the read waited (ms, summed over the window's ranges): added to the stats when the range ends.
    const timing = { pausedMs: 0, waitedMs: 0 };
    try {
      for await (const b of this.conn.stream('cdc.read', text, params, {
        ...stagedReadBatches(this.options.batchRows),
        ...(this.options.rowLimiter ? { rowLimiter: this.options.rowLimiter } : {}),
        ...(this.options.queryTimeoutMs !== undefined ? { timeoutMs: this.options.queryTimeoutMs } : {}),
        timing,
      })) {
        stats.rowsRead += b.rows.length;
        const rows: ChangeRow[] = [];
        for (const raw of b.rows) {
          const op = OPS[raw[2] as number];
          if (!op) continue;
          // A transaction's changes arrive together (LSN order): its LSN's hex and commit time are looked up once.
          const lsnBytes = raw[0] as Buffer;
          if (lastLsn === undefined || !lsnBytes.equals(lastLsn)) {
            lastLsn = lsnBytes;
            lsn = hex(lsnBytes);
            commitTs = times.get(lsn) ?? null;
            if (planned && !times.has(lsn)) throw unplannedTransaction(this.name, planned, lsn, times.size);
          }
          rows.push({ op, pos: lsn + hex(raw[1] as Buffer), commitTs, values: decodeRow(readers, raw, 3) });
        }
        stats.rowsEmitted += rows.length;
        if (rows.length > 0) yield { columns, rows };
      }
    } finally {
      stats.extra.streamPausedMs = (stats.extra.streamPausedMs ?? 0) + timing.pausedMs;
      stats.extra.streamWaitedMs = (stats.extra.streamWaitedMs ?? 0) + timing.waitedMs;
    }
  }

  /**
   * 313 at read time has two causes: cleanup raised the min LSN above the range after planning (a gap), or the
   * range reaches changes the capture has not harvested for this instance yet (behind or failing for it; a
   * retry later reads them). The instance's min LSN tells them apart.
   */
  private async behindOrTranslate(err: unknown, seg: Segment, window?: SourceWindow): Promise<Error> {
    const n = (err as { sqlErrorNumber?: number }).sqlErrorNumber ?? sqlErrorInfo(err).number;
    if (n === 313) {
      const r = await this.conn
        .query<{ mn: Buffer | null }>('cdc.min', 'SELECT sys.fn_cdc_get_min_lsn(@ci) AS mn', [
          { name: 'ci', type: sql.NVarChar(128), value: seg.instance.name },
        ])
        .catch(() => undefined);
      const min = r?.[0]?.mn ? hex(r[0].mn) : undefined;
      if (min !== undefined && /[^0]/.test(min) && seg.fromLsn >= min)
        return new CaptureBehindError(this.name, seg.instance.name, seg.fromLsn, min);
    }
    return this.translate(err, seg.instance.name, window);
  }

  private translate(err: unknown, instance: string, window?: SourceWindow): Error {
    if (err instanceof SourceError && !('sqlErrorNumber' in err)) return err;
    const n = (err as { sqlErrorNumber?: number }).sqlErrorNumber ?? sqlErrorInfo(err).number;
    if (n === 208) return new CaptureInstanceDroppedError(this.name, instance);
    if (n === 313 && window)
      return new ChangeLogGapError(
        this.name,
        'cdc',
        window.from ?? '',
        '(above it)',
        'cleanup ran between planning and reading',
      );
    if (n === 229) {
      const ci = this.d.cdc.instances.find((i) => i.name === instance);
      return cdcNoAccessError(this.d, ci ? [ci] : null, instance, 229);
    }
    return err as Error;
  }
}

/** The commit times a window's plan found for all its transactions (`SourceWindow.transactions`), by LSN. */
function plannedTimes(window: SourceWindow): Map<string, bigint | null> | undefined {
  if (!window.transactions || window.partOf) return undefined;
  return new Map(window.transactions.map((t) => [t.at, t.commitNs === null ? null : BigInt(t.commitNs)]));
}

/**
 * The read met a transaction its plan did not list: the change table's rows in a planned window's LSN range are
 * fixed once captured, so this is a defect, never a state to read past (the event would lose its commit time).
 */
function unplannedTransaction(table: string, window: SourceWindow, lsn: string, planned: number): Error {
  return new Error(
    `CDC window (${window.from ?? 'start'}, ${window.to}] of ${table}: the read met transaction ${lsn}, which is ` +
      `not among the ${planned} its plan listed with their commit times. Nothing was committed; this is a ` +
      `defect of Tidemark: report it with this message.`,
  );
}

/**
 * Capture latency: seconds from the newest entry of `cdc.lsn_time_mapping` (the max LSN's `tran_end_time`,
 * `maxLsnTime`) to the source's clock `now` (`SYSDATETIME()`). Both are the server's local time, read by the driver
 * the same way, so no time zone enters the difference, and the worker's clock does not matter. While the capture
 * job runs, this stays below its polling interval even on an idle database, because an idle scan writes a
 * placeholder mapping row (`tran_id = 0x00`) that moves the max LSN and its time; when the job stalls it grows
 * with the stall, which a comparison of positions alone can never show. Whole seconds elapsed — not second boundaries crossed (those call
 * 0.95 s → 1.05 s one second) — and a mapping time a hair ahead of the clock (datetime rounds to 1/300 s) is no
 * latency. Null when either is unknown.
 */
export function captureLatencyOf(maxLsnTime: Date | null, now: Date | null): number | null {
  if (!maxLsnTime || !now) return null;
  return Math.max(0, Math.floor((now.getTime() - maxLsnTime.getTime()) / 1000));
}

/** `DATEDIFF(second, from, to)`: the second boundaries crossed from `from` to `to` (null when either is unknown). */
export function secondsCrossed(from: Date | null, to: Date | null): number | null {
  if (!from || !to) return null;
  return Math.floor(to.getTime() / 1000) - Math.floor(from.getTime() / 1000);
}

/**
 * A table's lag: how far the lake is behind the source's clock = how far its position is behind the newest
 * captured change, plus how old that change is (the capture latency). Either part may be unknown (null).
 */
export function lagBehindSource(behindSeconds: number | null, captureLatency: number | null): number | null {
  if (behindSeconds === null && captureLatency === null) return null;
  return Math.max(0, behindSeconds ?? 0) + (captureLatency ?? 0);
}
