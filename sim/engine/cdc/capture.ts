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
import { SqlError, type SqlType, type SqlValue } from '../api.js';
import type { Column, Database, DdlEvent, Table } from '../catalog.js';
import type { CommittedTransaction } from '../commit-log.js';
import type { SimEngine } from '../index.js';
import { assignValue } from '../dml.js';
import { EngineError } from '../errors.js';
import { extError } from '../ext-errors.js';
import { typeToString } from '../types.js';
import { compareValues, textOf } from '../values.js';
import { UNIX_EPOCH_DAYS, localOffsetMinutes, roundDatetimeTicks } from '../datetime.js';
import { insertPackedRow, type WriteContext } from '../table-store.js';
import { RowCodec, copyEncoded } from '../row-codec.js';
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
  errorCount: number;
}

/** A row of sys.dm_cdc_errors: an error a capture scan recorded instead of failing the whole scan. */
export interface CaptureError {
  sessionId: number;
  /** sys.dm_cdc_log_scan_sessions phase: 6 (schema versioning) for DDL, 7 for change rows (assumption). */
  phase: number;
  time: Date;
  number: number;
  severity: number;
  state: number;
  message: string;
  /** Commit LSN of the transaction (the DDL record's LSN for DDL). */
  startLsn: bigint;
  /** First LSN of the transaction (the DDL record's LSN for DDL). */
  beginLsn: bigint;
  /** LSN of the row change being written (the DDL record's LSN for DDL). */
  seqval: bigint;
}

/**
 * A capture instance whose harvesting stopped at a transaction it could not write (see {@link CdcDatabase.scan}):
 * that transaction and every later log record of its source wait here, in log order, and are retried first at
 * every scan.
 */
interface Stall {
  /** Commit LSN of the transaction that failed: the instance's changes are complete only below it. */
  lsn: bigint;
  backlog: Pending[];
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

/** What the capture job needs of a committed transaction (not its row changes: those are {@link PendingChange}s). */
type LoggedTxn = Pick<CommittedTransaction, 'lsn' | 'txnId' | 'beginTime' | 'commitTime'>;

type Pending =
  | { kind: 'txn'; entry: LoggedTxn; changes: PendingChange[] }
  | {
      kind: 'ddl';
      seq: number;
      /** The DDL record's position in the log (cdc.ddl_history.ddl_lsn). */
      lsn: bigint;
      event: DdlEvent;
      time: Date;
      /** ALTER COLUMN: the column and its type right after the statement. */
      altered?: { name: string; type: SqlType };
    };

/**
 * A row change waiting for the capture job. Its images are packed at commit (by the row codec of the types they
 * were logged with) into shared chunks ({@link ImageChunks}), so that a transaction's values are not heap objects
 * while it waits: with the capture job polling every few seconds, every value of every change outlived several
 * young-generation collections, was copied into the old generation and left there as garbage for a full
 * collection — whose cost grows with the tables (see docs/performance.md, "The simulator as its tables grow").
 * An image that does not pack (a value beyond the layout, a row of an older, narrower layout) stays an array.
 */
interface PendingChange {
  table: Table;
  op: 'insert' | 'update' | 'delete';
  /** The images as arrays when they did not pack (else null; `beforeBuf`/`afterBuf` say whether one exists). */
  before: SqlValue[] | null;
  after: SqlValue[] | null;
  beforeBuf: Buffer | null;
  beforeAt: number;
  afterBuf: Buffer | null;
  afterAt: number;
  codec: RowCodec;
  /** The table's column types by slot when the change was logged (its values have these types). */
  types: SqlType[];
}

/** A change's images as arrays by slot (decoded when they were packed). */
function imagesOf(c: PendingChange): { before: SqlValue[] | null; after: SqlValue[] | null } {
  return {
    before: c.beforeBuf ? c.codec.decodeFrom(c.beforeBuf, c.beforeAt) : c.before,
    after: c.afterBuf ? c.codec.decodeFrom(c.afterBuf, c.afterAt) : c.after,
  };
}

/** Chunks are this large (an image longer than a chunk gets one of its own). */
const IMAGE_CHUNK = 256 * 1024;

/**
 * Bump-allocated chunks for packed change images. Nothing is freed explicitly: a chunk is one Buffer, kept by the
 * pending changes that point into it and collected with the last of them (changes are harvested in commit
 * order, so a chunk's images go together).
 */
class ImageChunks {
  private chunk = Buffer.allocUnsafeSlow(0);
  private pos = 0;
  /** Set by `put`: where the bytes went. */
  buf: Buffer = this.chunk;
  at = 0;

  /** Packs `values` (false when they do not fit `codec`'s layout, or are narrower than it). */
  put(codec: RowCodec, values: SqlValue[]): boolean {
    // A narrower row (written before a column was added) reads the missing slots as the column's missing value,
    // which a packed NULL would not keep; a hole (undefined) likewise.
    if (values.length !== codec.width) return false;
    for (let i = 0; i < values.length; i++) if (values[i] === undefined) return false;
    const len = codec.encodeToScratch(values);
    if (len === undefined) return false;
    if (this.pos + len > this.chunk.length) {
      this.chunk = Buffer.allocUnsafeSlow(Math.max(IMAGE_CHUNK, len));
      this.pos = 0;
    }
    copyEncoded(this.chunk, this.pos, len);
    this.buf = this.chunk;
    this.at = this.pos;
    this.pos += len;
    return true;
  }
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
  /** Column types by slot of each tracked table as its changes are logged now (dropped at its next DDL). */
  private loggedTypes = new Map<Table, SqlType[]>();
  /** The codec packing pending images of each logged layout (keyed by the `loggedTypes` array). */
  private imageCodecs = new WeakMap<SqlType[], RowCodec>();
  private images = new ImageChunks();
  /** Instances whose harvesting stopped at a transaction they could not write. */
  private stalls = new Map<CaptureInstance, Stall>();
  /** sys.dm_cdc_errors: the errors of the last 32 scan sessions. */
  errors: CaptureError[] = [];
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
      // Copy the images (packed, or as arrays): later ALTER TABLE rewrites convert stored rows in place. Keep the
      // types they have.
      const types = this.typesOf(table);
      let codec = this.imageCodecs.get(types);
      if (!codec) this.imageCodecs.set(types, (codec = new RowCodec(types)));
      const change: PendingChange = {
        table,
        op: c.op,
        before: null,
        after: null,
        beforeBuf: null,
        beforeAt: 0,
        afterBuf: null,
        afterAt: 0,
        codec,
        types,
      };
      if (c.before) {
        if (this.images.put(codec, c.before)) {
          change.beforeBuf = this.images.buf;
          change.beforeAt = this.images.at;
        } else change.before = c.before.slice();
      }
      if (c.after) {
        if (this.images.put(codec, c.after)) {
          change.afterBuf = this.images.buf;
          change.afterAt = this.images.at;
        } else change.after = c.after.slice();
      }
      changes.push(change);
    }
    if (changes.length) {
      const { lsn, txnId, beginTime, commitTime } = entry;
      this.pending.push({ kind: 'txn', entry: { lsn, txnId, beginTime, commitTime }, changes });
    }
  }

  private typesOf(table: Table): SqlType[] {
    let types = this.loggedTypes.get(table);
    if (!types) {
      types = [];
      for (const col of table.columns) types[col.slot] = col.type;
      this.loggedTypes.set(table, types);
    }
    return types;
  }

  private onDdl(event: DdlEvent): void {
    this.loggedTypes.delete(event.table);
    const st = event.statement;
    if (st.kind !== 'alterTable') return;
    if (!this.instances.some((i) => i.source === event.table)) return;
    const p: Pending = {
      kind: 'ddl',
      seq: this.engine.admin.lastCommitSeq,
      lsn: this.betweenCommits(),
      event,
      time: new Date(),
    };
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
   * the change tables and lsn_time_mapping, in one internal transaction, in log order. An idle cycle writes a
   * placeholder mapping row (tran_id 0x00) so the maximum LSN keeps moving (brief §A.2).
   *
   * A capture instance that cannot write a transaction's rows (its change table cannot hold a value) stops
   * there: that transaction's rows of the instance are undone, the error goes to sys.dm_cdc_errors, and the
   * instance's later log records wait, in order, and are retried first at every scan until they succeed; its
   * change functions refuse ranges that reach the failed transaction (313, see `stalledAt`). Every other
   * instance goes on, and so does the maximum LSN. SQL Server documents no such isolation (its capture process
   * is one log reader per database and says nothing of what a write failure does to other tables); the
   * simulator chooses it so that one table's fault never stops the other tables' capture (issue 12), and so
   * that the faulty table's rows are never skipped.
   */
  scan(limits?: { maxtrans?: number; maxscans?: number }): Promise<void> {
    return this.serial(async () => {
      // DROP TABLE of a tracked source drops its capture instances (the engine publishes no event for it).
      for (const inst of this.instances.filter((i) => !sourceExists(i))) await this.dropInstance?.(inst);
      for (const inst of this.stalls.keys()) if (!this.instances.includes(inst)) this.stalls.delete(inst);
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
      const session = ++this.scanCount;
      const newMapping: MappingEntry[] = [];
      let txn: WriteContext['txn'] | undefined;
      await this.engine.admin.writeTransaction(this.db.name, async (wc) => {
        txn = wc.txn;
        // Instances stopped by an earlier failure retry from where they stopped (their backlog is older than
        // this batch).
        for (const [inst, stall] of this.stalls) {
          while (stall.backlog[0]) {
            const p = stall.backlog[0];
            if (p.kind === 'ddl') await this.applyDdl(inst, p, wc, session);
            else {
              const r = await this.harvest(inst, p, wc);
              if (!r.ok) {
                this.recordError(session, 7, r.error, p, r.seqval);
                break;
              }
              if (r.rows > 0) await this.mapTransaction(p, wc, newMapping);
            }
            stall.backlog.shift();
          }
          if (stall.backlog.length === 0) this.stalls.delete(inst);
        }
        for (const p of batch) {
          if (p.kind === 'ddl') {
            for (const inst of this.instances) {
              if (inst.source !== p.event.table || inst.startSeq > p.seq) continue;
              const stall = this.stalls.get(inst);
              if (stall) stall.backlog.push(p);
              else await this.applyDdl(inst, p, wc, session);
            }
            continue;
          }
          const seq = Number(p.entry.lsn);
          let rows = 0;
          for (const inst of this.instances) {
            if (inst.startSeq >= seq || !p.changes.some((c) => c.table === inst.source)) continue;
            const stall = this.stalls.get(inst);
            if (stall) {
              stall.backlog.push(p);
              continue;
            }
            const r = await this.harvest(inst, p, wc);
            if (r.ok) rows += r.rows;
            else {
              this.recordError(session, 7, r.error, p, r.seqval);
              this.stalls.set(inst, { lsn: commitLsn(seq), backlog: [p] });
            }
          }
          if (rows > 0) await this.mapTransaction(p, wc, newMapping);
        }
        const max = this.maxLsn ?? 0n;
        if (drained && !newMapping.some((m) => m.lsn > max)) {
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
      // A backlog harvested late maps transactions below the maximum LSN: keep the mapping in LSN order.
      const byLsn = (a: MappingEntry, b: MappingEntry) => (a.lsn < b.lsn ? -1 : a.lsn > b.lsn ? 1 : 0);
      const max = this.maxLsn;
      this.mapping.push(...newMapping.sort(byLsn));
      if (max !== undefined && newMapping[0] && newMapping[0].lsn < max) this.mapping.sort(byLsn);
      this.recordScan(session, started, batch, newMapping);
    });
  }

  /**
   * The commit LSN of the transaction at which `inst` stopped harvesting, while it is stopped: its change
   * functions answer only ranges below it (a range reaching it is one the capture process has not processed
   * yet for this instance, so it fails like any such range — Msg 313 — instead of silently missing rows).
   */
  stalledAt(inst: CaptureInstance): bigint | undefined {
    return this.stalls.get(inst)?.lsn;
  }

  private async insertMapping(m: MappingEntry, wc: WriteContext): Promise<void> {
    await insertNamed(
      this.table('lsn_time_mapping'),
      { start_lsn: lsnToBuffer(m.lsn), tran_begin_time: m.begin, tran_end_time: m.end, tran_id: m.tranId },
      wc,
    );
  }

  /** The lsn_time_mapping row of a transaction that wrote change rows (once, however many instances did). */
  private async mapTransaction(p: Pending & { kind: 'txn' }, wc: WriteContext, added: MappingEntry[]): Promise<void> {
    const lsn = commitLsn(Number(p.entry.lsn));
    if (added.some((m) => m.lsn === lsn) || this.hasMapping(lsn)) return;
    const begin = datetimeOf(p.entry.beginTime);
    const end = datetimeOf(p.entry.commitTime);
    const tranId = Buffer.alloc(10);
    tranId.writeBigUInt64BE(BigInt(p.entry.txnId), 2);
    const m: MappingEntry = { lsn, seq: 0, begin: begin.value, end: end.value, endTicks: end.ticks, tranId };
    await this.insertMapping(m, wc);
    added.push(m);
  }

  private hasMapping(lsn: bigint): boolean {
    let lo = 0;
    let hi = this.mapping.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const m = this.mapping[mid] as MappingEntry;
      if (m.lsn === lsn) return true;
      if (m.lsn < lsn) lo = mid + 1;
      else hi = mid - 1;
    }
    return false;
  }

  /**
   * Writes one transaction's changes of one instance into its change table, all or nothing: when a row cannot
   * be written, the rows already written for it are undone and the error is returned with the row's seqval.
   */
  private async harvest(
    inst: CaptureInstance,
    p: Pending & { kind: 'txn' },
    wc: WriteContext,
  ): Promise<{ ok: true; rows: number } | { ok: false; error: SqlError; seqval: bigint }> {
    const seq = Number(p.entry.lsn);
    const start = lsnToBuffer(commitLsn(seq));
    const writeMark = wc.txn.writes.length;
    const changeMark = wc.txn.changes.length;
    const converters = new Map<SqlType[], Converter[]>();
    const layout = changeRowLayout(inst);
    let rows = 0;
    let i = 0;
    let current = commitLsn(seq);
    try {
      for (const c of p.changes) {
        i++;
        if (c.table !== inst.source) continue;
        current = seqvalLsn(seq, i);
        let conv = converters.get(c.types);
        if (!conv) converters.set(c.types, (conv = convertersFor(inst, c.types)));
        const seqval = lsnToBuffer(current);
        const { before, after } = imagesOf(c);
        for (const r of cdcRows(inst, c.op, before, after, c.types, conv)) {
          await insertPackedRow(inst.changeTable, layout.row(start, seqval, r.op, r.mask, BigInt(i), r.values), wc);
          rows++;
        }
      }
      return { ok: true, rows };
    } catch (e) {
      for (let k = wc.txn.writes.length - 1; k >= writeMark; k--) wc.txn.writes[k]?.undo();
      wc.txn.writes.length = writeMark;
      wc.txn.changes.length = changeMark;
      return { ok: false, error: asSqlError(e), seqval: current };
    }
  }

  /**
   * A DDL record reached by the scan, for one instance: a cdc.ddl_history row, and for ALTER COLUMN of a
   * captured column whose type changed, the change table's column is altered to the new type here, at the
   * DDL's place in the log — so every row logged before it was written with the type it was logged with.
   *
   * "cdc.<capture_instance>_CT" (Microsoft Learn, Data Definition Language Modifications): "The data type of
   * the captured column in the change table is modified when the capture process encounters the log record
   * for the DDL change"; to narrow a type, values must first be made to fit "in the change table" too, else the
   * change cannot be propagated. Error 22976 is that failure: "Could not alter column … of change table … The
   * Change Data Capture meta data for source table … no longer accurately reflects the source table" — a lasting
   * state, so the capture goes on: the change table keeps its column type and every value it holds (nothing is
   * truncated), later values are converted into it, the underlying error and 22976 go to sys.dm_cdc_errors, and
   * required_column_update is 0 (cdc.ddl_history: the flag says the modification "altered the column in the
   * change table"; that it stays 0 when the alteration failed is an assumption).
   */
  private async applyDdl(
    inst: CaptureInstance,
    p: Pending & { kind: 'ddl' },
    wc: WriteContext,
    session: number,
  ): Promise<void> {
    let required = false;
    const altered = p.altered;
    const cc = altered && inst.columns.find((c) => c.name.toLowerCase() === altered.name.toLowerCase());
    const ctCol = cc ? inst.changeTable.column(cc.name) : undefined;
    if (altered && cc && ctCol) {
      const to = changeTableType(altered.type);
      if (typeToString(to) !== typeToString(ctCol.type)) {
        const ct = `cdc.${q(inst.changeTable.name)}`;
        try {
          // The engine's own ALTER COLUMN: it converts every stored row first and changes nothing on failure.
          await this.engine.admin.execute(`ALTER TABLE ${ct} ALTER COLUMN ${q(ctCol.name)} ${typeToString(to)} NULL`, {
            database: this.db.name,
          });
          required = true;
          cc.typeName = to.name;
          await updateWhere(
            this.table('captured_columns'),
            writerView(wc, this.engine.admin.lastCommitSeq),
            wc,
            (v) =>
              get(this.table('captured_columns'), v, 'object_id') === BigInt(inst.changeTable.objectId) &&
              textOf(get(this.table('captured_columns'), v, 'column_name')).toLowerCase() === cc.name.toLowerCase(),
            { column_type: to.name },
          );
        } catch (e) {
          const source = `${inst.source.schema.name}.${inst.source.name}`;
          this.recordError(session, 6, asSqlError(e), p);
          this.recordError(
            session,
            6,
            asSqlError(extError(22976, cc.name, `cdc.${inst.changeTable.name}`, source, source)),
            p,
          );
        }
      }
    }
    await insertNamed(
      this.table('ddl_history'),
      {
        source_object_id: BigInt(inst.source.objectId),
        object_id: BigInt(inst.changeTable.objectId),
        required_column_update: required,
        ddl_command: p.event.text ?? '',
        ddl_lsn: lsnToBuffer(p.lsn),
        ddl_time: datetimeOf(p.time).value,
      },
      wc,
    );
  }

  private recordError(session: number, phase: number, e: SqlError, p: Pending, seqval?: bigint): void {
    const start = p.kind === 'ddl' ? p.lsn : commitLsn(Number(p.entry.lsn));
    const begin = p.kind === 'ddl' ? p.lsn : seqvalLsn(Number(p.entry.lsn), 0);
    this.errors.push({
      sessionId: session,
      phase,
      time: new Date(),
      number: e.number,
      severity: e.severity,
      state: e.state,
      message: e.message,
      startLsn: start,
      beginLsn: begin,
      seqval: seqval ?? start,
    });
    // "sys.dm_cdc_errors contains error information for the previous 32 sessions."
    const oldest = session - 31;
    if ((this.errors[0]?.sessionId ?? oldest) < oldest) this.errors = this.errors.filter((x) => x.sessionId >= oldest);
  }

  /** sys.dm_cdc_log_scan_sessions: the last 32 scan sessions (session 0 aggregates, as documented). */
  readonly scanSessions: ScanSession[] = [];
  private scanCount = 0;
  private emptyScans = 0;

  private recordScan(sessionId: number, started: Date, batch: Pending[], mapping: MappingEntry[]): void {
    const txns = batch.filter((p): p is Pending & { kind: 'txn' } => p.kind === 'txn');
    const real = mapping.filter((m) => m.tranId.length > 1);
    const lastTxn = txns[txns.length - 1];
    if (txns.length === 0) this.emptyScans++;
    const end = new Date();
    this.scanSessions.push({
      sessionId,
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
      errorCount: this.errors.filter((e) => e.sessionId === sessionId).length,
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

/** Converts a logged value into its change-table column; undefined when the types match. */
type Converter = ((v: SqlValue) => SqlValue) | undefined;

/**
 * Per captured column, how a value logged with `types` goes into the change table: as it is when the column
 * has the logged type, else with INSERT's assignment rules (an overflow or truncation is an error, never a
 * silently cut value). The types differ only after an ALTER COLUMN the change table could not follow (22976).
 */
function convertersFor(inst: CaptureInstance, types: SqlType[]): Converter[] {
  const ct = inst.changeTable;
  return inst.columns.map((cc) => {
    const col = ct.column(cc.name);
    const from = types[cc.source.slot] ?? cc.source.type;
    if (!col || typeToString(changeTableType(from)) === typeToString(col.type)) return undefined;
    return (v) => assignValue(v, from, col, ct, 'INSERT');
  });
}

/** A thrown engine error as the SQL error it carries (anything else: an internal failure of the simulator). */
function asSqlError(e: unknown): SqlError {
  if (e instanceof EngineError) return e.sqlError;
  if (e instanceof SqlError) return e;
  return new SqlError(0, 16, 1, `simulator: ${e instanceof Error ? e.message : String(e)}`);
}

/**
 * Where a change row's values go in the change table's row array: the slots of the metadata columns and of each
 * captured column (in `inst.columns` order), looked up by name once per harvested transaction instead of once
 * per value. A change row is then built as `insertNamed` would build it from names: columns not named stay
 * NULL, a name the table lacks is dropped, and a captured column's value wins over a metadata column's of the
 * same name.
 */
function changeRowLayout(inst: CaptureInstance) {
  const ct = inst.changeTable;
  const slot = (name: string): number | undefined => ct.column(name)?.slot;
  const meta = ['__$start_lsn', '__$end_lsn', '__$seqval', '__$operation', '__$update_mask', '__$command_id'].map(slot);
  const captured = inst.columns.map((cc) => slot(cc.name));
  const width = ct.nextSlot;
  return {
    row(start: Buffer, seqval: Buffer, op: number, mask: Buffer, commandId: bigint, values: SqlValue[]): SqlValue[] {
      const out = new Array<SqlValue>(width).fill(null);
      const metaValues: SqlValue[] = [start, null, seqval, BigInt(op), mask, commandId];
      for (let k = 0; k < meta.length; k++) {
        const at = meta[k];
        if (at !== undefined) out[at] = metaValues[k] ?? null;
      }
      for (let k = 0; k < captured.length; k++) {
        const at = captured[k];
        if (at !== undefined) out[at] = values[k] ?? null;
      }
      return out;
    },
  };
}

/**
 * The change-table rows of one row change for one instance: op codes, update mask, captured values (in
 * `inst.columns` order).
 */
function cdcRows(
  inst: CaptureInstance,
  op: PendingChange['op'],
  beforeImage: SqlValue[] | null,
  afterImage: SqlValue[] | null,
  types: SqlType[],
  conv: Converter[],
): { op: number; mask: Buffer; values: SqlValue[] }[] {
  const c = { op, before: beforeImage, after: afterImage, types };
  const valuesOf = (row: SqlValue[]): SqlValue[] => {
    const cols = inst.columns;
    const out = new Array<SqlValue>(cols.length);
    for (let k = 0; k < cols.length; k++) {
      const cc = cols[k] as (typeof cols)[number];
      const raw = row[cc.source.slot];
      const v = raw === undefined ? cc.source.missingValue : raw;
      const f = conv[k];
      out[k] = f ? f(v) : v;
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
  inst.columns.forEach((cc, k) => {
    if ((c.types[cc.source.slot] ?? cc.source.type).length === -1 && !maskBitSet(mask, cc.ordinal)) before[k] = null;
  });
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
