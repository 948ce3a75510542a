/**
 * INSERT, UPDATE and DELETE. Each runs inside a write transaction supplied by the session (autocommit or
 * explicit); the session rolls the statement back on error (statement atomicity). Values are converted to the
 * column types with assignment semantics: truncation is error 2628, NULL into NOT NULL is 515.
 */
import type { SqlType, SqlValue } from './api.js';
import type { Expr, SelectItem, Statement } from './ast.js';
import { Scope, compile, type BindContext, type ColumnInfo, type Compiled } from './binder.js';
import { coerce, literal } from './coercion.js';
import type { Column, Table } from './catalog.js';
import { sqlError, unsupported } from './errors.js';
import { tableColumns, type QueryPlanner, type Runtime } from './query.js';
import {
  insertRow,
  lockForWrite,
  nextIdentity,
  noteExplicitIdentity,
  updateRow,
  deleteRow,
  type WriteContext,
} from './table-store.js';
import { visibleVersion, type RowRecord } from './mvcc.js';
import { isBinary, isString } from './types.js';
import { convertValue } from './values.js';

/** Converts a value into a column with INSERT/UPDATE assignment rules. */
export function assignValue(
  v: SqlValue,
  from: SqlType,
  col: Column,
  table: Table,
  verb: 'INSERT' | 'UPDATE',
): SqlValue {
  if (v === null) {
    if (!col.nullable) throw sqlError(515, col.name, `${table.database.name}.${table.schema.name}.${table.name}`, verb);
    return null;
  }
  const t = col.type;
  if ((isString(t) || isBinary(t)) && t.length !== undefined && t.length > 0) {
    const probe: SqlValue = convertValue(v, from, {
      ...t,
      name: isString(t) ? (t.name === 'nchar' || t.name === 'nvarchar' ? 'nvarchar' : 'varchar') : 'varbinary',
      length: -1,
    });
    if (typeof probe === 'string' && probe.length > t.length && probe.slice(t.length).trim() !== '')
      throw sqlError(
        2628,
        `${table.database.name}.${table.schema.name}.${table.name}`,
        col.name,
        probe.slice(0, t.length),
      );
    if (Buffer.isBuffer(probe) && probe.length > t.length && probe.subarray(t.length).some((b) => b !== 0))
      throw sqlError(
        2628,
        `${table.database.name}.${table.schema.name}.${table.name}`,
        col.name,
        probe.subarray(0, t.length).toString('latin1'),
      );
  }
  return convertValue(v, from, t);
}

/** What DML needs: the planner, binding, the statement runtime and the write context. */
export interface DmlContext {
  planner: QueryPlanner;
  bc: (scope: Scope) => BindContext;
  rt: Runtime;
  wc: WriteContext;
  /** OUTPUT clause: the rows it produced, returned as a result set after the statement. */
  output?: OutputCollector;
}

/** Collects OUTPUT inserted.… / deleted.… rows. */
export interface OutputCollector {
  columns: ColumnInfo[];
  rows: SqlValue[][];
  add(inserted: SqlValue[] | null, deleted: SqlValue[] | null): void;
}

/** Binds an OUTPUT list against the pseudo-tables `inserted` and `deleted` (both shaped like the table). */
export function prepareOutput(
  items: SelectItem[] | undefined,
  table: Table,
  dc: DmlContext,
): OutputCollector | undefined {
  if (!items) return undefined;
  const scope = new Scope();
  const cols = tableColumns(table);
  const ins = scope.add('inserted', [['inserted']], cols);
  const del = scope.add('deleted', [['deleted']], cols);
  const bc = dc.bc(scope);
  const compiled: { c: Compiled; name: string }[] = [];
  for (const it of items) {
    if (it.expr.kind === 'star') {
      const q = (it.expr.qualifier?.[it.expr.qualifier.length - 1] ?? '').toLowerCase();
      const src = q === 'inserted' ? ins : q === 'deleted' ? del : undefined;
      if (!src) throw sqlError(4104, it.expr.qualifier?.join('.') ?? '*');
      src.columns.forEach((c, i) => {
        const pos = src.offset + i;
        compiled.push({
          c: {
            type: c.type,
            nullable: true,
            constant: false,
            eval(row) {
              return row[pos] ?? null;
            },
          },
          name: c.name,
        });
      });
      continue;
    }
    const c = compile(it.expr, bc);
    compiled.push({ c, name: it.alias ?? c.name ?? '' });
  }
  const out: OutputCollector = {
    columns: compiled.map((x) => ({ name: x.name, type: x.c.type, nullable: true })),
    rows: [],
    add(inserted, deleted) {
      const row = [
        ...table.columns.map((c) => (inserted ? (inserted[c.slot] ?? c.missingValue) : null)),
        ...table.columns.map((c) => (deleted ? (deleted[c.slot] ?? c.missingValue) : null)),
      ];
      out.rows.push(compiled.map((x) => x.c.eval(row, dc.rt.ctx)));
    },
  };
  return out;
}

function defaultValue(col: Column, dc: DmlContext): { value: SqlValue; type: SqlType } {
  if (col.default) {
    const c = compile(col.default.expr, dc.bc(new Scope()));
    return { value: c.eval([], dc.rt.ctx), type: c.type };
  }
  return { value: null, type: col.type };
}

/** INSERT … VALUES / SELECT / DEFAULT VALUES. Returns the number of rows inserted. */
export async function executeInsert(stmt: Statement & { kind: 'insert' }, dc: DmlContext): Promise<number> {
  if (stmt.exec) throw unsupported('INSERT … EXEC');
  if (stmt.top) throw unsupported('INSERT TOP');
  const table = dc.planner.resolveTable(stmt.table, 'INSERT');
  dc.rt.onDataAccess(table.database);
  dc.output = prepareOutput(stmt.output, table, dc);
  let targets: Column[];
  if (stmt.columns) {
    targets = stmt.columns.map((n) => {
      const c = table.column(n);
      if (!c) throw sqlError(207, n);
      return c;
    });
    const seen = new Set<Column>();
    for (const c of targets) {
      if (seen.has(c)) throw sqlError(264, c.name);
      seen.add(c);
    }
  } else {
    targets = table.columns.filter((c) => !c.identity || table.identityInsert);
    if (table.identityInsert && !stmt.columns)
      throw sqlError(8101, `${table.database.name}.${table.schema.name}.${table.name}`);
  }
  for (const c of targets) {
    if (c.identity && !table.identityInsert) throw sqlError(544, table.name);
  }
  // Produce source rows of compiled values.
  const rowsIn: { values: SqlValue[]; types: SqlType[]; isDefault: boolean[] }[] = [];
  if (stmt.defaultValues) rowsIn.push({ values: [], types: [], isDefault: [] });
  else if (stmt.values) {
    const bc = dc.bc(new Scope());
    for (const row of stmt.values) {
      if (row.length !== targets.length) {
        if (stmt.columns) throw sqlError(row.length < targets.length ? 109 : 110);
        throw sqlError(213);
      }
      const values: SqlValue[] = new Array<SqlValue>(row.length);
      const types: SqlType[] = new Array<SqlType>(row.length);
      const isDefault: boolean[] = new Array<boolean>(row.length);
      for (let i = 0; i < row.length; i++) {
        const e = row[i] as Expr;
        isDefault[i] = e.kind === 'default';
        if (e.kind === 'default') {
          values[i] = null;
          types[i] = (targets[i] as Column).type;
        } else if (e.kind === 'literal') {
          // What compile() makes of a literal (coercion.ts `literal`): its value and type, without the closure.
          values[i] = e.value;
          types[i] = e.type;
        } else {
          const c = compile(e, bc);
          values[i] = c.eval([], dc.rt.ctx);
          types[i] = c.type;
        }
      }
      rowsIn.push({ values, types, isDefault });
    }
  } else if (stmt.select) {
    const plan = dc.planner.planSelect(stmt.select);
    if (plan.columns.length !== targets.length) throw sqlError(plan.columns.length > targets.length ? 110 : 109);
    const types = plan.columns.map((c) => c.type);
    for (const r of plan.run(dc.rt)) rowsIn.push({ values: r, types, isDefault: r.map(() => false) });
  }
  // Each column's position among the targets (-1: not given), once per statement rather than a map per row.
  const given = table.columns.map((col) => targets.indexOf(col));
  let count = 0;
  for (const src of rowsIn) {
    const values = new Array<SqlValue>(table.nextSlot).fill(null);
    for (let ci = 0; ci < table.columns.length; ci++) {
      const col = table.columns[ci] as Column;
      const gi = given[ci] as number;
      const g = gi >= 0;
      const gd = g && (src.isDefault[gi] ?? false);
      if (col.isRowversion) {
        if (g && !gd && (src.values[gi] ?? null) !== null) throw sqlError(273);
        continue;
      }
      if (col.identity && !(g && table.identityInsert)) {
        const id = nextIdentity(table);
        values[col.slot] = convertValue(id, { name: 'bigint' }, col.type);
        continue;
      }
      let v: SqlValue;
      let t: SqlType;
      if (!g || gd) {
        const d = defaultValue(col, dc);
        v = d.value;
        t = d.type;
      } else {
        v = src.values[gi] ?? null;
        t = src.types[gi] ?? col.type;
      }
      values[col.slot] = assignValue(v, t, col, table, 'INSERT');
      if (col.identity && typeof values[col.slot] === 'bigint') noteExplicitIdentity(table, values[col.slot] as bigint);
    }
    await insertRow(table, values, dc.wc);
    dc.output?.add(values, null);
    const idc = table.identityColumn;
    if (idc) {
      dc.wc.session.lastIdentity = values[idc.slot] ?? null;
      dc.wc.session.scopeIdentity = values[idc.slot] ?? null;
    }
    count++;
  }
  return count;
}

/** Records matching the WHERE under the statement's read view (collected first: no Halloween problem). */
function candidates(
  table: Table,
  alias: string | undefined,
  where: Expr | undefined,
  dc: DmlContext,
  top?: Expr,
): { recs: RowRecord[]; filter: Compiled | undefined; scope: Scope } {
  const plan = dc.planner.planTargetScan(table, alias, where);
  const recs: RowRecord[] = [];
  let limit = Infinity;
  if (top) {
    const c = compile(top, dc.bc(new Scope()));
    limit = Number(convertValue(c.eval([], dc.rt.ctx), c.type, { name: 'bigint' }) ?? 0);
  }
  const cols = table.columns;
  const view = { ...dc.rt.view, dirty: false, readPast: false };
  for (const rec of plan.candidates(dc.rt)) {
    if (recs.length >= limit) break;
    // Writers never read dirty: READ UNCOMMITTED affects reads only.
    const v = visibleVersion(rec, view);
    if (!v || v.deleted) continue;
    // `values` of a packed row decodes it on every read: read it once per row.
    const vals = v.values;
    const row = cols.map((c) => vals[c.slot] ?? c.missingValue);
    if (plan.filter && plan.filter.eval(row, dc.rt.ctx) !== true) continue;
    recs.push(rec);
  }
  return { recs, filter: plan.filter, scope: plan.scope };
}

function targetTable(ref: Statement & { kind: 'update' | 'delete' }, dc: DmlContext): { table: Table; alias?: string } {
  if (ref.target.kind !== 'table') throw unsupported('DML target');
  return {
    table: dc.planner.resolveTable(ref.target.name, ref.kind === 'update' ? 'UPDATE' : 'DELETE'),
    alias: ref.target.alias,
  };
}

/** Rows of UPDATE/DELETE … FROM: target records with the joined row each was matched with. */
function joinedCandidates(stmt: Statement & { kind: 'update' | 'delete' }, dc: DmlContext) {
  if (stmt.target.kind !== 'table') throw unsupported('DML target');
  if (stmt.top) throw unsupported(`${stmt.kind.toUpperCase()} TOP … FROM`);
  const plan = dc.planner.planJoinedTarget(stmt.target.name, stmt.from, stmt.where);
  dc.planner.resolveTable(
    [plan.table.database.name, plan.table.schema.name, plan.table.name],
    stmt.kind === 'update' ? 'UPDATE' : 'DELETE',
  );
  dc.rt.onDataAccess(plan.table.database);
  return { ...plan, matched: plan.rows(dc.rt) };
}

export async function executeUpdate(stmt: Statement & { kind: 'update' }, dc: DmlContext): Promise<number> {
  if (stmt.from.length) return executeUpdateFrom(stmt, dc);
  const { table, alias } = targetTable(stmt, dc);
  dc.rt.onDataAccess(table.database);
  const { recs, filter, scope } = candidates(table, alias, stmt.where, dc, stmt.top);
  dc.output = prepareOutput(stmt.output, table, dc);
  const bc = dc.bc(scope);
  const sets = stmt.sets.map((s) => {
    const name = s.column[s.column.length - 1] ?? '';
    const col = table.column(name);
    if (!col) throw sqlError(207, name);
    if (col.identity) throw sqlError(8102, col.name);
    if (col.isRowversion) throw sqlError(272);
    let expr: Compiled;
    if (s.expr.kind === 'default') {
      expr = col.default ? compile(col.default.expr, dc.bc(new Scope())) : literal(null, col.type);
    } else {
      const e: Expr =
        s.op === '='
          ? s.expr
          : { kind: 'binary', op: s.op[0] as '+', left: { kind: 'column', parts: [col.name] }, right: s.expr };
      expr = compile(e, bc);
    }
    return { col, expr };
  });
  const cols = table.columns;
  let count = 0;
  for (const rec of recs) {
    if (!(await lockForWrite(table, rec, dc.wc))) continue;
    // Re-evaluate against the newest committed (or own) version after the lock (decoded once: see candidates).
    const before = rec.values;
    const row = cols.map((c) => before[c.slot] ?? c.missingValue);
    if (filter && filter.eval(row, dc.rt.ctx) !== true) continue;
    const next = before.slice();
    while (next.length < table.nextSlot) next.push(null);
    for (const c of cols) if (before[c.slot] === undefined) next[c.slot] = c.missingValue;
    for (const { col, expr } of sets)
      next[col.slot] = assignValue(expr.eval(row, dc.rt.ctx), expr.type, col, table, 'UPDATE');
    await updateRow(table, rec, next, dc.wc, before);
    dc.output?.add(next, before);
    count++;
  }
  return count;
}

async function executeUpdateFrom(stmt: Statement & { kind: 'update' }, dc: DmlContext): Promise<number> {
  const { table, source, scope, matched } = joinedCandidates(stmt, dc);
  dc.output = prepareOutput(stmt.output, table, dc);
  const bc = dc.bc(scope);
  const sets = stmt.sets.map((s) => {
    const name = s.column[s.column.length - 1] ?? '';
    const col = table.column(name);
    if (!col) throw sqlError(207, name);
    if (col.identity) throw sqlError(8102, col.name);
    if (col.isRowversion) throw sqlError(272);
    const e: Expr =
      s.expr.kind === 'default'
        ? (col.default?.expr ?? { kind: 'literal', value: null, type: col.type })
        : s.op === '='
          ? s.expr
          : {
              kind: 'binary',
              op: s.op[0] as '+',
              left: { kind: 'column', parts: [source.alias, col.name] },
              right: s.expr,
            };
    return { col, expr: compile(e, bc) };
  });
  const cols = table.columns;
  let count = 0;
  for (const { record, row } of matched) {
    if (!(await lockForWrite(table, record, dc.wc))) continue;
    // The target's part of the joined row is refreshed from the locked newest version (decoded once).
    const before = record.values;
    cols.forEach((c, i) => (row[source.offset + i] = before[c.slot] ?? c.missingValue));
    const next = before.slice();
    while (next.length < table.nextSlot) next.push(null);
    for (const c of cols) if (next[c.slot] === undefined) next[c.slot] = c.missingValue;
    for (const { col, expr } of sets)
      next[col.slot] = assignValue(expr.eval(row, dc.rt.ctx), expr.type, col, table, 'UPDATE');
    await updateRow(table, record, next, dc.wc, before);
    dc.output?.add(next, before);
    count++;
  }
  return count;
}

export async function executeDelete(stmt: Statement & { kind: 'delete' }, dc: DmlContext): Promise<number> {
  if (stmt.from.length) {
    const { table, matched } = joinedCandidates(stmt, dc);
    dc.output = prepareOutput(stmt.output, table, dc);
    let n = 0;
    for (const { record } of matched) {
      if (!(await lockForWrite(table, record, dc.wc))) continue;
      dc.output?.add(null, record.values);
      await deleteRow(table, record, dc.wc);
      n++;
    }
    return n;
  }
  const { table, alias } = targetTable(stmt, dc);
  dc.rt.onDataAccess(table.database);
  const { recs, filter } = candidates(table, alias, stmt.where, dc, stmt.top);
  dc.output = prepareOutput(stmt.output, table, dc);
  const cols = table.columns;
  let count = 0;
  for (const rec of recs) {
    if (!(await lockForWrite(table, rec, dc.wc))) continue;
    const before = rec.values;
    const row = cols.map((c) => before[c.slot] ?? c.missingValue);
    if (filter && filter.eval(row, dc.rt.ctx) !== true) continue;
    dc.output?.add(null, before);
    await deleteRow(table, rec, dc.wc);
    count++;
  }
  return count;
}

export { coerce };
