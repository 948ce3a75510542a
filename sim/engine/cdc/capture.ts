/**
 * Change Data Capture state of one database (brief §A): capture instances, the queue of committed
 * transactions and DDL the capture job has not yet harvested, the capture scan (polling job and run-now), and
 * cleanup with retention.
 *
 * Where things live: `cdc.change_tables`, `cdc.captured_columns`, `cdc.index_columns`,
 * `cdc.lsn_time_mapping`, `cdc.ddl_history` and every `cdc.<ci>_CT` are ordinary tables of the database, written
 * only by internal transactions (enable/disable, a capture scan, a cleanup). So a change becomes visible
 * exactly when its scan commits, and a SNAPSHOT reader does not see later scans. An in-memory mirror of the
 * instances and the LSN ↔ time mapping serves the scalar functions (min/max LSN, time mapping).
 */
import type { SqlType, SqlValue } from '../api.js';
import type { Column, Database, DdlEvent, Table } from '../catalog.js';
import type { CommittedTransaction } from '../commit-log.js';
import type { SimEngine } from '../index.js';
import { typeToString } from '../types.js';
import { compareValues, convertValue, textOf } from '../values.js';
import { UNIX_EPOCH_DAYS, localOffsetMinutes, roundDatetimeTicks } from '../datetime.js';
import type { RowVersion } from '../mvcc.js';
import type { WriteContext } from '../table-store.js';
import { afterCommitLsn, commitLsn, lsnToBuffer, seqvalLsn } from './lsn.js';
import { deleteWhere, get, insertNamed, updateWhere, writerView } from './store.js';

/** Job settings (sp_cdc_add_job / sp_cdc_change_job defaults, brief §A.6). */
export interface CdcJobOptions {
  /** Capture polling interval (default 5000 ms; SQL Server's @pollinginterval is in seconds, 0..86399). */
  pollingIntervalMs: number;
  /** Transactions per scan (default 500). */
  maxtrans: number;
  /** Scans per cycle (default 10). */
  maxscans: number;
  /** Cleanup retention in minutes (default 4320 = 3 days). */
  retentionMinutes: number;
  /** Cleanup job interval (default daily; SQL Server runs it at 02:00). */
  cleanupIntervalMs: number;
  /** Start the capture/cleanup timers when the first table is enabled (default true). */
  autoStart: boolean;
}

export const DEFAULT_CDC_JOB_OPTIONS: CdcJobOptions = {
  pollingIntervalMs: 5000,
  maxtrans: 500,
  maxscans: 10,
  retentionMinutes: 4320,
  cleanupIntervalMs: 24 * 3600 * 1000,
  autoStart: true,
};

export const RESERVED_COLUMNS = ['__$start_lsn', '__$end_lsn', '__$seqval', '__$operation', '__$update_mask'];

/** One captured column: the source column and its place in the change table. */
export interface CapturedColumn {
  name: string;
  source: Column;
  columnId: number;
  /** 1-based position among captured columns (the update-mask bit). */
  ordinal: number;
  /** Type name as cdc.captured_columns.column_type reports it. */
  typeName: string;
}

export interface CaptureInstance {
  name: string;
  source: Table;
  changeTable: Table;
  roleName: string | null;
  indexName: string | null;
  indexColumns: Column[];
  supportsNetChanges: boolean;
  columns: CapturedColumn[];
  /** Low endpoint (cdc.change_tables.start_lsn), newest. */
  startLsn: bigint;
  /** Low endpoints by the commit sequence that set them (enable, cleanups): readers see theirs. */
  startHistory: { seq: number; lsn: bigint }[];
  /** Commit sequence at creation: only later transactions are captured. */
  startSeq: number;
  createDate: Date;
}

export interface ScanSession {
  sessionId: number;
  start: Date;
  end: Date;
  tranCount: number;
  commandCount: number;
  schemaChangeCount: number;
  lastCommitLsn: bigint | undefined;
  lastCommitTime: Date | undefined;
  latencySeconds: number;
  emptyScanCount: number;
}

export interface MappingEntry {
  lsn: bigint;
  /** Commit sequence of the scan that wrote it: readers whose view is older do not see it. */
  seq: number;
  begin: SqlValue;
  end: SqlValue;
  /** Comparable form of `end`: 100 ns ticks since 0001-01-01. */
  endTicks: bigint;
  tranId: Buffer;
}

type Pending =
  | { kind: 'txn'; entry: CommittedTransaction; changes: PendingChange[] }
  | {
      kind: 'ddl';
      seq: number;
      event: DdlEvent;
      time: Date;
      /** ALTER COLUMN: the column and its type right after the statement. */
      altered?: { name: string; type: SqlType };
    };

interface PendingChange {
  table: Table;
  op: 'insert' | 'update' | 'delete';
  before: SqlValue[] | null;
  after: SqlValue[] | null;
}

/** A JS Date (server-local wall clock) as a datetime value, and its tick count. */
export function datetimeOf(d: Date): { value: SqlValue; ticks: bigint } {
  const ms = d.getTime() + localOffsetMinutes() * 60000;
  const days = Math.floor(ms / 86400000);
  const t = roundDatetimeTicks(BigInt(ms - days * 86400000) * 10000n);
  const dd = days + UNIX_EPOCH_DAYS;
  return { value: { kind: 'datetime', days: dd, ticks: t }, ticks: BigInt(dd) * 864_000_000_000n + t };
}

/** The type a captured column has in the change table (rowversion → binary(8); identity dropped). */
export function changeTableType(t: SqlType): SqlType {
  return t.name === 'rowversion' ? { name: 'binary', length: 8 } : t;
}

const q = (name: string): string => `[${name.replace(/]/g, ']]')}]`;

export class CdcDatabase {
  instances: CaptureInstance[] = [];
  mapping: MappingEntry[] = [];
  private pending: Pending[] = [];
  private scanning: Promise<void> = Promise.resolve();
  private captureTimer: NodeJS.Timeout | undefined;
  private cleanupTimer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void)[] = [];
  private lastPlaceholder = 0n;
  jobsStarted = false;
  /** Drops a capture instance whose source table was dropped (set by the procedures module). */
  dropInstance: ((inst: CaptureInstance) => Promise<void>) | undefined;
  /** sp_cdc_change_job settings not yet applied (they take effect at the next start of the job). */
  pendingOptions: Partial<CdcJobOptions> = {};

  constructor(
    readonly engine: SimEngine,
    readonly db: Database,
    public options: CdcJobOptions,
  ) {
    this.unsubscribe.push(db.onCommit((t) => this.onCommit(t)));
    const ddl = (e: DdlEvent) => this.onDdl(e);
    db.ddlListeners.push(ddl);
    this.unsubscribe.push(() => {
      const i = db.ddlListeners.indexOf(ddl);
      if (i >= 0) db.ddlListeners.splice(i, 1);
    });
  }

  /** A fresh LSN after every commit up to `seq` (placeholders, DDL records): never handed out twice. */
  betweenCommits(seq = this.engine.admin.lastCommitSeq): bigint {
    const base = afterCommitLsn(seq);
    this.lastPlaceholder = base > this.lastPlaceholder ? base : this.lastPlaceholder + 1n;
    return this.lastPlaceholder;
  }

  /** sys.fn_cdc_get_max_lsn() for a reader whose view is commit sequence `seq`. */
  maxLsnAt(seq: number): bigint | undefined {
    for (let i = this.mapping.length - 1; i >= 0; i--) {
      const m = this.mapping[i];
      if (m && m.seq <= seq) return m.lsn;
    }
    return undefined;
  }

  get maxLsn(): bigint | undefined {
    return this.mapping.length ? this.mapping[this.mapping.length - 1]?.lsn : undefined;
  }

  instance(name: string): CaptureInstance | undefined {
    const n = name.trimEnd().toLowerCase();
    return this.instances.find((i) => i.name.toLowerCase() === n);
  }

  table(name: string): Table {
    const t = this.db.schema('cdc')?.tables.get(name.toLowerCase());
    if (!t) throw new Error(`cdc.${name} is missing`);
    return t;
  }

  // ------------------------------------------------------------------------------------------
  // Log intake

  private onCommit(entry: CommittedTransaction): void {
    const changes: PendingChange[] = [];
    for (const c of entry.changes) {
      const table = entry.table(c);
      if (!table || !this.instances.some((i) => i.source === table && i.startSeq < Number(entry.lsn))) continue;
      // Copy the images: later ALTER TABLE rewrites convert stored rows in place.
      changes.push({ table, op: c.op, before: c.before?.slice() ?? null, after: c.after?.slice() ?? null });
    }
    if (changes.length) this.pending.push({ kind: 'txn', entry, changes });
  }

  private onDdl(event: DdlEvent): void {
    const st = event.statement;
    if (st.kind !== 'alterTable') return;
    if (!this.instances.some((i) => i.source === event.table)) return;
    const p: Pending = { kind: 'ddl', seq: this.engine.admin.lastCommitSeq, event, time: new Date() };
    if (st.action.kind === 'alterColumn') {
      const col = event.table.column(st.action.column.name);
      if (col) p.altered = { name: col.name, type: { ...col.type } };
    }
    this.pending.push(p);
  }

  // ------------------------------------------------------------------------------------------
  // Jobs

  startJobs(): void {
    this.stopJobs();
    this.options = { ...this.options, ...this.pendingOptions };
    this.pendingOptions = {};
    this.jobsStarted = true;
    this.captureTimer = setInterval(() => void this.scan().catch(() => undefined), this.options.pollingIntervalMs);
    this.captureTimer.unref();
    this.cleanupTimer = setInterval(() => void this.cleanup().catch(() => undefined), this.options.cleanupIntervalMs);
    this.cleanupTimer.unref();
  }

  stopJobs(): void {
    if (this.captureTimer) clearInterval(this.captureTimer);
    if (this.cleanupTimer) clearInterval(this.cleanupTimer);
    this.captureTimer = undefined;
    this.cleanupTimer = undefined;
  }

  dispose(): void {
    this.stopJobs();
    for (const u of this.unsubscribe) u();
    this.unsubscribe = [];
  }

  /** Serialises scans and cleanups (one capture process per database). */
  private serial(fn: () => Promise<void>): Promise<void> {
    const next = this.scanning.then(fn, fn);
    this.scanning = next.catch(() => undefined);
    return next;
  }

  // ------------------------------------------------------------------------------------------
  // Capture scan

  /**
   * One capture cycle: harvests up to maxtrans × maxscans queued transactions (and the DDL between them) into
   * the change tables and lsn_time_mapping, in one internal transaction. An idle cycle writes a placeholder
   * mapping row (tran_id 0x00) so the maximum LSN keeps moving (brief §A.2).
   */
  scan(limits?: { maxtrans?: number; maxscans?: number }): Promise<void> {
    return this.serial(async () => {
      // DROP TABLE of a tracked source drops its capture instances (the engine publishes no event for it).
      for (const inst of this.instances.filter((i) => !sourceExists(i))) await this.dropInstance?.(inst);
      const budget = (limits?.maxtrans ?? this.options.maxtrans) * (limits?.maxscans ?? this.options.maxscans);
      let n = 0;
      let take = 0;
      while (take < this.pending.length && n < budget) {
        if (this.pending[take]?.kind === 'txn') n++;
        take++;
      }
      const batch = this.pending.slice(0, take);
      const drained = take === this.pending.length;
      // Every commit up to here is queued (the commit listener runs inside the commit), so a placeholder may
      // claim this point; commits that land while the scan runs get higher LSNs and stay unharvested.
      const harvestedUpTo = this.engine.admin.lastCommitSeq;
      const started = new Date();
      const newMapping: MappingEntry[] = [];
      let txn: WriteContext['txn'] | undefined;
      await this.engine.admin.writeTransaction(this.db.name, async (wc) => {
        txn = wc.txn;
        for (const p of batch) {
          if (p.kind === 'txn') {
            const m = await this.captureTxn(p, wc);
            if (m) newMapping.push(m);
          } else await this.applyDdl(p, wc);
        }
        if (newMapping.length === 0 && drained) {
          const max = this.maxLsn ?? 0n;
          let lsn = this.betweenCommits(harvestedUpTo);
          if (lsn <= max) lsn = this.lastPlaceholder = max + 1n;
          const now = datetimeOf(new Date());
          const m: MappingEntry = {
            lsn,
            seq: 0,
            begin: now.value,
            end: now.value,
            endTicks: now.ticks,
            tranId: Buffer.from([0]),
          };
          await this.insertMapping(m, wc);
          newMapping.push(m);
        }
      });
      this.pending.splice(0, take);
      for (const m of newMapping) m.seq = txn?.commitSeq ?? this.engine.admin.lastCommitSeq;
      this.mapping.push(...newMapping);
      this.recordScan(started, batch, newMapping);
    });
  }

  private async insertMapping(m: MappingEntry, wc: WriteContext): Promise<void> {
    await insertNamed(
      this.table('lsn_time_mapping'),
      { start_lsn: lsnToBuffer(m.lsn), tran_begin_time: m.begin, tran_end_time: m.end, tran_id: m.tranId },
      wc,
    );
  }

  private async captureTxn(p: Pending & { kind: 'txn' }, wc: WriteContext): Promise<MappingEntry | undefined> {
    const seq = Number(p.entry.lsn);
    const start = lsnToBuffer(commitLsn(seq));
    let wrote = false;
    let i = 0;
    let command = 0;
    for (const c of p.changes) {
      i++;
      command++;
      const seqval = lsnToBuffer(seqvalLsn(seq, i));
      for (const inst of this.instances) {
        if (inst.source !== c.table || inst.startSeq >= seq) continue;
        const rows = cdcRows(inst, c);
        for (const r of rows) {
          await insertNamed(
            inst.changeTable,
            {
              __$start_lsn: start,
              __$end_lsn: null,
              __$seqval: seqval,
              __$operation: BigInt(r.op),
              __$update_mask: r.mask,
              __$command_id: BigInt(command),
              ...r.values,
            },
            wc,
          );
          wrote = true;
        }
      }
    }
    if (!wrote) return undefined;
    const begin = datetimeOf(p.entry.beginTime);
    const end = datetimeOf(p.entry.commitTime);
    const tranId = Buffer.alloc(10);
    tranId.writeBigUInt64BE(BigInt(p.entry.txnId), 2);
    const m: MappingEntry = {
      lsn: commitLsn(seq),
      seq: 0,
      begin: begin.value,
      end: end.value,
      endTicks: end.ticks,
      tranId,
    };
    await this.insertMapping(m, wc);
    return m;
  }

  /** DDL reached by the scan: ddl_history rows; ALTER COLUMN of a captured column alters the change table. */
  private async applyDdl(p: Pending & { kind: 'ddl' }, wc: WriteContext): Promise<void> {
    const e = p.event;
    for (const inst of this.instances) {
      if (inst.source !== e.table || inst.startSeq > p.seq) continue;
      let required = false;
      if (p.altered) {
        const altered = p.altered;
        const cc = inst.columns.find((c) => c.name.toLowerCase() === altered.name.toLowerCase());
        const ctCol = cc ? inst.changeTable.column(cc.name) : undefined;
        if (cc && ctCol) {
          const to = changeTableType(altered.type);
          for (const rec of inst.changeTable.records.all())
            for (let v: RowVersion | null = rec; v; v = v.prev) {
              const vals = v.values; // packed rows decode to a fresh array: assign it back
              vals[ctCol.slot] = convertValue(vals[ctCol.slot] ?? null, ctCol.type, to);
              v.values = vals;
            }
          ctCol.type = to;
          inst.changeTable.invalidateCodec();
          cc.typeName = to.name;
          required = true;
          await updateWhere(
            this.table('captured_columns'),
            writerView(wc, this.engine.admin.lastCommitSeq),
            wc,
            (v) =>
              get(this.table('captured_columns'), v, 'object_id') === BigInt(inst.changeTable.objectId) &&
              textOf(get(this.table('captured_columns'), v, 'column_name')).toLowerCase() === cc.name.toLowerCase(),
            { column_type: to.name },
          );
        }
      }
      await insertNamed(
        this.table('ddl_history'),
        {
          source_object_id: BigInt(inst.source.objectId),
          object_id: BigInt(inst.changeTable.objectId),
          required_column_update: required,
          ddl_command: p.event.text ?? '',
          ddl_lsn: lsnToBuffer(this.betweenCommits(p.seq)),
          ddl_time: datetimeOf(p.time).value,
        },
        wc,
      );
    }
  }

  /** sys.dm_cdc_log_scan_sessions: the last 32 scan sessions (session 0 aggregates, as documented). */
  readonly scanSessions: ScanSession[] = [];
  private scanCount = 0;
  private emptyScans = 0;

  private recordScan(started: Date, batch: Pending[], mapping: MappingEntry[]): void {
    const txns = batch.filter((p): p is Pending & { kind: 'txn' } => p.kind === 'txn');
    const real = mapping.filter((m) => m.tranId.length > 1);
    const lastTxn = txns[txns.length - 1];
    if (txns.length === 0) this.emptyScans++;
    const end = new Date();
    this.scanSessions.push({
      sessionId: ++this.scanCount,
      start: started,
      end,
      tranCount: txns.length,
      commandCount: txns.reduce((n, p) => n + p.changes.length, 0),
      schemaChangeCount: batch.length - txns.length,
      lastCommitLsn: real[real.length - 1]?.lsn,
      lastCommitTime: lastTxn?.entry.commitTime,
      latencySeconds: lastTxn
        ? Math.max(0, Math.round((end.getTime() - lastTxn.entry.commitTime.getTime()) / 1000))
        : 0,
      emptyScanCount: this.emptyScans,
    });
    if (this.scanSessions.length > 32) this.scanSessions.shift();
  }

  // ------------------------------------------------------------------------------------------
  // Cleanup

  /**
   * The cleanup job (brief §A.6): the new low watermark is the first mapping entry whose tran_end_time is not
   * older than (tran_end_time of the max LSN − retention); instances whose start_lsn is below it move up, and
   * change rows and mapping rows below it are deleted.
   */
  cleanup(retentionMinutes = this.options.retentionMinutes): Promise<void> {
    return this.serial(async () => {
      const last = this.mapping[this.mapping.length - 1];
      if (!last) return;
      const cutoff = last.endTicks - BigInt(Math.round(retentionMinutes * 60)) * 10_000_000n;
      const first = this.mapping.find((m) => m.endTicks >= cutoff) ?? last;
      await this.lowerBoundTo(first.lsn, this.instances);
    });
  }

  /** sp_cdc_cleanup_change_table: moves one instance's low endpoint to `lsn` and deletes below it. */
  cleanupInstance(inst: CaptureInstance, lsn: bigint): Promise<void> {
    return this.serial(() => this.lowerBoundTo(lsn, [inst]));
  }

  private async lowerBoundTo(watermark: bigint, which: CaptureInstance[]): Promise<void> {
    const wm = lsnToBuffer(watermark);
    const moved: CaptureInstance[] = [];
    let txn: WriteContext['txn'] | undefined;
    await this.engine.admin.writeTransaction(this.db.name, async (wc) => {
      txn = wc.txn;
      const view = writerView(wc, this.engine.admin.lastCommitSeq);
      for (const inst of which) {
        if (inst.startLsn >= watermark) continue;
        moved.push(inst);
        const ct = inst.changeTable;
        await deleteWhere(ct, view, wc, () => true, undefined, { key: [wm], inclusive: false });
        const chg = this.table('change_tables');
        await updateWhere(chg, view, wc, (v) => get(chg, v, 'capture_instance') === inst.name, { start_lsn: wm });
      }
      // Mapping rows are kept while any instance may still need them.
      const floor = this.instances.reduce(
        (m, i) => (moved.includes(i) ? (watermark < m ? watermark : m) : i.startLsn < m ? i.startLsn : m),
        watermark,
      );
      const fb = lsnToBuffer(floor);
      await deleteWhere(this.table('lsn_time_mapping'), view, wc, () => true, undefined, {
        key: [fb],
        inclusive: false,
      });
    });
    for (const inst of moved) {
      inst.startLsn = watermark;
      inst.startHistory.push({ seq: txn?.commitSeq ?? this.engine.admin.lastCommitSeq, lsn: watermark });
    }
    const floor = this.instances.reduce((m, i) => (i.startLsn < m ? i.startLsn : m), watermark);
    this.mapping = this.mapping.filter((m) => m.lsn >= floor);
  }

  // ------------------------------------------------------------------------------------------
  // Catalog

  /** Creates the change table of a new instance (ordinary DDL as sa). */
  async createChangeTable(name: string, columns: { name: string; type: SqlType }[]): Promise<Table> {
    const cols = [
      '[__$start_lsn] binary(10) NOT NULL',
      '[__$end_lsn] binary(10) NULL',
      '[__$seqval] binary(10) NOT NULL',
      '[__$operation] int NOT NULL',
      '[__$update_mask] varbinary(128) NULL',
      ...columns.map((c) => `${q(c.name)} ${typeToString(changeTableType(c.type))} NULL`),
      '[__$command_id] int NULL',
    ];
    const ct = `${name}_CT`;
    await this.engine.admin.execute(
      `CREATE TABLE cdc.${q(ct)} (${cols.join(', ')},
         CONSTRAINT ${q(`${ct}_clustered_idx`)} PRIMARY KEY CLUSTERED ([__$start_lsn], [__$seqval], [__$operation]));`,
      { database: this.db.name },
    );
    return this.table(ct);
  }
}

/** The change-table rows of one row change for one instance: op codes, update mask, captured values. */
function cdcRows(
  inst: CaptureInstance,
  c: PendingChange,
): { op: number; mask: Buffer; values: Record<string, SqlValue> }[] {
  const valuesOf = (row: SqlValue[]): Record<string, SqlValue> => {
    const out: Record<string, SqlValue> = {};
    for (const cc of inst.columns) {
      const v = row[cc.source.slot];
      out[cc.name] = v === undefined ? cc.source.missingValue : v;
    }
    return out;
  };
  const all = fullMask(inst.columns.length);
  if (c.op === 'insert' && c.after) return [{ op: 2, mask: all, values: valuesOf(c.after) }];
  if (c.op === 'delete' && c.before) return [{ op: 1, mask: all, values: valuesOf(c.before) }];
  if (!c.before || !c.after) return [];
  // A change of the row identifier is captured as a delete plus an insert (brief §A.5, net changes).
  const keyChanged = inst.indexColumns.some(
    (k) => compareValues(c.before?.[k.slot] ?? null, c.after?.[k.slot] ?? null) !== 0,
  );
  if (keyChanged)
    return [
      { op: 1, mask: all, values: valuesOf(c.before) },
      { op: 2, mask: all, values: valuesOf(c.after) },
    ];
  const mask = Buffer.alloc(maskBytes(inst.columns.length));
  for (const cc of inst.columns) {
    const a = c.before[cc.source.slot] ?? null;
    const b = c.after[cc.source.slot] ?? null;
    const same =
      a === null || b === null
        ? a === b
        : Buffer.isBuffer(a) && Buffer.isBuffer(b)
          ? a.equals(b)
          : compareValues(a, b) === 0 && typeof a === typeof b;
    if (!same) setMaskBit(mask, cc.ordinal);
  }
  // (max) columns are NULL in the before-image unless they changed (brief §A.3).
  const before = valuesOf(c.before);
  for (const cc of inst.columns)
    if (cc.source.type.length === -1 && !maskBitSet(mask, cc.ordinal)) before[cc.name] = null;
  return [
    { op: 3, mask, values: before },
    { op: 4, mask, values: valuesOf(c.after) },
  ];
}

/** False once the instance's source table has been dropped. */
export function sourceExists(inst: CaptureInstance): boolean {
  return inst.source.schema.tables.get(inst.source.name.toLowerCase()) === inst.source;
}

/** An instance's low endpoint for a reader whose view is commit sequence `seq` (undefined: not yet visible). */
export function startLsnAt(inst: CaptureInstance, seq: number): bigint | undefined {
  for (let i = inst.startHistory.length - 1; i >= 0; i--) {
    const h = inst.startHistory[i];
    if (h && h.seq <= seq) return h.lsn;
  }
  return undefined;
}

export const maskBytes = (n: number): number => Math.max(1, Math.ceil(n / 8));

/** Bit `ordinal` (1-based) of an update mask: the lowest bit of the last byte is ordinal 1. */
export function setMaskBit(mask: Buffer, ordinal: number): void {
  const byte = mask.length - 1 - Math.floor((ordinal - 1) / 8);
  if (byte >= 0) mask[byte] = (mask[byte] ?? 0) | (1 << ((ordinal - 1) % 8));
}

export function maskBitSet(mask: Buffer, ordinal: number): boolean {
  const byte = mask.length - 1 - Math.floor((ordinal - 1) / 8);
  return byte >= 0 && ((mask[byte] ?? 0) & (1 << ((ordinal - 1) % 8))) !== 0;
}

function fullMask(n: number): Buffer {
  const m = Buffer.alloc(maskBytes(n));
  for (let i = 1; i <= n; i++) setMaskBit(m, i);
  return m;
}
