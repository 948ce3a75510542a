/**
 * DDL: CREATE/DROP TABLE, CREATE/DROP INDEX, ALTER TABLE ADD / ALTER COLUMN / DROP COLUMN / DROP CONSTRAINT,
 * TRUNCATE TABLE, CREATE SCHEMA. DDL is not transactional in the simulator (it applies at once, even inside a
 * transaction that later rolls back); see sim/README.md.
 */
import { randomBytes } from 'node:crypto';
import type { SqlValue } from './api.js';
import type { ColumnDef, Expr, KeyConstraint, Statement } from './ast.js';
import { Scope, compile, type BindContext } from './binder.js';
import { allocateObjectId, norm, type Column, type Database, type Index, type Table } from './catalog.js';
import { Table as TableClass } from './catalog.js';
import { sqlError, unsupported } from './errors.js';
import type { RowRecord, RowVersion } from './mvcc.js';
import { OrderedIndex, compareKeys } from './ordered-index.js';
import { createIndexEntries, indexKey } from './table-store.js';
import { typeToString } from './types.js';
import { convertValue, valueToString } from './values.js';
import type { EvalCtx } from './binder.js';

/** What DDL needs from the session: the current database, binding and name resolution. */
export interface DdlContext {
  database: Database;
  defaultSchema: string;
  bc: (scope: Scope) => BindContext;
  evalCtx: EvalCtx;
  /** Resolves [db.][schema.]name to (database, schema name, table name). */
  resolveName(parts: string[]): { db: Database; schema: string; name: string };
}

const hex = (): string => randomBytes(8).toString('hex').toUpperCase();

function constraintName(prefix: string, table: string, col?: string): string {
  return `${prefix}__${table.slice(0, 8)}__${col ? col.slice(0, 5) + '__' : ''}${hex()}`;
}

function buildColumn(t: Table, def: ColumnDef, ddl: DdlContext): Column {
  if (t.column(def.name)) throw sqlError(2705, def.name, t.name);
  const isRowversion = def.type.name === 'rowversion';
  if (def.identity) {
    const ok =
      ['tinyint', 'smallint', 'int', 'bigint'].includes(def.type.name) ||
      ((def.type.name === 'decimal' || def.type.name === 'numeric') && (def.type.scale ?? 0) === 0);
    if (!ok) throw sqlError(2749, def.name, t.name);
    if (t.identityColumn) throw sqlError(2744, t.name);
  }
  if (isRowversion && t.rowversionColumn) throw sqlError(2738);
  const nullable = def.nullable ?? !(def.identity || isRowversion || def.primaryKey);
  const col: Column = {
    name: def.name,
    type: def.type,
    nullable,
    columnId: t.nextColumnId++,
    slot: t.nextSlot++,
    identity: def.identity,
    isRowversion,
    missingValue: null,
  };
  if (def.default) {
    compile(def.default, ddl.bc(new Scope())); // validate now: 128/207 for column references
    col.default = {
      expr: def.default,
      text: `(${defaultText(def.default)})`,
      name: def.defaultName ?? constraintName('DF', t.name, def.name),
      objectId: allocateObjectId(),
    };
  }
  return col;
}

function defaultText(e: Expr): string {
  if (e.kind === 'literal') {
    const v = e.value;
    if (v === null) return 'NULL';
    if (typeof v === 'string') return `${e.type.name.startsWith('n') ? 'N' : ''}'${v.replace(/'/g, "''")}'`;
    if (Buffer.isBuffer(v)) return '0x' + v.toString('hex').toUpperCase();
    return `(${valueToString(v, e.type)})`;
  }
  if (e.kind === 'call') return `${e.name.join('.').toLowerCase()}(${e.args.map(defaultText).join(',')})`;
  if (e.kind === 'unary' && e.operand.kind === 'literal') return `(-${defaultText(e.operand).replace(/[()]/g, '')})`;
  return '';
}

function addKey(t: Table, kc: KeyConstraint, isNew: boolean): Index {
  const cols = kc.columns.map((c) => {
    const col = t.column(c.name);
    if (!col) throw sqlError(1911, c.name);
    return { column: col, desc: c.desc };
  });
  if (kc.kind === 'primaryKey') {
    if (t.primaryKey) throw sqlError(1779, t.name);
    for (const c of cols) {
      if (c.column.nullable) {
        if (isNew) c.column.nullable = false;
        else throw sqlError(8111, t.name);
      }
    }
  }
  if (kc.clustered && t.clustered) throw sqlError(1902, t.name, t.clustered.name);
  const ix: Index = {
    name: kc.name ?? constraintName(kc.kind === 'primaryKey' ? 'PK' : 'UQ', t.name),
    indexId: kc.clustered ? 1 : Math.max(1, ...t.indexes.map((i) => i.indexId)) + 1,
    unique: true,
    primaryKey: kc.kind === 'primaryKey',
    clustered: kc.clustered,
    uniqueConstraint: kc.kind === 'unique',
    keyColumns: cols,
    includeColumns: [],
    constraintObjectId: allocateObjectId(),
  };
  if (!isNew) checkNoDuplicates(t, ix);
  t.indexes.push(ix);
  if (ix.clustered) t.resetRecordOrder();
  else buildEntries(t, ix);
  return ix;
}

function buildEntries(t: Table, ix: Index): void {
  ix.entries = createIndexEntries(ix);
  for (const rec of t.records.all()) {
    const seen: SqlValue[][] = [];
    for (let v: RowVersion | null = rec; v; v = v.prev) {
      const key = indexKey(ix, t, v.values, rec);
      if (seen.some((k) => compareKeys(k, key) === 0)) continue;
      seen.push(key);
      ix.entries.insert({ key, record: rec });
    }
  }
}

function checkNoDuplicates(t: Table, ix: Index): void {
  const seen = new Map<string, true>();
  for (const rec of t.records.all()) {
    if (rec.deleted) continue;
    const key = ix.keyColumns.map((k) => rec.values[k.column.slot] ?? null);
    const id = key
      .map((v) => (v === null ? '\u0000' : valueToString(v, { name: 'nvarchar' }, 1).toUpperCase()))
      .join('\u0001');
    if (seen.has(id)) {
      const text = key
        .map((v, i) =>
          v === null
            ? 'NULL'
            : valueToString(v, (ix.keyColumns[i] as { column: Column }).column.type, Buffer.isBuffer(v) ? 1 : 0),
        )
        .join(', ');
      throw sqlError(1505, `${t.schema.name}.${t.name}`, ix.name, text);
    }
    seen.set(id, true);
  }
}

export function createTable(stmt: Statement & { kind: 'createTable' }, ddl: DdlContext): Table {
  const { db, schema, name } = ddl.resolveName(stmt.name);
  const sch = db.schema(schema);
  if (!sch) throw sqlError(2760, schema);
  if (sch.tables.has(norm(name))) throw sqlError(2714, name);
  const t = new TableClass(sch, name);
  for (const def of stmt.columns) t.columns.push(buildColumn(t, def, ddl));
  t.resetRecordOrder();
  const keys: KeyConstraint[] = [...stmt.constraints];
  for (const def of stmt.columns) {
    if (def.primaryKey)
      keys.unshift({
        kind: 'primaryKey',
        name: def.primaryKey.name,
        clustered: def.primaryKey.clustered,
        columns: [{ name: def.name, desc: false }],
      });
    if (def.unique)
      keys.push({
        kind: 'unique',
        name: def.unique.name,
        clustered: false,
        columns: [{ name: def.name, desc: false }],
      });
  }
  if (keys.filter((k) => k.kind === 'primaryKey').length > 1) throw sqlError(8110, name);
  for (const def of stmt.columns) if (def.primaryKey && def.nullable === true) throw sqlError(8111, name);
  for (const k of keys) addKey(t, k, true);
  sch.tables.set(norm(name), t);
  return t;
}

export function dropTables(stmt: Statement & { kind: 'dropTable' }, ddl: DdlContext): void {
  for (const parts of stmt.names) {
    const { db, schema, name } = ddl.resolveName(parts);
    const sch = db.schema(schema);
    const t = sch?.tables.get(norm(name));
    if (!t || !sch) {
      if (stmt.ifExists) continue;
      throw sqlError(3701, 'table', parts.join('.'));
    }
    sch.tables.delete(norm(name));
  }
}

export function truncateTable(stmt: Statement & { kind: 'truncateTable' }, ddl: DdlContext): Table {
  const { db, schema, name } = ddl.resolveName(stmt.name);
  const t = db.schema(schema)?.tables.get(norm(name));
  if (!t) throw sqlError(4701, stmt.name.join('.'));
  t.records = new OrderedIndex<RowRecord>(t.records.keyOf, t.records.desc);
  // The old rows' slabs go with them (a reader still pulling them keeps the old codec alive).
  t.invalidateCodec();
  for (const ix of t.indexes) if (ix.entries) ix.entries = createIndexEntries(ix);
  const idc = t.identityColumn;
  if (idc?.identity) {
    t.identityNext = undefined;
    t.identityLast = undefined;
  }
  return t;
}

export function createIndex(stmt: Statement & { kind: 'createIndex' }, ddl: DdlContext): void {
  const { db, schema, name } = ddl.resolveName(stmt.table);
  const t = db.schema(schema)?.tables.get(norm(name));
  if (!t) throw sqlError(208, stmt.table.join('.'));
  if (t.indexes.some((i) => norm(i.name) === norm(stmt.name))) throw sqlError(1913, stmt.name, t.name);
  if (stmt.clustered) {
    if (t.clustered) throw sqlError(1902, t.name, t.clustered.name);
    throw unsupported('CREATE CLUSTERED INDEX on a heap');
  }
  const keyColumns = stmt.columns.map((c) => {
    const col = t.column(c.name);
    if (!col) throw sqlError(1911, c.name);
    return { column: col, desc: c.desc };
  });
  const includeColumns = stmt.include.map((n) => {
    const col = t.column(n);
    if (!col) throw sqlError(1911, n);
    return col;
  });
  const ix: Index = {
    name: stmt.name,
    indexId: Math.max(1, ...t.indexes.map((i) => i.indexId)) + 1,
    unique: stmt.unique,
    primaryKey: false,
    clustered: false,
    uniqueConstraint: false,
    keyColumns,
    includeColumns,
  };
  if (ix.unique) checkNoDuplicates(t, ix);
  buildEntries(t, ix);
  t.indexes.push(ix);
}

export function dropIndex(stmt: Statement & { kind: 'dropIndex' }, ddl: DdlContext): void {
  const { db, schema, name } = ddl.resolveName(stmt.table);
  const t = db.schema(schema)?.tables.get(norm(name));
  const ix = t?.indexes.find((i) => norm(i.name) === norm(stmt.name));
  if (!t || !ix) {
    if (stmt.ifExists) return;
    throw sqlError(3701, 'index', `${stmt.table.join('.')}.${stmt.name}`);
  }
  if (ix.primaryKey || ix.uniqueConstraint)
    throw sqlError(3723, `${t.name}.${ix.name}`, ix.primaryKey ? 'PRIMARY KEY' : 'UNIQUE KEY');
  t.indexes.splice(t.indexes.indexOf(ix), 1);
}

function dependentIndex(t: Table, col: Column): Index | undefined {
  return t.indexes.find((ix) => ix.keyColumns.some((k) => k.column === col) || ix.includeColumns.includes(col));
}

/** Applies `f` to the values of every version of every row (ALTER TABLE rewrites). */
function rewriteRows(t: Table, f: (values: SqlValue[], rec: RowRecord) => void): void {
  for (const rec of t.records.all())
    for (let v: RowVersion | null = rec; v; v = v.prev) {
      const vals = v.values; // packed rows decode to a fresh array: assign it back
      f(vals, rec);
      v.values = vals;
    }
}

export function alterTable(stmt: Statement & { kind: 'alterTable' }, ddl: DdlContext): Table {
  const { db, schema, name } = ddl.resolveName(stmt.table);
  const t = db.schema(schema)?.tables.get(norm(name));
  if (!t) throw sqlError(4902, stmt.table.join('.'));
  const a = stmt.action;
  switch (a.kind) {
    case 'addColumns': {
      const hasRows = [...t.records.all()].some((r) => !r.deleted);
      for (const def of a.columns) {
        const col = buildColumn(t, def, ddl);
        if (!col.nullable && !col.default && !col.identity && !col.isRowversion && hasRows) {
          t.nextColumnId--;
          t.nextSlot--;
          throw sqlError(4901, col.name, t.name);
        }
        t.columns.push(col);
        if (col.default && !col.nullable) {
          const c = compile(col.default.expr, ddl.bc(new Scope()));
          col.missingValue = convertValue(c.eval([], ddl.evalCtx), c.type, col.type);
        }
        if (col.identity) {
          // Existing rows get identity values in clustered order, as SQL Server assigns them.
          for (const rec of t.records.all()) {
            const v = t.identityNext ?? col.identity.seed;
            t.identityNext = v + col.identity.increment;
            t.identityLast = v;
            for (let ver: RowVersion | null = rec; ver; ver = ver.prev) {
              const vals = ver.values;
              vals[col.slot] = v;
              ver.values = vals;
            }
          }
        }
        if (col.isRowversion) {
          for (const rec of t.records.all()) {
            db.dbts += 1n;
            const b = Buffer.alloc(8);
            b.writeBigUInt64BE(db.dbts);
            for (let ver: RowVersion | null = rec; ver; ver = ver.prev) {
              const vals = ver.values;
              vals[col.slot] = b;
              ver.values = vals;
            }
          }
        }
      }
      for (const k of a.constraints) addKey(t, k, false);
      break;
    }
    case 'alterColumn': {
      const col = t.column(a.column.name);
      if (!col) throw sqlError(4924, a.column.name, t.name);
      if (a.column.type.name === 'rowversion' || col.isRowversion)
        throw unsupported('ALTER COLUMN to or from rowversion');
      const ix = dependentIndex(t, col);
      const typeChanges = typeToString(col.type) !== typeToString(a.column.type);
      if (ix && typeChanges) {
        const e = sqlError(5074, 'index', ix.name, col.name);
        throw e;
      }
      const newNullable = a.column.nullable ?? true;
      if (col.identity && newNullable) throw sqlError(8111, t.name);
      // Convert every stored value first, so a failure leaves the table unchanged.
      const converted = new Map<SqlValue[], SqlValue>();
      rewriteRows(t, (values) => {
        const v = values[col.slot] ?? col.missingValue;
        if (v === null && !newNullable)
          throw sqlError(515, col.name, `${db.name}.${t.schema.name}.${t.name}`, 'UPDATE');
        const nv = convertValue(v, col.type, a.column.type);
        if (typeof nv === 'string' && typeof v === 'string' && nv.trimEnd().length < v.trimEnd().length)
          throw sqlError(2628, `${db.name}.${t.schema.name}.${t.name}`, col.name, nv);
        converted.set(values, nv);
      });
      for (const [values, nv] of converted) values[col.slot] = nv;
      col.missingValue = convertValue(col.missingValue, col.type, a.column.type);
      col.type = a.column.type;
      t.invalidateCodec();
      col.nullable = newNullable || (a.column.nullable === undefined && col.nullable);
      if (a.column.nullable === undefined) col.nullable = true;
      break;
    }
    case 'dropColumns': {
      for (const n of a.names) {
        const col = t.column(n);
        if (!col) throw sqlError(4924, n, t.name);
        const ix = dependentIndex(t, col);
        if (ix) throw sqlError(5074, ix.primaryKey ? 'object' : 'index', ix.name, col.name);
        if (col.default) throw sqlError(5074, 'object', col.default.name, col.name);
        if (t.columns.length === 1) throw sqlError(4923, col.name, t.name);
      }
      for (const n of a.names) {
        const col = t.column(n) as Column;
        t.columns.splice(t.columns.indexOf(col), 1);
        rewriteRows(t, (values) => {
          if (col.slot < values.length) values[col.slot] = null;
        });
      }
      break;
    }
    case 'dropConstraint': {
      for (const c of t.columns) {
        if (c.default && norm(c.default.name) === norm(a.name)) {
          c.default = undefined;
          return t;
        }
      }
      const ix = t.indexes.find((i) => (i.primaryKey || i.uniqueConstraint) && norm(i.name) === norm(a.name));
      if (!ix) throw sqlError(3728, a.name);
      t.indexes.splice(t.indexes.indexOf(ix), 1);
      if (ix.clustered) t.resetRecordOrder();
      break;
    }
    case 'raw':
      throw unsupported(`ALTER TABLE ${a.words.slice(0, 3).join(' ')}`);
  }
  t.modifyDate = new Date();
  return t;
}
