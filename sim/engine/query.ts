/**
 * SELECT: binding of FROM sources, access-path choice (index seeks from WHERE/ON predicates, including IN
 * lists, BETWEEN and keyset disjunctions `(a > @x) OR (a = @x AND b > @y)`), nested-loop joins, grouping and
 * aggregates, ordering (streamed when an index already delivers the order, so TOP/FETCH stop early), DISTINCT,
 * OFFSET/FETCH and TOP. Rows stream lazily to the caller; every storage read is counted in the statement's
 * accounting.
 */
import type { SqlType, SqlValue } from './api.js';
import type { CommonTableExpr, Expr, OrderItem, SelectItem, SelectStmt, TableRef } from './ast.js';
import {
  Scope,
  compile,
  exprKey,
  type BindContext,
  type ColumnInfo,
  type Compiled,
  type EvalCtx,
  type GroupBinding,
  type ScopeSource,
  type SubqueryPlan,
  type WindowBinding,
} from './binder.js';
import { coerce, combinedType, commonType } from './coercion.js';
import type { Column, Database, Index, IndexEntry, Table } from './catalog.js';
import type { TableAccess, StatementStats } from './accounting.js';
import { sqlError, unsupported } from './errors.js';
import { visibleVersion, type ReadView, type RowRecord, type RowVersion } from './mvcc.js';
import { compareKeys, type Bound } from './ordered-index.js';
import { indexKey } from './table-store.js';
import { isTemporal } from './types.js';
import { compareBinary, compareValues, convertValue, groupKey } from './values.js';
import type { SessionContext } from './session-context.js';

/** A virtual table (system view, table-valued function): columns plus a row producer. */
export interface VirtualTable {
  name: string;
  columns: ColumnInfo[];
  /**
   * `used[i]` false: no expression of the query reads column i, so the producer may leave it null (undefined:
   * every column is read).
   */
  rows(rt: Runtime, args: SqlValue[], used?: readonly boolean[]): Iterable<SqlValue[]>;
  /** The order `rows` delivers, by column index (an ORDER BY that matches it streams instead of sorting). */
  order?: { col: number; desc: boolean }[];
}

/** Per-statement runtime: evaluation context, read view, accounting, cancellation. */
export interface Runtime {
  ctx: EvalCtx;
  view: ReadView;
  stats: StatementStats;
  signal: AbortSignal;
  /** Called before the first read of a database's user table (SNAPSHOT checks, 3952). */
  onDataAccess(db: Database): void;
}

/** Name resolution services the planner needs from the session/engine. */
export interface Resolver {
  session: SessionContext;
  /** A user table by multi-part name, or undefined. */
  table(parts: string[]): Table | undefined;
  /** A system view or simulator view by multi-part name. */
  virtualTable(parts: string[]): VirtualTable | undefined;
  /** A table-valued function (part 2: cdc.fn_cdc_get_all_changes_…, CHANGETABLE). */
  tableFunction(parts: string[], ref: TableRef & { kind: 'function' }, bc: BindContext): VirtualTable | undefined;
  varTypes: Map<string, SqlType>;
  /** Raises 229 when the session may not perform `action` on the table (the permission hook; part 2 extends it). */
  authorize(table: Table, action: Permission): void;
}

export type Permission = 'SELECT' | 'INSERT' | 'UPDATE' | 'DELETE';

export interface SelectPlan {
  columns: ColumnInfo[];
  /** Produces the result rows; `outer` holds enclosing rows for correlated subqueries. */
  run(rt: Runtime, outer?: SqlValue[][]): Iterable<SqlValue[]>;
  /** SELECT @v = …: the variables assigned by each item (no result set). */
  assignments?: string[];
  /**
   * The order the result rows come in, by output column, when it is known: the only source's delivered order,
   * as far as its columns are selected plainly (no grouping, DISTINCT, window or sort in between). A derived
   * table over the select delivers it too, so a GROUP BY or ORDER BY over the derived table streams.
   */
  order?: { col: number; desc: boolean }[];
}

// ---------------------------------------------------------------------------------------------
// Sources

interface SourceSpec {
  binding: ScopeSource;
  /** Rows of this source for the current prefix row (earlier sources filled in). */
  open(rt: Runtime, prefix: SqlValue[], outer: SqlValue[][]): Iterable<SqlValue[]>;
  /** Index order the rows come in (for ORDER BY elision), by source column index. */
  order?: { col: number; desc: boolean }[];
  table?: Table;
  /**
   * Set by planSelect once every expression of the statement is bound: the source then produces only the
   * columns its binding's `used` marks (the others null), so a row's other columns are not decoded to read its
   * key, count it or skip it. Other users of a source (UPDATE/DELETE … FROM) leave it unset and get every column.
   */
  pruned?: boolean;
  /**
   * Called with `pruned` once every expression of the statement is bound: a derived table then re-plans its
   * select without the columns nobody reads (see prunedSelect), so its own sources do not decode them either.
   */
  prune?(): void;
}

interface JoinNode {
  source: SourceSpec;
  type: 'inner' | 'left' | 'cross' | 'first';
  on?: Compiled;
}

export function tableColumns(t: Table): ColumnInfo[] {
  return t.columns.map((c) => ({
    name: c.name,
    type: c.type,
    nullable: c.nullable,
    identity: !!c.identity,
    isRowversion: c.isRowversion,
  }));
}

function rowOf(values: SqlValue[], cols: Column[]): SqlValue[] {
  const out = new Array<SqlValue>(cols.length);
  for (let i = 0; i < cols.length; i++) {
    const c = cols[i] as Column;
    const v = values[c.slot];
    out[i] = v === undefined ? c.missingValue : v;
  }
  return out;
}

/** A sargable predicate on one column of the source being planned. */
interface ColumnPred {
  col: number;
  op: '=' | '<' | '>' | '<=' | '>=' | 'in';
  values: Compiled[];
}

interface KeysetPred {
  cols: number[];
  op: '>' | '>=' | '<' | '<=';
  values: Compiled[];
}

function flattenAnd(e: Expr | undefined, out: Expr[] = []): Expr[] {
  if (!e) return out;
  if (e.kind === 'and') {
    flattenAnd(e.left, out);
    flattenAnd(e.right, out);
  } else out.push(e);
  return out;
}

function flattenOr(e: Expr, out: Expr[] = []): Expr[] {
  if (e.kind === 'or') {
    flattenOr(e.left, out);
    flattenOr(e.right, out);
  } else out.push(e);
  return out;
}

const FLIP: Record<string, '=' | '<' | '>' | '<=' | '>='> = { '=': '=', '<': '>', '>': '<', '<=': '>=', '>=': '<=' };

/**
 * Extracts sargable predicates on `src` from conjuncts. A value side qualifies when it binds in `valueScope`
 * (only sources before this one, plus enclosing queries), so it is known before this source is read.
 */
function sargs(
  conjuncts: Expr[],
  bc: BindContext,
  src: ScopeSource,
  valueBc: BindContext,
): { preds: ColumnPred[]; keysets: KeysetPred[] } {
  const preds: ColumnPred[] = [];
  const keysets: KeysetPred[] = [];
  const colOf = (e: Expr): number | undefined => {
    if (e.kind !== 'column') return undefined;
    try {
      const c = compile(e, bc);
      return c.column && c.column.source === src ? c.column.index : undefined;
    } catch {
      return undefined;
    }
  };
  const valueOf = (e: Expr): Compiled | undefined => {
    if (e.kind === 'column' && colOf(e) !== undefined) return undefined;
    try {
      const c = compile(e, valueBc);
      return c.constant || valueBc.scope.sources.length > 0 ? c : undefined;
    } catch {
      return undefined;
    }
  };
  const simple = (e: Expr): { col: number; op: '=' | '<' | '>' | '<=' | '>='; value: Compiled } | undefined => {
    if (e.kind !== 'compare' || e.op === '<>') return undefined;
    let col = colOf(e.left);
    if (col !== undefined) {
      const value = valueOf(e.right);
      return value ? { col, op: e.op, value } : undefined;
    }
    col = colOf(e.right);
    if (col !== undefined) {
      const value = valueOf(e.left);
      return value ? { col, op: FLIP[e.op] as '=', value } : undefined;
    }
    return undefined;
  };
  for (const c of conjuncts) {
    const s = simple(c);
    if (s) {
      preds.push({ col: s.col, op: s.op, values: [s.value] });
      continue;
    }
    if (c.kind === 'between' && !c.negated) {
      const col = colOf(c.operand);
      const lo = col !== undefined ? valueOf(c.low) : undefined;
      const hi = col !== undefined ? valueOf(c.high) : undefined;
      if (col !== undefined && lo && hi) {
        preds.push({ col, op: '>=', values: [lo] });
        preds.push({ col, op: '<=', values: [hi] });
      }
      continue;
    }
    if (c.kind === 'in' && !c.negated && c.list) {
      const col = colOf(c.operand);
      if (col === undefined) continue;
      const vals = c.list.map(valueOf);
      if (vals.every((v) => v !== undefined)) preds.push({ col, op: 'in', values: vals });
      continue;
    }
    if (c.kind === 'or') {
      // Keyset disjunction: (c1 > v1) OR (c1 = v1 AND c2 > v2) OR … → (c1, c2, …) > (v1, v2, …)
      const terms = flattenOr(c).map((t) => flattenAnd(t).map(simple));
      if (terms.some((t) => t.some((x) => x === undefined))) continue;
      const ts = terms as { col: number; op: string; value: Compiled }[][];
      ts.sort((a, b) => a.length - b.length);
      const last = ts[ts.length - 1] as { col: number; op: string; value: Compiled }[];
      const n = last.length;
      if (ts.length !== n) continue;
      const cols: number[] = [];
      const values: Compiled[] = [];
      let op: string | undefined;
      let ok = true;
      for (let k = 0; k < n && ok; k++) {
        const term = ts[k] as { col: number; op: string; value: Compiled }[];
        if (term.length !== k + 1) ok = false;
        const strictTerm = term.find((x) => x.op !== '=');
        if (!strictTerm) {
          ok = false;
          break;
        }
        cols.push(strictTerm.col);
        values.push(strictTerm.value);
        const eqs = term.filter((x) => x !== strictTerm);
        if (eqs.length !== k || eqs.some((x, i) => x.col !== cols[i])) ok = false;
        const o = strictTerm.op;
        if (k < n - 1 && o !== '>' && o !== '<') ok = false;
        if (op && (op === '>' || op === '>=') !== (o === '>' || o === '>=')) ok = false;
        op = o;
      }
      if (ok && op) keysets.push({ cols, op: op as '>', values });
    }
  }
  return { preds, keysets };
}

/** Converts a bound value to the column's type family so index comparison is exact. */
function boundValue(v: SqlValue, from: SqlType, col: SqlType): { value: SqlValue; lossy: boolean } {
  if (v === null) return { value: null, lossy: false };
  const fromNum = [
    'bit',
    'tinyint',
    'smallint',
    'int',
    'bigint',
    'decimal',
    'numeric',
    'money',
    'smallmoney',
    'float',
    'real',
  ];
  if (fromNum.includes(from.name) && fromNum.includes(col.name)) return { value: v, lossy: false };
  if (typeof v === 'string' && ['char', 'varchar', 'nchar', 'nvarchar'].includes(col.name))
    return { value: v, lossy: false };
  if (Buffer.isBuffer(v) && ['binary', 'varbinary', 'rowversion'].includes(col.name)) return { value: v, lossy: false };
  const target: SqlType =
    isTemporal(col) && col.name !== 'date' && col.name !== 'time' && col.name !== 'datetimeoffset'
      ? { name: 'datetime2', scale: 7 }
      : col;
  const value = convertValue(v, from, target);
  let lossy = false;
  try {
    const back = convertValue(value, target, from);
    lossy = back === null || compareValues(back, v) !== 0;
  } catch {
    lossy = true;
  }
  return { value, lossy };
}

interface AccessChoice {
  index: Index | undefined;
  kind: 'seek' | 'scan';
  /** Computes the key ranges for the current prefix row; null = impossible (a NULL bound). */
  ranges(rt: Runtime, prefix: SqlValue[]): { lower?: Bound; upper?: Bound }[] | null;
  reverse: boolean;
  order: { col: number; desc: boolean }[];
}

/** Chooses the index and key ranges for `table` from the sargable predicates. */
function chooseAccess(
  table: Table,
  src: ScopeSource,
  preds: ColumnPred[],
  keysets: KeysetPred[],
  wantOrder: OrderItem[] | undefined,
  bc: BindContext,
): AccessChoice {
  const colIndex = (c: Column): number => table.columns.indexOf(c);
  const candidates: Index[] = table.indexes.filter((ix) => ix.clustered || ix.entries);
  let best: { ix: Index | undefined; score: number; eq: ColumnPred[]; range: ColumnPred[]; keyset?: KeysetPred } = {
    ix: table.clustered,
    score: 0,
    eq: [],
    range: [],
  };
  for (const ix of candidates) {
    const eq: ColumnPred[] = [];
    let range: ColumnPred[] = [];
    let keyset: KeysetPred | undefined;
    let score = 0;
    for (const kc of ix.keyColumns) {
      const ci = colIndex(kc.column);
      const e = preds.find((p) => p.col === ci && (p.op === '=' || p.op === 'in'));
      if (e && (e.op === '=' || eq.every((x) => x.op === '='))) {
        eq.push(e);
        score += e.op === '=' ? 100 : 50;
        continue;
      }
      const r = preds.filter((p) => p.col === ci && p.op !== '=' && p.op !== 'in');
      if (r.length) {
        range = r;
        score += 10 * Math.min(2, r.length);
      }
      const remaining = ix.keyColumns.slice(eq.length).map((k) => colIndex(k.column));
      for (const ks of keysets) {
        if (
          ks.cols.length <= remaining.length &&
          ks.cols.every((c, i) => c === remaining[i]) &&
          eq.every((x) => x.op === '=')
        ) {
          const s = 10 + ks.cols.length * 5;
          if (!keyset || s > 10 + keyset.cols.length * 5) keyset = ks;
        }
      }
      if (keyset && range.length === 0) score += 10 + keyset.cols.length * 5;
      break;
    }
    if (score > best.score || (score === best.score && score > 0 && ix.clustered))
      best = {
        ix,
        score,
        eq,
        range: keyset && range.length === 0 ? [] : range,
        keyset: range.length === 0 ? keyset : undefined,
      };
  }
  // With no usable predicate, an index that delivers the ORDER BY lets TOP stop early.
  if (best.score === 0 && wantOrder && wantOrder.length) {
    for (const ix of candidates) {
      if (orderMatch(ix, 0, wantOrder, table, src, bc) !== undefined) {
        best = { ix, score: 0, eq: [], range: [] };
        break;
      }
    }
  }
  const ix = best.ix;
  const keyCols = ix ? ix.keyColumns : [];
  const eq = best.eq;
  const range = best.range;
  const keyset = best.keyset;
  const colTypes = table.columns.map((c) => c.type);
  const reverse =
    wantOrder && ix
      ? orderMatch(ix, eq.filter((e) => e.op === '=').length, wantOrder, table, src, bc) === 'reverse'
      : false;
  const order = ix ? keyCols.map((k) => ({ col: colIndex(k.column), desc: k.desc !== reverse })) : [];
  const kind: 'seek' | 'scan' = best.score > 0 ? 'seek' : 'scan';
  return {
    index: ix,
    kind,
    reverse,
    order: eq.every((e) => e.op === '=') ? order : [],
    ranges(rt, prefix) {
      if (kind === 'scan') return [{}];
      // Equality prefixes (an IN list multiplies them, in key order so the index order survives).
      let prefixes: SqlValue[][] = [[]];
      for (const p of eq) {
        const colType = colTypes[p.col] as SqlType;
        const vals: SqlValue[] = [];
        for (const v of p.values) {
          const raw = v.eval(prefix, rt.ctx);
          if (raw === null) continue;
          const b = boundValue(raw, v.type, colType);
          if (b.lossy)
            return [{}].map(() => ({
              lower: prefixes.length === 1 && prefixes[0]?.length === 0 ? undefined : undefined,
            }));
          vals.push(b.value);
        }
        if (vals.length === 0) return null;
        vals.sort((a, b) => compareValues(a, b));
        const uniq = vals.filter((v, i) => i === 0 || compareValues(v, vals[i - 1] as SqlValue) !== 0);
        if (keyCols[prefixes[0]?.length ?? 0]?.desc) uniq.reverse();
        prefixes = prefixes.flatMap((pre) => uniq.map((u) => [...pre, u]));
      }
      const out: { lower?: Bound; upper?: Bound }[] = [];
      for (const pre of prefixes) {
        let lower: Bound | undefined = pre.length ? { key: pre, inclusive: true } : undefined;
        let upper: Bound | undefined = pre.length ? { key: pre, inclusive: true } : undefined;
        const nextCol = keyCols[pre.length];
        const desc = nextCol?.desc ?? false;
        if (range.length && nextCol) {
          for (const r of range) {
            const raw = (r.values[0] as Compiled).eval(prefix, rt.ctx);
            if (raw === null) return null;
            const b = boundValue(raw, (r.values[0] as Compiled).type, colTypes[r.col] as SqlType);
            const inclusive = r.op === '<=' || r.op === '>=' || b.lossy;
            const isLower = (r.op === '>' || r.op === '>=') !== desc;
            const bound: Bound = { key: [...pre, b.value], inclusive };
            if (isLower) {
              if (
                !lower ||
                lower.key.length <= pre.length ||
                compareKeys(
                  bound.key,
                  lower.key,
                  ix?.keyColumns.map((k) => k.desc),
                ) > 0
              )
                lower = bound;
            } else if (
              !upper ||
              upper.key.length <= pre.length ||
              compareKeys(
                bound.key,
                upper.key,
                ix?.keyColumns.map((k) => k.desc),
              ) < 0
            )
              upper = bound;
          }
        } else if (keyset) {
          const vals: SqlValue[] = [];
          let lossy = false;
          for (let i = 0; i < keyset.cols.length; i++) {
            const c = keyset.values[i] as Compiled;
            const raw = c.eval(prefix, rt.ctx);
            if (raw === null) {
              lossy = true;
              break;
            }
            const b = boundValue(raw, c.type, colTypes[keyset.cols[i] as number] as SqlType);
            if (b.lossy) lossy = true;
            vals.push(b.value);
          }
          if (!lossy || vals.length > 0) {
            const useVals = lossy ? vals.slice(0, 1) : vals;
            const isLower = (keyset.op === '>' || keyset.op === '>=') !== desc;
            const bound: Bound = {
              key: [...pre, ...useVals],
              inclusive: lossy || keyset.op === '>=' || keyset.op === '<=',
            };
            if (isLower) lower = bound;
            else upper = bound;
          }
        }
        out.push({ lower, upper });
      }
      return reverse ? out.reverse() : out;
    },
  };
}

/** Whether ORDER BY equals the index key order after `skip` equality columns: 'forward', 'reverse' or undefined. */
function orderMatch(
  ix: Index,
  skip: number,
  order: OrderItem[],
  table: Table,
  src: ScopeSource,
  bc: BindContext,
): 'forward' | 'reverse' | undefined {
  const keys = ix.keyColumns.slice(skip);
  if (order.length > keys.length) {
    // Trailing ORDER BY columns beyond the key are fine only if the key is unique (then the order is total).
    if (!ix.unique) return undefined;
  }
  let dir: 'forward' | 'reverse' | undefined;
  for (let i = 0; i < Math.min(order.length, keys.length); i++) {
    const o = order[i] as OrderItem;
    if (o.expr.kind !== 'column') return undefined;
    let c: Compiled;
    try {
      c = compile(o.expr, bc);
    } catch {
      return undefined;
    }
    if (!c.column || c.column.source !== src) return undefined;
    const k = keys[i];
    if (!k || table.columns[c.column.index] !== k.column) return undefined;
    const d = o.desc === k.desc ? 'forward' : 'reverse';
    if (dir && dir !== d) return undefined;
    dir = d;
  }
  return dir;
}

/**
 * A visible version's row with only the `used` columns (the others null). A packed newest version decodes just
 * those slots; other versions hold their values unpacked already.
 */
function usedRowOf(rec: RowRecord, v: RowVersion, cols: Column[], used: readonly number[]): SqlValue[] {
  if (v !== rec || !rec.isPacked) return rowOf(v.values, cols);
  const out = new Array<SqlValue>(cols.length).fill(null);
  for (const i of used) {
    const c = cols[i] as Column;
    const x = rec.slotValue(c.slot);
    out[i] = x === undefined ? c.missingValue : x;
  }
  return out;
}

/** `indexKey` of a visible version, reading only the key slots of a packed newest version. */
function indexKeyOf(ix: Index, table: Table, rec: RowRecord, v: RowVersion): SqlValue[] {
  if (v !== rec || !rec.isPacked) return indexKey(ix, table, v.values, rec);
  const key = ix.keyColumns.map((k) => rec.slot(k.column.slot));
  const cl = table.clustered;
  if (cl) for (const k of cl.keyColumns) key.push(rec.slot(k.column.slot));
  else key.push(rec.rid);
  return key;
}

/**
 * Iterates the visible rows of a table through the chosen access path, counting reads. With `used`, only those
 * columns are read (see SourceSpec.pruned).
 */
function* scanTable(
  table: Table,
  access: AccessChoice,
  rt: Runtime,
  prefix: SqlValue[],
  acct: TableAccess,
  used?: readonly boolean[],
): Generator<SqlValue[]> {
  const ranges = access.ranges(rt, prefix);
  if (!ranges) return;
  const view = rt.view;
  const cols = table.columns;
  const ix = access.index;
  // Every column read (SELECT *, the chunk read): one decode of the whole row is cheaper than one per column.
  const some = used && used.some((u) => !u) ? used.flatMap((u, i) => (u ? [i] : [])) : undefined;
  for (const r of ranges) {
    if (!ix || ix.clustered) {
      for (const rec of table.records.range(r.lower, r.upper, access.reverse)) {
        acct.rowsRead++;
        if (rt.signal.aborted) return;
        const v = visibleVersion(rec, view);
        if (!v || v.deleted) continue;
        yield some ? usedRowOf(rec, v, cols, some) : rowOf(v.values, cols);
      }
    } else {
      const entries = ix.entries;
      if (!entries) continue;
      for (const e of entries.range(r.lower, r.upper, access.reverse) as Iterable<IndexEntry>) {
        acct.rowsRead++;
        if (rt.signal.aborted) return;
        const rec: RowRecord = e.record;
        const v = visibleVersion(rec, view);
        if (!v || v.deleted) continue;
        // Stale entry: the visible version is filed under another key.
        if (some) {
          if (compareKeys(indexKeyOf(ix, table, rec, v), e.key) !== 0) continue;
          yield usedRowOf(rec, v, cols, some);
          continue;
        }
        const values = v.values;
        if (compareKeys(indexKey(ix, table, values, rec), e.key) !== 0) continue;
        yield rowOf(values, cols);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Planning

export interface PlanOptions {
  /** Enclosing scope for correlated subqueries. */
  outerScope?: Scope;
}

export class QueryPlanner {
  /** Common table expressions in scope (by lower-case name) while planning a statement that defines them. */
  private ctes = new Map<string, CommonTableExpr>();

  constructor(private readonly resolver: Resolver) {}

  private bindContext(scope: Scope): BindContext {
    return {
      scope,
      varTypes: this.resolver.varTypes,
      session: this.resolver.session,
      subquery: (select, sc) => this.subquery(select, sc),
    };
  }

  private subquery(select: SelectStmt, scope: Scope): SubqueryPlan {
    const plan = this.planSelect(select, { outerScope: scope });
    return {
      columns: plan.columns,
      run: (ctx, outerRow) => {
        const rt = ctx.runtime as Runtime | undefined;
        if (!rt) throw new Error('subquery outside a statement');
        const inner: Runtime = { ...rt, ctx: { ...ctx, outer: [...ctx.outer, outerRow] } };
        inner.ctx.runtime = inner;
        return plan.run(inner, inner.ctx.outer);
      },
    };
  }

  /** Binds a table reference for UPDATE/DELETE targets and INSERT…SELECT. */
  resolveTable(parts: string[], action: Permission = 'SELECT'): Table {
    const t = this.resolver.table(parts);
    if (!t) throw sqlError(208, parts.join('.'));
    this.resolver.authorize(t, action);
    return t;
  }

  /**
   * Plans a table scan with the given predicate for DML targets: returns the candidate rows' records lazily
   * under the given view (the caller locks and re-checks each).
   */
  planTargetScan(
    table: Table,
    alias: string | undefined,
    where: Expr | undefined,
  ): { scope: Scope; filter: Compiled | undefined; candidates(rt: Runtime): Generator<RowRecord> } {
    const scope = new Scope();
    const src = scope.add(
      alias ?? table.name,
      [[table.schema.name, table.name], [table.database.name, table.schema.name, table.name], [table.name]],
      tableColumns(table),
    );
    const bc = this.bindContext(scope);
    const filter = where ? compile(where, { ...bc, noAggregates: true }) : undefined;
    const { preds, keysets } = sargs(flattenAnd(where), bc, src, this.bindContext(new Scope()));
    const access = chooseAccess(table, src, preds, keysets, undefined, bc);
    return {
      scope,
      filter,
      candidates: function* (rt: Runtime) {
        const acct = newAccess(rt, table, access);
        const ranges = access.ranges(rt, []);
        if (!ranges) return;
        const ix = access.index;
        const seen = new Set<RowRecord>();
        for (const r of ranges) {
          const it: Iterable<RowRecord> =
            !ix || ix.clustered
              ? table.records.range(r.lower, r.upper)
              : mapEntries(ix.entries?.range(r.lower, r.upper) ?? []);
          for (const rec of it) {
            acct.rowsRead++;
            if (seen.has(rec)) continue;
            seen.add(rec);
            yield rec;
          }
        }
      },
    };
  }

  /** Binds FROM (with access paths chosen from WHERE/ON) and WHERE: the part SELECT and UPDATE/DELETE … FROM share. */
  private planFrom(from: TableRef[], whereExpr: Expr | undefined, orderBy: OrderItem[] | undefined, opts: PlanOptions) {
    const scope = new Scope(opts.outerScope);
    const joins: JoinNode[] = [];
    const whereConjuncts = flattenAnd(whereExpr);
    const addRef = (ref: TableRef, type: JoinNode['type'], on?: Expr): void => {
      if (ref.kind === 'join') {
        if (ref.type === 'right' || ref.type === 'full') throw unsupported(`${ref.type.toUpperCase()} OUTER JOIN`);
        addRef(ref.left, type);
        addRef(ref.right, ref.type, ref.on);
        return;
      }
      const prior = new Scope(opts.outerScope);
      for (const src of scope.sources) prior.add(src.alias, src.qualifiers, src.columns);
      const node = this.source(
        ref,
        scope,
        prior,
        type === 'first' || type === 'inner' || type === 'cross'
          ? [...whereConjuncts, ...flattenAnd(on)]
          : flattenAnd(on),
        joins.length === 0 ? orderBy : undefined,
      );
      joins.push({ source: node, type, on: undefined });
      const j = joins[joins.length - 1] as JoinNode;
      if (on) j.on = compile(on, { ...this.bindContext(scope), noAggregates: true });
    };
    from.forEach((ref, i) => addRef(ref, i === 0 ? 'first' : 'cross'));
    const bc = this.bindContext(scope);
    const where = whereExpr ? compile(whereExpr, { ...bc, noAggregates: true }) : undefined;
    if (where && !isBoolean(whereExpr as Expr)) throw sqlError(4145, 'WHERE');
    return { scope, joins, where, bc };
  }

  /**
   * UPDATE/DELETE … FROM: the joined rows that pass WHERE, each with the target table's record (looked up by its
   * clustered key) — the first joined row per target row wins, as SQL Server documents for multiple matches.
   */
  planJoinedTarget(
    target: string[],
    from: TableRef[],
    whereExpr: Expr | undefined,
  ): { scope: Scope; table: Table; source: ScopeSource; rows(rt: Runtime): { record: RowRecord; row: SqlValue[] }[] } {
    const { scope, joins, where } = this.planFrom(from, whereExpr, undefined, {});
    const last = (target[target.length - 1] ?? '').toLowerCase();
    const matches = joins.filter(
      (j) =>
        j.source.table && (j.source.binding.alias.toLowerCase() === last || j.source.table.name.toLowerCase() === last),
    );
    if (matches.length !== 1) throw sqlError(matches.length ? 8154 : 208, target.join('.'));
    const node = matches[0] as JoinNode;
    const table = node.source.table as Table;
    const cl = table.clustered;
    if (!cl) throw unsupported('UPDATE/DELETE … FROM on a table without a clustered primary key');
    const src = node.source.binding;
    const keyIdx = cl.keyColumns.map((k) => table.columns.indexOf(k.column));
    return {
      scope,
      table,
      source: src,
      rows: (rt) => {
        const out: { record: RowRecord; row: SqlValue[] }[] = [];
        const seen = new Set<RowRecord>();
        let rows: Iterable<SqlValue[]> = joinRows(joins, rt, scope.width, []);
        if (where) rows = filterRows(rows, where, rt.ctx);
        for (const row of rows) {
          const key = keyIdx.map((i) => row[src.offset + i] ?? null);
          const record = table.records.first(key);
          if (!record || seen.has(record)) continue;
          seen.add(record);
          out.push({ record, row: row.slice() });
        }
        return out;
      },
    };
  }

  planSelect(s: SelectStmt, opts: PlanOptions = {}): SelectPlan {
    if (s.ctes?.length) {
      const saved = this.ctes;
      this.ctes = new Map(saved);
      try {
        const names = new Set<string>();
        for (const c of s.ctes) {
          if (names.has(c.name.toLowerCase())) throw sqlError(239, c.name);
          names.add(c.name.toLowerCase());
          if (referencesName(c.select, c.name)) throw unsupported('recursive common table expressions');
          this.ctes.set(c.name.toLowerCase(), c);
        }
        return this.planSelect({ ...s, ctes: undefined }, opts);
      } finally {
        this.ctes = saved;
      }
    }
    if (s.into) throw unsupported('SELECT INTO in a subquery');
    if (s.unionAll && s.unionAll.length) return this.planUnion(s, opts);
    if (s.top?.percent) throw unsupported('TOP PERCENT');
    if (s.top?.withTies) throw unsupported('TOP WITH TIES');
    const { scope, joins, where, bc } = this.planFrom(s.from, s.where, s.orderBy, opts);

    // Grouping
    const hasAgg =
      s.items.some((it) => containsAggregate(it.expr)) ||
      s.having !== undefined ||
      s.orderBy.some((o) => containsAggregate(o.expr));
    const grouped = s.groupBy.length > 0 || hasAgg;
    let group: GroupBinding | undefined;
    if (grouped) {
      group = {
        keys: s.groupBy.map((g) => ({ ast: exprKey(g), compiled: compile(g, { ...bc, noAggregates: true }) })),
        aggs: [],
      };
    }
    const windows: WindowBinding = { base: 0, defs: [] };
    const outBc: BindContext = group ? { ...bc, group, windows } : { ...bc, windows };

    // Projection
    const items: { compiled: Compiled; name: string; assign?: string; key?: string }[] = [];
    for (const it of s.items) {
      if (it.expr.kind === 'star') {
        if (group) throw sqlError(8120, '*');
        const q = it.expr.qualifier;
        const sources = q
          ? scope.sources.filter(
              (src) =>
                src.alias.toLowerCase() === (q[q.length - 1] ?? '').toLowerCase() ||
                src.qualifiers.some((x) => x.join('.').toLowerCase() === q.join('.').toLowerCase()),
            )
          : scope.sources;
        if (q && sources.length === 0) throw sqlError(4104, q.join('.'));
        if (!q && scope.sources.length === 0) throw sqlError(263);
        for (const src of sources) {
          src.used?.fill(true);
          src.columns.forEach((c, i) => {
            const pos = src.offset + i;
            items.push({
              compiled: { type: c.type, nullable: c.nullable, constant: false, eval: (row) => row[pos] ?? null },
              name: c.name,
            });
          });
        }
        continue;
      }
      const compiled = compile(it.expr, outBc);
      items.push({
        compiled,
        name:
          it.alias ??
          compiled.name ??
          (it.expr.kind === 'column' ? (it.expr.parts[it.expr.parts.length - 1] ?? '') : ''),
        assign: it.assignTo,
        key: exprKey(it.expr),
      });
    }
    const assigning = items.filter((i) => i.assign).length;
    if (assigning && assigning !== items.length) throw sqlError(141);
    const having = s.having ? compile(s.having, { ...outBc, windows: undefined }) : undefined;

    // ORDER BY: aliases, ordinals, or expressions (hidden columns).
    const orderSlots: { slot: number; desc: boolean }[] = [];
    const hidden: Compiled[] = [];
    for (const o of s.orderBy) {
      let slot = -1;
      if (o.expr.kind === 'column' && o.expr.parts.length === 1) {
        const name = (o.expr.parts[0] ?? '').toLowerCase();
        const aliasHits = s.items
          .map((it, i) => (it.alias && it.alias.toLowerCase() === name ? i : -1))
          .filter((i) => i >= 0);
        if (aliasHits.length) slot = aliasHits[0] as number;
      }
      if (slot < 0 && o.expr.kind === 'literal' && typeof o.expr.value === 'bigint') {
        const n = Number(o.expr.value);
        if (n < 1 || n > items.length) throw sqlError(108, n);
        slot = n - 1;
      }
      if (slot < 0) {
        const c = compile(o.expr, outBc);
        const okey = exprKey(o.expr);
        const same = items.findIndex(
          (it) =>
            it.key === okey ||
            (c.column !== undefined &&
              it.compiled.column?.source === c.column.source &&
              it.compiled.column.index === c.column.index),
        );
        if (same >= 0) slot = same;
        else {
          hidden.push(c);
          slot = items.length + hidden.length - 1;
        }
      }
      orderSlots.push({ slot, desc: o.desc });
    }
    if (s.distinct && hidden.length) throw sqlError(145);
    windows.base = group ? group.keys.length + group.aggs.length : scope.width;

    const first = joins[0];
    // GROUP BY on columns that lead the source's delivered order (e.g. `GROUP BY __$start_lsn` over a CDC function,
    // or a clustered key's first columns): each group's rows arrive together, so groups stream out one by one in
    // that order — no table of every group, and an ORDER BY on those columns needs no sort, so TOP stops early.
    const streamedGroups = group && first ? groupsInOrder(group, joins) : 0;
    // The ORDER BY is the source's delivered order (a prefix of it, same directions): rows need no sort.
    const orderIsSources = (): boolean =>
      s.orderBy.every((o, i) => {
        const c = o.expr.kind === 'column' ? compileOrUndefined(o.expr, bc) : undefined;
        const want = first?.source.order?.[i];
        return (
          !!want && c?.column?.source === first?.source.binding && c.column.index === want.col && want.desc === o.desc
        );
      });
    const orderDelivered =
      !s.distinct &&
      joins.length === 1 &&
      s.orderBy.length > 0 &&
      (grouped
        ? windows.defs.length === 0 && s.orderBy.length <= streamedGroups
        : s.orderBy.length <= (first?.source.order?.length ?? 0)) &&
      orderIsSources();
    const needSort = s.orderBy.length > 0 && !orderDelivered;

    const top = s.top ? compile(s.top.count, this.bindContext(new Scope(opts.outerScope))) : undefined;
    const offset = s.offset ? compile(s.offset, this.bindContext(new Scope(opts.outerScope))) : undefined;
    const fetch = s.fetch ? compile(s.fetch, this.bindContext(new Scope(opts.outerScope))) : undefined;

    const columns: ColumnInfo[] = items.map((it) => ({
      name: it.name,
      type: it.compiled.type,
      nullable: it.compiled.nullable,
    }));
    const width = scope.width;
    // Every expression of the statement (subqueries included) is bound: each source knows which columns it must read.
    for (const j of joins) {
      j.source.pruned = true;
      j.source.prune?.();
    }

    const run = function* (rt: Runtime, outer: SqlValue[][] = []): Generator<SqlValue[]> {
      const ctx: EvalCtx = outer === rt.ctx.outer ? rt.ctx : { ...rt.ctx, outer };
      const rtx: Runtime = ctx === rt.ctx ? rt : { ...rt, ctx };
      if (ctx !== rt.ctx) ctx.runtime = rtx;
      {
        // 1. joined, filtered rows
        let rows: Iterable<SqlValue[]> = joins.length === 0 ? [[]] : joinRows(joins, rtx, width, outer);
        if (where) rows = filterRows(rows, where, ctx);
        // 2. grouping
        if (group)
          rows =
            s.groupBy.length === 0 || streamedGroups > 0
              ? streamGroups(rows, group, ctx, s.groupBy.length === 0)
              : groupRows(rows, group, ctx);
        if (having) rows = filterRows(rows, having, ctx);
        if (windows.defs.length) rows = applyWindows([...rows], windows, ctx);
        // 3. projection (+ hidden order keys)
        const proj: Iterable<SqlValue[]> = project(rows, items.map((i) => i.compiled).concat(hidden), ctx);
        let out: Iterable<SqlValue[]> = proj;
        if (s.distinct) out = distinct(out);
        if (needSort) out = sortRows(out, orderSlots);
        // 4. offset / fetch / top
        let skip = 0;
        let limit = Infinity;
        if (offset) {
          const o = offset.eval([], ctx);
          const n = o === null ? 0 : Number(convertValue(o, offset.type, { name: 'bigint' }));
          if (n < 0) throw sqlError(10742);
          skip = n;
        }
        if (fetch) {
          const f = fetch.eval([], ctx);
          const n = f === null ? 0 : Number(convertValue(f, fetch.type, { name: 'bigint' }));
          if (n <= 0) throw sqlError(10744);
          limit = n;
        }
        if (top) {
          const t = top.eval([], ctx);
          const n = t === null ? 0 : Number(convertValue(t, top.type, { name: 'bigint' }));
          if (n < 0) throw sqlError(1060);
          limit = Math.min(limit, n);
        }
        if (limit === 0) return;
        let produced = 0;
        for (const r of out) {
          if (skip > 0) {
            skip--;
            continue;
          }
          yield hidden.length ? r.slice(0, items.length) : r;
          if (++produced >= limit) return;
        }
      }
    };
    const plan: SelectPlan = { columns, run: (rt, outer) => run(rt, outer) };
    if (assigning) plan.assignments = items.map((i) => i.assign as string);
    // Filters, a projection and TOP keep the source's order (SQL Server's plan over `SELECT TOP (n) … FROM fn(…)`
    // in a derived table is an ordered scan too, so its GROUP BY is a stream aggregate).
    if (first && joins.length === 1 && !group && !s.distinct && windows.defs.length === 0 && !needSort) {
      const order: { col: number; desc: boolean }[] = [];
      for (const o of first.source.order ?? []) {
        const j = items.findIndex(
          (it) => it.compiled.column?.source === first.source.binding && it.compiled.column.index === o.col,
        );
        if (j < 0) break;
        order.push({ col: j, desc: o.desc });
      }
      if (order.length > 0) plan.order = order;
    }
    return plan;
  }

  private planUnion(s: SelectStmt, opts: PlanOptions): SelectPlan {
    const parts = [
      { ...s, unionAll: undefined, orderBy: [], offset: undefined, fetch: undefined },
      ...(s.unionAll ?? []),
    ].map((p) => this.planSelect(p, opts));
    const firstPlan = parts[0] as SelectPlan;
    if (parts.some((p) => p.columns.length !== firstPlan.columns.length)) throw sqlError(205);
    const columns = firstPlan.columns.map((c, i) => {
      const t = parts.map((p) => (p.columns[i] as ColumnInfo).type).reduce((a, b) => commonType(a, b));
      return { name: c.name, type: t, nullable: true };
    });
    const orderSlots = s.orderBy.map((o) => {
      let slot = -1;
      if (o.expr.kind === 'column')
        slot = columns.findIndex(
          (c) =>
            c.name.toLowerCase() ===
            (o.expr.kind === 'column' ? (o.expr.parts[o.expr.parts.length - 1] ?? '').toLowerCase() : ''),
        );
      if (o.expr.kind === 'literal' && typeof o.expr.value === 'bigint') slot = Number(o.expr.value) - 1;
      if (slot < 0) throw sqlError(104);
      return { slot, desc: o.desc };
    });
    return {
      columns,
      run: function* (rt, outer) {
        const all = function* (): Generator<SqlValue[]> {
          for (const p of parts)
            for (const r of p.run(rt, outer))
              yield r.map((v, i) =>
                convertValue(v, (p.columns[i] as ColumnInfo).type, (columns[i] as ColumnInfo).type),
              );
        };
        yield* orderSlots.length ? sortRows(all(), orderSlots) : all();
      },
    };
  }

  /** Binds one FROM item into `scope` and returns its row producer with its access path. */
  private source(
    ref: TableRef,
    scope: Scope,
    prior: Scope,
    conjuncts: Expr[],
    orderBy: OrderItem[] | undefined,
  ): SourceSpec {
    if (ref.kind === 'derived') {
      let plan = this.planSelect(ref.select, { outerScope: scope.parent });
      const cols = plan.columns.map((c, i) => ({ ...c, name: ref.columnAliases?.[i] ?? c.name }));
      cols.forEach((c, i) => {
        if (!c.name) throw sqlError(8155, i + 1, ref.alias);
      });
      const binding = scope.add(ref.alias, [[ref.alias]], cols);
      const used = (binding.used = new Array<boolean>(cols.length).fill(false));
      // Pruning re-plans the select with unread columns as NULLs: same columns, same rows, same order.
      return {
        binding,
        ...(plan.order ? { order: plan.order } : {}),
        open: (rt, _prefix, outer) => plan.run(rt, outer),
        prune: () => {
          const select = prunedSelect(ref.select, used);
          if (select) plan = this.planSelect(select, { outerScope: scope.parent });
        },
      };
    }
    if (ref.kind === 'values') {
      const bc = this.bindContext(prior);
      const compiled = ref.rows.map((r) => r.map((e) => compile(e, bc)));
      const width = ref.columnAliases.length;
      if (compiled.some((r) => r.length !== width)) throw sqlError(8158, ref.alias);
      const types = ref.columnAliases.map((_, i) => combinedType(compiled.map((r) => r[i] as Compiled)));
      const coerced = compiled.map((r) => r.map((c, i) => coerce(c, types[i] as SqlType)));
      const cols: ColumnInfo[] = ref.columnAliases.map((name, i) => ({
        name,
        type: types[i] as SqlType,
        nullable: true,
      }));
      const binding = scope.add(ref.alias, [[ref.alias]], cols);
      return {
        binding,
        open: function* (rt, prefix) {
          for (const r of coerced) yield r.map((c) => c.eval(prefix, rt.ctx));
        },
      };
    }
    if (ref.kind === 'function') {
      const bc = this.bindContext(prior);
      const vt = this.resolver.tableFunction(ref.name, ref, bc);
      if (!vt) throw sqlError(208, ref.name.join('.'));
      const alias = ref.alias ?? ref.name[ref.name.length - 1] ?? '';
      const args = ref.args.map((a) => compile(a, bc));
      const binding = scope.add(alias, [ref.name], vt.columns);
      const used = (binding.used = new Array<boolean>(vt.columns.length).fill(false));
      const spec: SourceSpec = {
        binding,
        ...(vt.order ? { order: vt.order } : {}),
        open: (rt, prefix) => {
          const acct: TableAccess = {
            database: rt.ctx.session.database.name,
            schema: ref.name.length > 1 ? (ref.name[ref.name.length - 2] ?? '') : 'dbo',
            table: vt.name,
            index: '',
            kind: 'scan',
            rowsRead: 0,
          };
          rt.stats.accesses.push(acct);
          return counted(
            vt.rows(
              rt,
              args.map((a) => a.eval(prefix, rt.ctx)),
              spec.pruned ? used : undefined,
            ),
            acct,
          );
        },
      };
      return spec;
    }
    if (ref.kind !== 'table') throw new Error('unexpected join');
    const cte = ref.name.length === 1 ? this.ctes.get((ref.name[0] ?? '').toLowerCase()) : undefined;
    if (cte) {
      return this.source(
        { kind: 'derived', select: cte.select, alias: ref.alias ?? cte.name, columnAliases: cte.columns },
        scope,
        prior,
        conjuncts,
        orderBy,
      );
    }
    const table = this.resolver.table(ref.name);
    if (table) this.resolver.authorize(table, 'SELECT');
    if (!table) {
      const vt = this.resolver.virtualTable(ref.name);
      if (!vt) throw sqlError(208, ref.name.join('.'));
      const alias = ref.alias ?? ref.name[ref.name.length - 1] ?? '';
      const binding = scope.add(alias, [ref.name.slice(-2), ref.name.slice(-1), ref.name], vt.columns);
      return {
        binding,
        open: (rt) => {
          const acct: TableAccess = {
            database: rt.ctx.session.database.name,
            schema: ref.name.length > 1 ? (ref.name[ref.name.length - 2] ?? '') : '',
            table: vt.name,
            index: '',
            kind: 'scan',
            rowsRead: 0,
          };
          rt.stats.accesses.push(acct);
          return counted(vt.rows(rt, []), acct);
        },
      };
    }
    // The exposed name is the name as written (a #temp table's stored name is mangled).
    const alias = ref.alias ?? ref.name[ref.name.length - 1] ?? table.name;
    const quals = ref.alias
      ? []
      : [
          [table.schema.name, table.name],
          [table.database.name, table.schema.name, table.name],
          [table.database.name, '', table.name],
        ];
    const binding = scope.add(alias, quals, tableColumns(table));
    const used = (binding.used = new Array<boolean>(table.columns.length).fill(false));
    const hints = new Set(ref.hints);
    // Lock hints whose point is blocking: readers here never take locks, so honouring them silently would change
    // concurrency semantics. Refuse instead (NOLOCK, READPAST, ROWLOCK, INDEX, … are fine).
    for (const h of ['UPDLOCK', 'XLOCK', 'HOLDLOCK', 'SERIALIZABLE', 'REPEATABLEREAD', 'TABLOCKX'])
      if (hints.has(h)) throw unsupported(`table hint ${h} on a read`);
    const bc = this.bindContext(scope);
    const { preds, keysets } = sargs(conjuncts, bc, binding, this.bindContext(prior));
    const access = chooseAccess(table, binding, preds, keysets, orderBy, bc);
    let acct: TableAccess | undefined;
    let lastStats: StatementStats | undefined;
    const spec: SourceSpec = {
      binding,
      table,
      order: access.order,
      open: (rt, prefix) => {
        if (!acct || lastStats !== rt.stats) {
          acct = newAccess(rt, table, access);
          lastStats = rt.stats;
        }
        rt.onDataAccess(table.database);
        let view = rt.view;
        if (hints.has('NOLOCK') || hints.has('READUNCOMMITTED')) view = { ...view, dirty: true };
        if (hints.has('READPAST')) view = { ...view, readPast: true };
        const rtv = view === rt.view ? rt : { ...rt, view };
        return scanTable(table, access, rtv, prefix, acct, spec.pruned ? used : undefined);
      },
    };
    return spec;
  }
}

/**
 * A derived table's select with each output column the outer query never reads (`used[i]` false) replaced by
 * NULL, as SQL Server's optimizer drops them: `SELECT COUNT_BIG(*) FROM (SELECT TOP (n) c.__$seqval AS s FROM …)`
 * then reads no column of its source. Undefined when nothing is dropped, or when a column's value can matter
 * without being read: DISTINCT (rows compare on every column), grouping or aggregates (replacing an aggregate
 * would change the row count), `*` (columns by position), UNION, or an inner ORDER BY naming the column.
 */
function prunedSelect(s: SelectStmt, used: readonly boolean[]): SelectStmt | undefined {
  if (s.distinct || s.unionAll?.length || s.groupBy.length > 0 || s.having !== undefined) return undefined;
  if (s.items.length !== used.length || s.items.some((it) => it.expr.kind === 'star' || it.assignTo)) return undefined;
  if (s.items.some((it) => containsAggregate(it.expr)) || s.orderBy.some((o) => containsAggregate(o.expr)))
    return undefined;
  const ordered = (it: SelectItem, i: number): boolean =>
    s.orderBy.some(
      (o) =>
        (o.expr.kind === 'literal' && typeof o.expr.value === 'bigint' && Number(o.expr.value) === i + 1) ||
        (o.expr.kind === 'column' &&
          o.expr.parts.length === 1 &&
          it.alias !== undefined &&
          (o.expr.parts[0] ?? '').toLowerCase() === it.alias.toLowerCase()),
    );
  let dropped = 0;
  const items = s.items.map((it, i) => {
    if (used[i] || it.expr.kind === 'literal' || ordered(it, i)) return it;
    dropped++;
    const name = it.alias ?? (it.expr.kind === 'column' ? it.expr.parts[it.expr.parts.length - 1] : undefined);
    return { ...it, expr: NULL_LITERAL, ...(name !== undefined ? { alias: name } : {}) };
  });
  return dropped > 0 ? { ...s, items } : undefined;
}

const NULL_LITERAL: Expr = { kind: 'literal', value: null, type: { name: 'int' } };

/** Whether a SELECT mentions a table named `name` anywhere in its FROM clauses (recursive CTE detection). */
function referencesName(s: SelectStmt, name: string): boolean {
  const lower = name.toLowerCase();
  const inRef = (r: TableRef): boolean => {
    switch (r.kind) {
      case 'table':
        return r.name.length === 1 && (r.name[0] ?? '').toLowerCase() === lower;
      case 'join':
        return inRef(r.left) || inRef(r.right);
      case 'derived':
        return referencesName(r.select, name);
      default:
        return false;
    }
  };
  return s.from.some(inRef) || (s.unionAll ?? []).some((u) => referencesName(u, name));
}

function mapEntries(it: Iterable<IndexEntry>): Iterable<RowRecord> {
  return (function* () {
    for (const e of it) yield e.record;
  })();
}

function newAccess(rt: Runtime, table: Table, access: AccessChoice): TableAccess {
  const acct: TableAccess = {
    database: table.database.name,
    schema: table.schema.name,
    table: table.name,
    index: access.index?.name ?? 'HEAP',
    kind: access.kind,
    rowsRead: 0,
  };
  rt.stats.accesses.push(acct);
  return acct;
}

function* counted(rows: Iterable<SqlValue[]>, acct: TableAccess): Generator<SqlValue[]> {
  for (const r of rows) {
    acct.rowsRead++;
    yield r;
  }
}

function* joinRows(joins: JoinNode[], rt: Runtime, width: number, outer: SqlValue[][]): Generator<SqlValue[]> {
  const row = new Array<SqlValue>(width).fill(null);
  const n = joins.length;
  if (n === 1) {
    const only = joins[0] as JoinNode;
    for (const r of only.source.open(rt, row, outer)) yield r;
    return;
  }
  function* level(i: number): Generator<SqlValue[]> {
    if (i === n) {
      yield row.slice();
      return;
    }
    const j = joins[i] as JoinNode;
    const off = j.source.binding.offset;
    const w = j.source.binding.columns.length;
    let matched = false;
    for (const r of j.source.open(rt, row, outer)) {
      for (let k = 0; k < w; k++) row[off + k] = r[k] ?? null;
      if (j.on && j.on.eval(row, rt.ctx) !== true) continue;
      matched = true;
      yield* level(i + 1);
    }
    if (!matched && j.type === 'left') {
      for (let k = 0; k < w; k++) row[off + k] = null;
      yield* level(i + 1);
    }
  }
  yield* level(0);
}

/** Computes ranking functions over the whole row set (partitioned and ordered per definition), in place. */
function applyWindows(rows: SqlValue[][], w: WindowBinding, ctx: EvalCtx): SqlValue[][] {
  const cmp = (x: SqlValue, y: SqlValue): number =>
    x === null ? (y === null ? 0 : -1) : y === null ? 1 : compareValues(x, y);
  w.defs.forEach((d, k) => {
    const keyed = rows.map((r, i) => ({
      r,
      i,
      p: d.partition.map((c) => c.eval(r, ctx)),
      o: d.order.map((o) => o.c.eval(r, ctx)),
    }));
    const cmpP = (a: (typeof keyed)[number], b: (typeof keyed)[number]): number => {
      for (let j = 0; j < a.p.length; j++) {
        const c = cmp(a.p[j] ?? null, b.p[j] ?? null);
        if (c) return c;
      }
      return 0;
    };
    const cmpO = (a: (typeof keyed)[number], b: (typeof keyed)[number]): number => {
      for (let j = 0; j < a.o.length; j++) {
        const c = cmp(a.o[j] ?? null, b.o[j] ?? null);
        if (c) return d.order[j]?.desc ? -c : c;
      }
      return 0;
    };
    keyed.sort((a, b) => cmpP(a, b) || cmpO(a, b) || a.i - b.i);
    let start = 0;
    while (start < keyed.length) {
      let end = start + 1;
      while (
        end < keyed.length &&
        cmpP(keyed[start] as (typeof keyed)[number], keyed[end] as (typeof keyed)[number]) === 0
      )
        end++;
      const size = end - start;
      const tiles = d.fn === 'NTILE' ? Number(d.arg?.eval((keyed[start] as (typeof keyed)[number]).r, ctx) ?? 1) : 1;
      if (d.fn === 'NTILE' && !(tiles > 0)) throw sqlError(8115, 'expression', 'ntile');
      let rank = 1;
      let dense = 1;
      for (let j = start; j < end; j++) {
        const cur = keyed[j] as (typeof keyed)[number];
        const n = j - start + 1;
        if (j > start && cmpO(keyed[j - 1] as (typeof keyed)[number], cur) !== 0) {
          rank = n;
          dense++;
        }
        let v: number;
        if (d.fn === 'ROW_NUMBER') v = n;
        else if (d.fn === 'RANK') v = rank;
        else if (d.fn === 'DENSE_RANK') v = dense;
        else {
          // NTILE: the first (size % tiles) groups get one extra row.
          const base = Math.floor(size / tiles);
          const extra = size % tiles;
          const idx = n - 1;
          const big = extra * (base + 1);
          v = idx < big ? Math.floor(idx / (base + 1)) + 1 : extra + Math.floor((idx - big) / Math.max(base, 1)) + 1;
        }
        cur.r[w.base + k] = BigInt(v);
      }
      start = end;
    }
  });
  return rows;
}

function* filterRows(rows: Iterable<SqlValue[]>, pred: Compiled, ctx: EvalCtx): Generator<SqlValue[]> {
  const ev = pred.eval;
  for (const r of rows) if (ev(r, ctx) === true) yield r;
}

function* project(rows: Iterable<SqlValue[]>, exprs: Compiled[], ctx: EvalCtx): Generator<SqlValue[]> {
  const evs = exprs.map((e) => e.eval);
  const n = evs.length;
  for (const r of rows) {
    const out = new Array<SqlValue>(n);
    for (let i = 0; i < n; i++) out[i] = (evs[i] as Compiled['eval'])(r, ctx);
    yield out;
  }
}

function* distinct(rows: Iterable<SqlValue[]>): Generator<SqlValue[]> {
  const seen = new Set<string>();
  for (const r of rows) {
    const k = r.map(groupKey).join('\u0001');
    if (seen.has(k)) continue;
    seen.add(k);
    yield r;
  }
}

function sortRows(rows: Iterable<SqlValue[]>, slots: { slot: number; desc: boolean }[]): SqlValue[][] {
  const all = [...rows];
  all.sort((a, b) => {
    for (const { slot, desc } of slots) {
      const x = a[slot] ?? null;
      const y = b[slot] ?? null;
      let c: number;
      if (x === null) c = y === null ? 0 : -1;
      else if (y === null) c = 1;
      else c = compareValues(x, y);
      if (c !== 0) return desc ? -c : c;
    }
    return 0;
  });
  return all;
}

/** `compile`, or undefined for an expression that does not bind here. */
function compileOrUndefined(e: Expr, bc: BindContext): Compiled | undefined {
  try {
    return compile(e, bc);
  } catch {
    return undefined;
  }
}

/**
 * Key types whose order (compareValues) and grouping (groupKey) agree on equality, so that rows of one group are
 * adjacent in an ordered stream: integers, binary, dates and times. Strings (collations), floats and decimals
 * group through their own rules and keep {@link groupRows}.
 */
const STREAMED_GROUP_TYPES = new Set(['bigint', 'int', 'smallint', 'tinyint', 'bit', 'binary', 'varbinary', 'date']);

/**
 * How many leading columns of the only FROM source's delivered order the GROUP BY keys are (in any order of the
 * keys), when every key is a plain column of that source with a {@link STREAMED_GROUP_TYPES} type: its groups
 * then stream ({@link streamGroups}). 0 otherwise (joins, expressions, aggregates without GROUP BY, other types).
 */
function groupsInOrder(group: GroupBinding, joins: JoinNode[]): number {
  const only = joins.length === 1 ? joins[0] : undefined;
  const order = only?.source.order;
  const n = group.keys.length;
  if (!only || !order || n === 0 || n > order.length) return 0;
  const cols = new Set<number>();
  for (const k of group.keys) {
    const c = k.compiled.column;
    if (!c || c.source !== only.source.binding || !STREAMED_GROUP_TYPES.has(k.compiled.type.name)) return 0;
    cols.add(c.index);
  }
  for (let i = 0; i < n; i++) if (!cols.has((order[i] as { col: number }).col)) return 0;
  return cols.size === n ? n : 0;
}

/** Whether two group-key values fall in one group (groupKey's equality, without building the strings). */
function sameGroupValue(x: SqlValue, y: SqlValue): boolean {
  if (x === null || y === null) return x === y;
  if (typeof x === 'bigint' && typeof y === 'bigint') return x === y;
  if (Buffer.isBuffer(x) && Buffer.isBuffer(y)) return compareBinary(x, y) === 0;
  return groupKey(x) === groupKey(y);
}

/**
 * GROUP BY over rows that arrive grouped (see {@link groupsInOrder}), or aggregates without GROUP BY (`scalar`:
 * one group, also when there is no row): one group's state at a time, each group yielded when the next one
 * starts — the rows and order {@link groupRows} gives them, streamed.
 */
function* streamGroups(
  rows: Iterable<SqlValue[]>,
  g: GroupBinding,
  ctx: EvalCtx,
  scalar: boolean,
): Generator<SqlValue[]> {
  const keyEvals = g.keys.map((k) => k.compiled.eval);
  const nk = keyEvals.length;
  let keys: SqlValue[] | undefined;
  let states: unknown[] = [];
  let distinct: Set<string>[] = [];
  const result = (): SqlValue[] => [
    ...(keys as SqlValue[]),
    ...g.aggs.map((a, i) => a.def.result(states[i], a.type, a.arg?.type)),
  ];
  for (const r of rows) {
    let same = keys !== undefined;
    for (let i = 0; same && i < nk; i++)
      same = sameGroupValue((keys as SqlValue[])[i] as SqlValue, (keyEvals[i] as Compiled['eval'])(r, ctx));
    if (!same) {
      if (keys) yield result();
      keys = keyEvals.map((e) => e(r, ctx));
      states = g.aggs.map((a) => a.def.init());
      distinct = g.aggs.map(() => new Set<string>());
    }
    for (let i = 0; i < g.aggs.length; i++) {
      const a = g.aggs[i] as GroupBinding['aggs'][number];
      const v = a.arg ? a.arg.eval(r, ctx) : true;
      if (a.distinct && v !== null) {
        const k = groupKey(v);
        const set = distinct[i] as Set<string>;
        if (set.has(k)) continue;
        set.add(k);
      }
      states[i] = a.def.step(states[i], a.arg ? v : 1n, a.arg?.type);
    }
  }
  if (!keys && scalar) {
    keys = [];
    states = g.aggs.map((a) => a.def.init());
  }
  if (keys) yield result();
}

/** GROUP BY in one go: every group's state in a table, keyed by its keys' {@link groupKey}s, then every group. */
function* groupRows(rows: Iterable<SqlValue[]>, g: GroupBinding, ctx: EvalCtx): Generator<SqlValue[]> {
  const groups = new Map<string, { keys: SqlValue[]; states: unknown[]; distinct: Set<string>[] }>();
  const keyEvals = g.keys.map((k) => k.compiled.eval);
  for (const r of rows) {
    const keys = keyEvals.map((e) => e(r, ctx));
    const id = keys.map(groupKey).join('\u0001');
    let grp = groups.get(id);
    if (!grp) {
      grp = { keys, states: g.aggs.map((a) => a.def.init()), distinct: g.aggs.map(() => new Set<string>()) };
      groups.set(id, grp);
    }
    for (let i = 0; i < g.aggs.length; i++) {
      const a = g.aggs[i] as GroupBinding['aggs'][number];
      const v = a.arg ? a.arg.eval(r, ctx) : true;
      if (a.distinct && v !== null) {
        const k = groupKey(v);
        const set = grp.distinct[i] as Set<string>;
        if (set.has(k)) continue;
        set.add(k);
      }
      grp.states[i] = a.def.step(grp.states[i], a.arg ? v : 1n, a.arg?.type);
    }
  }
  for (const grp of groups.values())
    yield [...grp.keys, ...g.aggs.map((a, i) => a.def.result(grp.states[i], a.type, a.arg?.type))];
}

function containsAggregate(e: Expr): boolean {
  switch (e.kind) {
    case 'call':
      if (
        !e.over &&
        e.name.length === 1 &&
        ['COUNT', 'COUNT_BIG', 'SUM', 'AVG', 'MIN', 'MAX', 'CHECKSUM_AGG'].includes((e.name[0] ?? '').toUpperCase())
      )
        return true;
      return e.args.some(containsAggregate);
    case 'unary':
    case 'not':
      return containsAggregate(e.operand);
    case 'binary':
    case 'compare':
    case 'and':
    case 'or':
      return containsAggregate(e.left) || containsAggregate(e.right);
    case 'isNull':
      return containsAggregate(e.operand);
    case 'between':
      return containsAggregate(e.operand) || containsAggregate(e.low) || containsAggregate(e.high);
    case 'in':
      return containsAggregate(e.operand) || (e.list ?? []).some(containsAggregate);
    case 'like':
      return containsAggregate(e.operand) || containsAggregate(e.pattern);
    case 'cast':
      return containsAggregate(e.operand);
    case 'case':
      return (
        (e.operand ? containsAggregate(e.operand) : false) ||
        e.whens.some((w) => containsAggregate(w.when) || containsAggregate(w.then)) ||
        (e.else ? containsAggregate(e.else) : false)
      );
    default:
      return false;
  }
}

function isBoolean(e: Expr): boolean {
  return ['compare', 'and', 'or', 'not', 'isNull', 'like', 'in', 'between', 'exists'].includes(e.kind);
}

export { coerce };
