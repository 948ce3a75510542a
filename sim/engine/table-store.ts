/**
 * Row storage operations under MVCC: insert, update and delete of one row by a transaction, with uniqueness
 * checks, lock waits, rowversion and identity assignment, nonclustered index maintenance, the undo log
 * (statement and transaction rollback) and the change list the commit log publishes.
 */
import type { SqlType, SqlValue } from './api.js';
import type { Index, IndexEntry, Table } from './catalog.js';
import { OrderedIndex, compareKeys } from './ordered-index.js';
import { sqlError } from './errors.js';
import { PackedInsertChange, RowRecord, lockHolder, wouldDeadlock, type RowVersion, type Txn } from './mvcc.js';
import { valueToString } from './values.js';
import type { RowCodec } from './row-codec.js';
import type { SessionContext } from './session-context.js';

export interface WriteContext {
  txn: Txn;
  session: SessionContext;
  signal: AbortSignal;
}

/** Waits until `holder` ends: LOCK_TIMEOUT → 1222, a wait cycle → 1205 (this transaction is the victim). */
export async function waitForLock(holder: Txn, wc: WriteContext): Promise<void> {
  const me = wc.txn;
  if (wouldDeadlock(me, holder)) throw sqlError(1205, wc.session.spid);
  const timeout = wc.session.options.lockTimeout;
  if (timeout === 0) throw sqlError(1222);
  me.waitingFor = holder;
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  try {
    await Promise.race([
      holder.done,
      new Promise<never>((_, reject) => {
        if (timeout > 0) timer = setTimeout(() => reject(sqlError(1222)), timeout);
        onAbort = () => reject(new AbortedError());
        if (wc.signal.aborted) onAbort();
        else wc.signal.addEventListener('abort', onAbort, { once: true });
      }),
    ]);
  } finally {
    me.waitingFor = undefined;
    if (timer) clearTimeout(timer);
    if (onAbort) wc.signal.removeEventListener('abort', onAbort);
  }
}

/** The client sent ATTENTION: the statement stops. */
export class AbortedError extends Error {
  constructor() {
    super('aborted by attention');
    this.name = 'AbortedError';
  }
}

function keyText(values: SqlValue[], cols: { column: { slot: number; type: SqlType } }[]): string {
  return cols
    .map((k) => {
      const v = values[k.column.slot] ?? null;
      return v === null ? 'NULL' : valueToString(v, k.column.type, Buffer.isBuffer(v) ? 1 : 0);
    })
    .join(', ');
}

export function indexKey(ix: Index, table: Table, values: SqlValue[], rec: RowRecord): SqlValue[] {
  const k = ix.keyColumns.map((c) => values[c.column.slot] ?? null);
  return k.concat(table.clusterKeyOf(values, rec));
}

export function createIndexEntries(ix: Index): OrderedIndex<IndexEntry> {
  return new OrderedIndex<IndexEntry>(
    (e) => e.key,
    ix.keyColumns.map((k) => k.desc),
  );
}

/** Next rowversion value of the database, recorded as held by the transaction until it ends. */
function nextRowversion(table: Table, txn: Txn): Buffer {
  const db = table.database;
  db.dbts += 1n;
  const key = db.name.toLowerCase();
  const cur = txn.minRowversion.get(key);
  if (cur === undefined || db.dbts < cur) txn.minRowversion.set(key, db.dbts);
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(db.dbts);
  return b;
}

/** Allocates the next identity value (not transactional: a rollback leaves a gap, as in SQL Server). */
export function nextIdentity(table: Table): bigint {
  const col = table.identityColumn;
  if (!col?.identity) throw new Error('no identity column');
  const v = table.identityNext ?? col.identity.seed;
  table.identityNext = v + col.identity.increment;
  table.identityLast = v;
  return v;
}

/** Moves the identity past an explicitly inserted value (IDENTITY_INSERT ON). */
export function noteExplicitIdentity(table: Table, v: bigint): void {
  const col = table.identityColumn;
  if (!col?.identity) return;
  const inc = col.identity.increment;
  const next = table.identityNext ?? col.identity.seed;
  if ((inc > 0n && v >= next) || (inc < 0n && v <= next)) {
    table.identityNext = v + inc;
    table.identityLast = v;
  }
}

/** `current` is `rec.values` when the caller already holds it (a packed row decodes on every read). */
function pushVersion(
  rec: RowRecord,
  values: SqlValue[],
  deleted: boolean,
  txn: Txn,
  current: SqlValue[] = rec.values,
): RowVersion {
  const prev: RowVersion = { values: current, deleted: rec.deleted, txn: rec.txn, prev: rec.prev };
  rec.values = values;
  rec.deleted = deleted;
  rec.txn = txn;
  rec.prev = prev;
  return prev;
}

function popVersion(rec: RowRecord): void {
  const prev = rec.prev;
  if (!prev) return;
  rec.values = prev.values;
  rec.deleted = prev.deleted;
  rec.txn = prev.txn;
  rec.prev = prev.prev;
}

function recordChange(
  txn: Txn,
  table: Table,
  op: 'insert' | 'update' | 'delete',
  before: SqlValue[] | null,
  after: SqlValue[] | null,
): void {
  txn.databases.add(table.database.name.toLowerCase());
  txn.changes.push({ tableObjectId: table.objectId, op, before, after, seq: txn.changes.length + 1 });
}

/** Entries of a unique index whose key columns equal those of `values`, other than `self`. */
function* uniqueConflicts(ix: Index, values: SqlValue[], self: RowRecord | undefined): Generator<RowRecord> {
  const key = ix.keyColumns.map((c) => values[c.column.slot] ?? null);
  for (const e of (ix.entries as OrderedIndex<IndexEntry>).range({ key, inclusive: true }, { key, inclusive: true })) {
    if (e.record === self) continue;
    const rec = e.record;
    // The entry is live if the record's newest version still carries this key.
    if (rec.deleted) {
      if (rec.txn !== null && rec.txn.state === 'active') yield rec; // uncommitted delete: wait for it
      continue;
    }
    if (
      compareKeys(
        ix.keyColumns.map((c) => rec.values[c.column.slot] ?? null),
        key,
      ) === 0
    )
      yield rec;
  }
}

/**
 * Checks the unique indexes for `values` (row `self` excluded). Waits for uncommitted conflicting writers and
 * re-checks; raises 2627 (PK/unique constraint) or 2601 (unique index) when a conflict remains.
 */
async function checkUnique(
  table: Table,
  values: SqlValue[],
  self: RowRecord | undefined,
  wc: WriteContext,
  only?: Index[],
): Promise<void> {
  for (const ix of only ?? table.indexes) {
    if (!ix.unique || ix.clustered) continue;
    for (;;) {
      let waited = false;
      for (const rec of uniqueConflicts(ix, values, self)) {
        const holder = lockHolder(rec, wc.txn);
        if (holder) {
          await waitForLock(holder, wc);
          waited = true;
          break;
        }
        if (rec.deleted) continue;
        throw duplicateError(table, ix, values);
      }
      if (!waited) break;
    }
  }
}

function duplicateError(table: Table, ix: Index, values: SqlValue[]) {
  const text = keyText(values, ix.keyColumns);
  if (ix.primaryKey || ix.uniqueConstraint) {
    const e = sqlError(2627, ix.name, `${table.schema.name}.${table.name}`, text);
    if (!ix.primaryKey) {
      e.sqlError.message = e.sqlError.message.replace('PRIMARY KEY', 'UNIQUE KEY');
      e.message = e.sqlError.message;
    }
    return e;
  }
  return sqlError(2601, `${table.schema.name}.${table.name}`, ix.name, text);
}

function addEntries(table: Table, rec: RowRecord, values: SqlValue[], onlyChangedFrom?: SqlValue[]): AddedEntry[] {
  const added: AddedEntry[] = [];
  for (const ix of table.indexes) {
    if (ix.clustered || !ix.entries) continue;
    const key = indexKey(ix, table, values, rec);
    if (onlyChangedFrom && compareKeys(indexKey(ix, table, onlyChangedFrom, rec), key) === 0) continue;
    // An older version may still be filed under this key (a value changed and changed back): one entry is enough.
    // Keys end with the clustering key, so an equal key is this record's entry.
    if (ix.entries.first(key)) continue;
    const entry = { key, record: rec };
    ix.entries.insert(entry);
    added.push({ ix, entry });
  }
  return added;
}

/** An entry this write added, with the index it went into (undo removes it from that index only). */
interface AddedEntry {
  ix: Index;
  entry: IndexEntry;
}

function removeEntries(added: AddedEntry[]): void {
  for (const { ix, entry } of added) ix.entries?.remove(entry);
}

/** Removes every nonclustered entry of a record (it leaves the table). */
export function removeAllEntries(table: Table, rec: RowRecord): void {
  const versions: SqlValue[][] = [];
  for (let v: RowVersion | null = rec; v; v = v.prev) versions.push(v.values);
  for (const ix of table.indexes) {
    if (!ix.entries) continue;
    const seen = new Set<string>();
    for (const vals of versions) {
      const key = indexKey(ix, table, vals, rec);
      const id = JSON.stringify(key, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x));
      if (seen.has(id)) continue;
      seen.add(id);
      for (const e of [...ix.entries.equal(key)]) if (e.record === rec) ix.entries.remove(e);
    }
  }
}

/** Inserts a fully formed row (defaults, identity applied by the caller); assigns the rowversion. */
export async function insertRow(
  table: Table,
  values: SqlValue[],
  wc: WriteContext,
  /** SELECT INTO copies rowversion values as they are (SQL Server documents the duplicates this creates). */
  keepRowversion = false,
): Promise<RowRecord> {
  const txn = wc.txn;
  const rv = table.rowversionColumn;
  const cl = table.clustered;
  for (;;) {
    let existing: RowRecord | undefined;
    if (cl) {
      const key = cl.keyColumns.map((k) => values[k.column.slot] ?? null);
      existing = table.records.first(key);
      if (existing) {
        const holder = lockHolder(existing, txn);
        if (holder) {
          await waitForLock(holder, wc);
          continue;
        }
        if (!existing.deleted && cl.unique) throw duplicateError(table, cl, values);
        if (!cl.unique) existing = undefined;
      }
    }
    await checkUnique(table, values, existing, wc);
    // Re-check the clustered key after waits (another writer may have inserted meanwhile).
    if (cl && cl.unique) {
      const key = cl.keyColumns.map((k) => values[k.column.slot] ?? null);
      const again = table.records.first(key);
      if (again !== existing) continue;
      if (again && lockHolder(again, txn)) continue;
    }
    if (rv && !(keepRowversion && values[rv.slot] !== null && values[rv.slot] !== undefined))
      values[rv.slot] = nextRowversion(table, txn);
    let rec: RowRecord;
    if (existing) {
      rec = existing;
      pushVersion(rec, values, false, txn);
      const added = addEntries(table, rec, values, rec.prev && !rec.prev.deleted ? rec.prev.values : undefined);
      txn.writes.push({
        record: rec,
        table,
        undo() {
          removeEntries(added);
          popVersion(rec);
        },
      });
    } else {
      // Only heaps need a row id; a shared 0n keeps clustered rows one BigInt smaller.
      rec = new RowRecord(values, false, txn, null, table.clustered ? 0n : table.nextRid++);
      table.records.insert(rec);
      const added = addEntries(table, rec, values);
      txn.writes.push({
        record: rec,
        table,
        undo() {
          removeEntries(added);
          table.records.remove(rec);
          rec.unpack();
        },
      });
    }
    recordChange(txn, table, 'insert', null, values);
    return rec;
  }
}

/**
 * `insertRow` for a transaction that writes many rows before it commits (the capture job's harvest: thousands of
 * change rows per scan at bench:load's rate): a new row is packed as it is written instead of at commit, and its
 * change reads the after-image from the record when a commit listener asks for it. The transaction then holds
 * no array of values per row, which would outlive the scavenges of its run and be promoted (see
 * docs/performance.md, "The simulator under sustained load"). The row is still this transaction's
 * uncommitted version: visibility, locks, undo and commit are those of `insertRow`.
 */
export async function insertPackedRow(table: Table, values: SqlValue[], wc: WriteContext): Promise<RowRecord> {
  const rec = await insertRow(table, values, wc);
  // A row re-inserted over a deleted one keeps a version chain: it is packed at commit, as before.
  if (rec.prev !== null) return rec;
  rec.pack(table.codec);
  const changes = wc.txn.changes;
  const last = changes[changes.length - 1];
  if (rec.isPacked && last) changes[changes.length - 1] = new PackedInsertChange(last.tableObjectId, rec, last.seq);
  return rec;
}

/**
 * Takes the row lock for a write: waits while another transaction holds it. Under SNAPSHOT, a row changed by a
 * transaction that committed after the snapshot began is an update conflict (3960). Returns false when the row
 * no longer exists.
 */
export async function lockForWrite(table: Table, rec: RowRecord, wc: WriteContext): Promise<boolean> {
  for (;;) {
    const holder = lockHolder(rec, wc.txn);
    if (!holder) break;
    await waitForLock(holder, wc);
  }
  const t = rec.txn;
  // A row whose only version was an insert that rolled back has left the table.
  if (t !== null && t.state === 'aborted') return false;
  if (wc.txn.snapshotSeq !== undefined && t !== null && t !== wc.txn && t.commitSeq > wc.txn.snapshotSeq)
    throw sqlError(3960, `${table.schema.name}.${table.name}`, table.database.name);
  return !rec.deleted;
}

/**
 * Replaces the row's values (the caller computed them from the locked newest version, `current` when it holds
 * that version's values already).
 */
export async function updateRow(
  table: Table,
  rec: RowRecord,
  newValues: SqlValue[],
  wc: WriteContext,
  current?: SqlValue[],
): Promise<RowRecord> {
  const txn = wc.txn;
  const rv = table.rowversionColumn;
  const cl = table.clustered;
  const before = current ?? rec.values;
  if (cl) {
    const oldKey = cl.keyColumns.map((k) => before[k.column.slot] ?? null);
    const newKey = cl.keyColumns.map((k) => newValues[k.column.slot] ?? null);
    if (compareKeys(oldKey, newKey) !== 0) {
      // A clustered key change moves the row: delete here, insert under the new key.
      await deleteRow(table, rec, wc, true);
      const moved = await insertRow(table, newValues, wc);
      txn.changes.splice(txn.changes.length - 2, 2);
      recordChange(txn, table, 'update', before, newValues);
      return moved;
    }
  }
  const changedUnique = table.indexes.filter(
    (ix) =>
      ix.unique &&
      !ix.clustered &&
      compareKeys(
        ix.keyColumns.map((c) => before[c.column.slot] ?? null),
        ix.keyColumns.map((c) => newValues[c.column.slot] ?? null),
      ) !== 0,
  );
  if (changedUnique.length) await checkUnique(table, newValues, rec, wc, changedUnique);
  if (rv) newValues[rv.slot] = nextRowversion(table, txn);
  pushVersion(rec, newValues, false, txn, before);
  const added = addEntries(table, rec, newValues, before);
  txn.writes.push({
    record: rec,
    table,
    undo() {
      removeEntries(added);
      popVersion(rec);
    },
  });
  recordChange(txn, table, 'update', before, newValues);
  return rec;
}

export function deleteRow(table: Table, rec: RowRecord, wc: WriteContext, _moving = false): Promise<void> {
  const txn = wc.txn;
  const before = rec.values;
  pushVersion(rec, before, true, txn, before);
  txn.writes.push({
    record: rec,
    table,
    undo() {
      return popVersion(rec);
    },
  });
  recordChange(txn, table, 'delete', before, null);
  return Promise.resolve();
}

/**
 * Drops versions no snapshot can see any more (all older than `minSeq`), and removes rows whose surviving
 * version is a committed delete. Keeps memory proportional to live data.
 */
export function vacuumRecord(table: Table, rec: RowRecord, minSeq: number): void {
  let v: RowVersion = rec;
  for (;;) {
    const t = v.txn;
    if (t === null || (t.state === 'committed' && t.commitSeq <= minSeq)) break;
    if (!v.prev) return;
    v = v.prev;
  }
  if (v.prev) {
    const dropped: SqlValue[][] = [];
    for (let p: RowVersion | null = v.prev; p; p = p.prev) dropped.push(p.values);
    v.prev = null;
    // Remove entries whose key no surviving version carries.
    const surviving: SqlValue[][] = [];
    for (let p: RowVersion | null = rec; p; p = p.prev) surviving.push(p.values);
    for (const ix of table.indexes) {
      if (!ix.entries) continue;
      for (const vals of dropped) {
        const key = indexKey(ix, table, vals, rec);
        if (surviving.some((s) => compareKeys(indexKey(ix, table, s, rec), key) === 0)) continue;
        for (const e of [...ix.entries.equal(key)]) if (e.record === rec) ix.entries.remove(e);
      }
    }
  }
  if (v === rec) rec.txn = null;
  else v.txn = null;
  const codec = table.codec;
  if (rec === v && rec.deleted) {
    removeAllEntries(table, rec);
    table.records.remove(rec);
  } else if (rec === v && rec.prev === null) rec.pack(codec);
  if (codec.slabs.wantsCompaction) compactSlabs(table, codec);
}

/**
 * Copies the table's live packed rows (those of its current layout) into fresh slabs and drops the old ones,
 * once updates and deletes have left more dead bytes than live ones (see row-slabs.ts). Amortised: each
 * compaction frees at least as many bytes as it copies.
 */
export function compactSlabs(table: Table, codec: RowCodec): void {
  const firstNew = codec.slabs.startCompaction();
  for (const rec of table.records.all()) if (rec.packedBy === codec) rec.movePacked();
  codec.slabs.finishCompaction(firstNew);
}
