/**
 * Row helpers for the extensions' internal writes (change tables, CDC metadata): insert by column name, and
 * read/delete/update the rows an internal transaction sees. They go through the engine's storage operations,
 * so indexes, MVCC versions and snapshot readers behave exactly as for user DML.
 */
import type { SqlValue } from '../api.js';
import type { Table } from '../catalog.js';
import { visibleValues, type ReadView, type RowRecord } from '../mvcc.js';
import { deleteRow, insertRow, lockForWrite, updateRow, type WriteContext } from '../table-store.js';
import type { Bound } from '../ordered-index.js';

/** Values by column name (case-insensitive) → a row array by slot. Missing columns are NULL. */
export function rowFor(table: Table, byName: Record<string, SqlValue>): SqlValue[] {
  const values = new Array<SqlValue>(table.nextSlot).fill(null);
  const lower = new Map(Object.entries(byName).map(([k, v]) => [k.toLowerCase(), v]));
  for (const c of table.columns) {
    const v = lower.get(c.name.toLowerCase());
    if (v !== undefined) values[c.slot] = v;
  }
  return values;
}

export async function insertNamed(table: Table, byName: Record<string, SqlValue>, wc: WriteContext): Promise<void> {
  await insertRow(table, rowFor(table, byName), wc);
}

/** The view of an internal write transaction: the latest committed state plus its own writes. */
export function writerView(wc: WriteContext, lastCommitSeq: number): ReadView {
  return { seq: lastCommitSeq, txn: wc.txn, dirty: false, readPast: false };
}

/** A column's value in a row array, by name. */
export function get(table: Table, values: SqlValue[], name: string): SqlValue {
  const c = table.column(name);
  return c ? (values[c.slot] ?? null) : null;
}

/** Rows visible to `view`, optionally within a clustered-key range. */
export function* visibleRows(
  table: Table,
  view: ReadView,
  lower?: Bound,
  upper?: Bound,
): Generator<{ rec: RowRecord; values: SqlValue[] }> {
  const it = lower || upper ? table.records.range(lower, upper) : table.records.all();
  for (const rec of it) {
    const values = visibleValues(rec, view);
    if (values) yield { rec, values };
  }
}

/** Deletes the rows matching `pred` (visible to the writer); returns the count. */
export async function deleteWhere(
  table: Table,
  view: ReadView,
  wc: WriteContext,
  pred: (values: SqlValue[]) => boolean,
  lower?: Bound,
  upper?: Bound,
): Promise<number> {
  const victims = [...visibleRows(table, view, lower, upper)].filter((r) => pred(r.values));
  for (const v of victims) {
    if (await lockForWrite(table, v.rec, wc)) await deleteRow(table, v.rec, wc);
  }
  return victims.length;
}

/** Updates the rows matching `pred` with `set` (by column name). */
export async function updateWhere(
  table: Table,
  view: ReadView,
  wc: WriteContext,
  pred: (values: SqlValue[]) => boolean,
  set: Record<string, SqlValue>,
): Promise<number> {
  const targets = [...visibleRows(table, view)].filter((r) => pred(r.values));
  for (const t of targets) {
    if (!(await lockForWrite(table, t.rec, wc))) continue;
    const next = t.rec.values.slice();
    for (const [k, v] of Object.entries(set)) {
      const c = table.column(k);
      if (c) next[c.slot] = v;
    }
    await updateRow(table, t.rec, next, wc);
  }
  return targets.length;
}
