/**
 * Transactions and row versions (MVCC).
 *
 * Isolation design (see sim/README.md): every row is a chain of versions, newest first. A version written by
 * a transaction that has not committed is that row's exclusive lock: other writers wait for the writer to end
 * (async, with LOCK_TIMEOUT → 1222 and deadlock detection → 1205), READPAST skips it, NOLOCK reads it. Readers
 * never wait: READ COMMITTED reads the newest version committed before the statement began (statement-level
 * versioning, as SQL Server does with READ_COMMITTED_SNAPSHOT ON), SNAPSHOT reads the newest committed before
 * the transaction's first data access. We chose versioned READ COMMITTED because the TDS layer pulls result
 * rows lazily through a synchronous iterator, where a blocking reader could not wait; the documented
 * difference from a locking server is that a reader sees the last committed value instead of blocking.
 *
 * Commit sequence numbers are global and strictly increasing: they order commits for snapshots and are the LSN
 * of each committed transaction in the commit log that CDC and Change Tracking (part 2) consume.
 */
import type { SqlValue } from './api.js';
import type { IsolationLevel } from './api.js';
import type { RowCodec } from './row-codec.js';

/** A row version. The newest version of a row is the row's record (the object indexes point to). */
export interface RowVersion {
  /** Column values by slot; for a tombstone, the values of the deleted row. */
  values: SqlValue[];
  deleted: boolean;
  /** The writer; `null` once the version is older than every snapshot (visible to all). */
  txn: Txn | null;
  prev: RowVersion | null;
}

/**
 * A row: its newest version (the object indexes point to) plus a row id for heaps. When the newest version is
 * the only one and every reader sees it, it is packed by a RowCodec into the codec's shared slabs (see
 * row-codec.ts, row-slabs.ts): the record then holds only a slab number and an offset, so a stored row is one
 * heap object. `values` decodes on each read, so callers that change values must assign the array back
 * (`rec.values = arr`).
 */
export class RowRecord implements RowVersion {
  private unpacked: SqlValue[] | undefined;
  private codec: RowCodec | undefined;
  /** Where the packed bytes are in `codec.slabs` (small integers, so no heap object per row). */
  private slabNo = 0;
  private offset = 0;

  constructor(
    values: SqlValue[],
    public deleted: boolean,
    public txn: Txn | null,
    public prev: RowVersion | null,
    /** Heap tables: the row id that stands in for a clustered key. */
    public rid: bigint,
  ) {
    this.unpacked = values;
  }

  get values(): SqlValue[] {
    return this.unpacked ?? (this.codec as RowCodec).decodeAt(this.slabNo, this.offset);
  }

  set values(v: SqlValue[]) {
    if (this.codec) this.codec.free(this.slabNo, this.offset);
    this.unpacked = v;
    this.codec = undefined;
  }

  /** One slot's value without decoding the row. */
  slot(i: number): SqlValue {
    if (this.unpacked) return this.unpacked[i] ?? null;
    return (this.codec as RowCodec).decodeOneAt(this.slabNo, this.offset, i);
  }

  /**
   * One slot's value as `values[i]` would give it, without decoding the row: undefined for a slot the row's
   * layout does not have (a column added after it was written; readers then use the column's missing value).
   */
  slotValue(i: number): SqlValue | undefined {
    if (this.unpacked) return this.unpacked[i];
    const c = this.codec as RowCodec;
    return i < c.width ? c.decodeOneAt(this.slabNo, this.offset, i) : undefined;
  }

  /** Packs the values (a no-op when they do not fit the codec's layout). */
  pack(codec: RowCodec): void {
    if (!this.unpacked) return;
    if (!codec.pack(this.unpacked)) return;
    this.slabNo = codec.slabs.lastSlab;
    this.offset = codec.slabs.lastOffset;
    this.codec = codec;
    this.unpacked = undefined;
  }

  /** Decodes a packed row back into an array and frees its bytes (an undone insert of a row packed at once). */
  unpack(): void {
    if (!this.codec) return;
    const v = this.values;
    this.values = v;
  }

  /** The codec whose slabs hold this row, when packed. */
  get packedBy(): RowCodec | undefined {
    return this.codec;
  }

  /** Compaction: copies the packed bytes into the codec's fresh slabs (see RowSlabs.startCompaction). */
  movePacked(): void {
    const c = this.codec;
    if (!c) return;
    c.slabs.move(this.slabNo, this.offset, c.packedLength(this.slabNo, this.offset));
    this.slabNo = c.slabs.lastSlab;
    this.offset = c.slabs.lastOffset;
  }

  get isPacked(): boolean {
    return this.unpacked === undefined;
  }
}

export type TxnState = 'active' | 'committed' | 'aborted';

/** One change in a transaction, in execution order: what the commit log hands to CDC/CT. */
export interface RowChange {
  tableObjectId: number;
  op: 'insert' | 'update' | 'delete';
  before: SqlValue[] | null;
  after: SqlValue[] | null;
  /** Order inside the transaction (CDC's seqval/command id). */
  seq: number;
}

/**
 * The change of a row inserted packed (see `insertPackedRow` in table-store.ts): its after-image is read from the
 * record when a commit listener asks, so the transaction holds no array of values per row while it runs. The
 * record is the inserting transaction's until it ends (its exclusive lock), so what it reads then is what was
 * inserted.
 */
export class PackedInsertChange implements RowChange {
  readonly op = 'insert';
  readonly before = null;

  constructor(
    readonly tableObjectId: number,
    private readonly record: RowRecord,
    readonly seq: number,
  ) {}

  get after(): SqlValue[] {
    return this.record.values;
  }
}

/** Undo log entry: the record whose head this transaction pushed. */
export interface WriteEntry {
  record: RowRecord;
  /** The table of the record (opaque here to avoid a dependency on the catalog). */
  table: unknown;
  /** Undo callback restoring the previous head and index entries. */
  undo: () => void;
}

let nextTxnId = 1;

export class Txn {
  readonly id = nextTxnId++;
  state: TxnState = 'active';
  /** Commit sequence number; Infinity while active. */
  commitSeq = Number.POSITIVE_INFINITY;
  /** SNAPSHOT: the commit sequence visible to this transaction, fixed at its first data access. */
  snapshotSeq: number | undefined;
  readonly writes: WriteEntry[] = [];
  readonly changes: RowChange[] = [];
  /** Lowest rowversion value this transaction wrote, per database name (MIN_ACTIVE_ROWVERSION). */
  readonly minRowversion = new Map<string, bigint>();
  /** Databases this transaction wrote in. */
  readonly databases = new Set<string>();
  /** XACT_ABORT ON error inside TRY: the transaction can only be rolled back (XACT_STATE() = -1). */
  doomed = false;
  /** The transaction this one waits for (deadlock detection). */
  waitingFor: Txn | undefined;
  readonly beginTime = new Date();
  private resolveDone!: () => void;
  /** Settles when the transaction commits or aborts. */
  readonly done = new Promise<void>((resolve) => (this.resolveDone = resolve));

  constructor(
    readonly isolation: IsolationLevel,
    readonly spid: number,
    /** Autocommit transactions exist for one statement. */
    readonly implicit: boolean,
  ) {}

  finish(state: 'committed' | 'aborted', commitSeq?: number): void {
    this.state = state;
    if (commitSeq !== undefined) this.commitSeq = commitSeq;
    this.writes.length = 0;
    this.waitingFor = undefined;
    this.resolveDone();
  }

  /** The 8-byte transaction descriptor sent in ENVCHANGE and echoed by the client. */
  get descriptor(): Buffer {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(this.id));
    return b;
  }
}

/** How a statement reads: which committed state, its own transaction, and dirty reads. */
export interface ReadView {
  /** Highest commit sequence visible. */
  seq: number;
  txn: Txn | undefined;
  /** NOLOCK / READ UNCOMMITTED: the newest version, committed or not. */
  dirty: boolean;
  /** READPAST: rows whose newest version is another transaction's uncommitted write are skipped. */
  readPast: boolean;
}

/** The version of `rec` visible to `view`, or undefined (row absent for this reader). */
export function visibleVersion(rec: RowVersion, view: ReadView): RowVersion | undefined {
  if (view.readPast && rec.txn !== null && rec.txn.state === 'active' && rec.txn !== view.txn) return undefined;
  for (let v: RowVersion | null = rec; v; v = v.prev) {
    const t = v.txn;
    if (t === null || view.dirty || t === view.txn) return v;
    if (t.state === 'committed' && t.commitSeq <= view.seq) return v;
  }
  return undefined;
}

/** Values of the visible row, or undefined when absent or deleted. */
export function visibleValues(rec: RowVersion, view: ReadView): SqlValue[] | undefined {
  const v = visibleVersion(rec, view);
  return v && !v.deleted ? v.values : undefined;
}

/** The transaction holding the row's exclusive lock (its uncommitted newest version), other than `self`. */
export function lockHolder(rec: RowVersion, self: Txn): Txn | undefined {
  const t = rec.txn;
  return t !== null && t.state === 'active' && t !== self ? t : undefined;
}

/** True when waiting for `holder` would close a cycle back to `waiter`. */
export function wouldDeadlock(waiter: Txn, holder: Txn): boolean {
  const seen = new Set<Txn>();
  for (let t: Txn | undefined = holder; t; t = t.waitingFor) {
    if (t === waiter) return true;
    if (seen.has(t)) return false;
    seen.add(t);
  }
  return false;
}
