/**
 * The binder: turns expression syntax into typed closures over a flat row. Names resolve against a scope
 * (the FROM sources, then enclosing queries for correlated subqueries); types follow SQL Server's precedence
 * rules; in a grouped query, group-by expressions and aggregates become slots of the grouped row.
 */
import type { SqlType, SqlValue } from './api.js';
import { arithmetic, arithmeticType, negate } from './arithmetic.js';
import type { Expr, SelectStmt } from './ast.js';
import { sqlError, unsupported } from './errors.js';
import { AGGREGATES, FUNCTIONS, type AggregateDef } from './functions.js';
import type { SessionContext } from './session-context.js';
import { isBinary, isDecimal, isFloat, isInteger, isString, isTemporal, precedence, typeToString } from './types.js';
import { compareValues, convertValue, implicitlyConvertible, isDecimalValue, textOf } from './values.js';
import { coerce, combinedType, literal } from './coercion.js';

export type Evaluator = (row: SqlValue[], ctx: EvalCtx) => SqlValue;

/** Runtime context of an evaluation: variables, enclosing rows, the session. */
export interface EvalCtx {
  vars: Map<string, { type: SqlType; value: SqlValue }>;
  /** Rows of enclosing queries, innermost last (correlated subqueries). */
  outer: SqlValue[][];
  session: SessionContext;
  /** The statement's runtime (subqueries run under it). Opaque here to avoid an import cycle. */
  runtime?: unknown;
}

/** A column of a bound source or result: name, type and nullability. */
export interface ColumnInfo {
  name: string;
  type: SqlType;
  nullable: boolean;
  identity?: boolean;
  isRowversion?: boolean;
}

/** A FROM source bound into a scope: its names and its columns' positions in the flat row. */
export interface ScopeSource {
  /** Exposed name: alias, or table name. */
  alias: string;
  /** Qualifiers that match this source besides the alias: [schema, table], [db, schema, table]. */
  qualifiers: string[][];
  columns: ColumnInfo[];
  offset: number;
  /**
   * Set by a table or table-function source (query.ts): the columns an expression resolved, so storage decodes
   * only those (anything reading columns by position, such as `*`, marks them all).
   */
  used?: boolean[];
}

/** The FROM sources visible to an expression, with a parent scope for correlated subqueries. */
export class Scope {
  readonly sources: ScopeSource[] = [];
  width = 0;
  constructor(readonly parent?: Scope) {}

  add(alias: string, qualifiers: string[][], columns: ColumnInfo[]): ScopeSource {
    const s: ScopeSource = { alias, qualifiers, columns, offset: this.width };
    this.sources.push(s);
    this.width += columns.length;
    return s;
  }
}

/** A bound expression. */
export interface Compiled {
  type: SqlType;
  nullable: boolean;
  eval: Evaluator;
  /** No reference to a column of the current scope (may reference variables and outer rows). */
  constant: boolean;
  /** Set when the expression is a plain column reference of the current scope. */
  column?: { source: ScopeSource; index: number };
  /** Column name a result column gets when the expression is a bare column. */
  name?: string;
  /** The untyped NULL literal: it takes the type of whatever it is combined with. */
  nullLiteral?: boolean;
}

/** A compiled subquery the binder can run per evaluation. */
export interface SubqueryPlan {
  columns: ColumnInfo[];
  run(ctx: EvalCtx, outerRow: SqlValue[]): Iterable<SqlValue[]>;
}

/** Aggregate mode: the grouped row is [group keys…, aggregates…]. */
export interface GroupBinding {
  keys: { ast: string; compiled: Compiled }[];
  aggs: { ast: string; def: AggregateDef; arg?: Compiled; distinct: boolean; type: SqlType }[];
}

/** Everything the binder needs to resolve names and types. */
/** Window (ranking) functions: their values are appended to each row after `base` slots. */
export interface WindowBinding {
  base: number;
  defs: {
    ast: string;
    fn: 'ROW_NUMBER' | 'RANK' | 'DENSE_RANK' | 'NTILE';
    arg?: Compiled;
    partition: Compiled[];
    order: { c: Compiled; desc: boolean }[];
  }[];
}

/** Everything the binder needs to resolve names and types. */
export interface BindContext {
  scope: Scope;
  varTypes: Map<string, SqlType>;
  session: SessionContext;
  subquery: (select: SelectStmt, scope: Scope) => SubqueryPlan;
  group?: GroupBinding;
  /** Ranking functions of the select list / ORDER BY: computed over the whole result, read from extra slots. */
  windows?: WindowBinding;
  /** Where aggregates are illegal (WHERE, ON): 147. */
  noAggregates?: boolean;
}

const BOOL: SqlType = { name: 'bit' };

function isNullLiteral(e: Expr): boolean {
  return e.kind === 'literal' && e.value === null;
}

export function exprKey(e: Expr): string {
  return JSON.stringify(e, (_k, v: unknown) =>
    typeof v === 'bigint' ? v.toString() + 'n' : Buffer.isBuffer(v) ? v.toString('hex') : v,
  ).toLowerCase();
}

function numericLike(t: SqlType): boolean {
  return isInteger(t) || isDecimal(t) || isFloat(t) || t.name === 'bit';
}

/** Prepares two operands for comparison: returns evaluators producing comparable values. */
function comparable(l: Compiled, r: Compiled): [Evaluator, Evaluator] {
  const a = l.type;
  const b = r.type;
  if (numericLike(a) && numericLike(b)) return [l.eval, r.eval];
  if (isString(a) && isString(b)) return [l.eval, r.eval];
  if (isBinary(a) && isBinary(b)) return [l.eval, r.eval];
  if (a.name === 'uniqueidentifier' && b.name === 'uniqueidentifier') return [l.eval, r.eval];
  const t = precedence(a.name) >= precedence(b.name) ? a : b;
  const target: SqlType = isTemporal(t) ? { ...t, scale: 7 } : t;
  const la = coerceForCompare(l, target);
  const rb = coerceForCompare(r, target);
  return [la.eval, rb.eval];
}

function coerceForCompare(c: Compiled, to: SqlType): Compiled {
  if (c.type.name === to.name && !isTemporal(to)) return c;
  if (!implicitlyConvertible(c.type, to)) throw sqlError(206, typeToString(c.type), typeToString(to));
  const from = c.type;
  const inner = c.eval;
  if (c.constant && c.eval.length === 0) {
    const v = convertValue(inner([], undefined as unknown as EvalCtx), from, to);
    return {
      ...c,
      type: to,
      eval() {
        return v;
      },
    };
  }
  return {
    ...c,
    type: to,
    eval(row, ctx) {
      return convertValue(inner(row, ctx), from, to);
    },
  };
}

/** SQL three-valued comparison. */
export function compareOp(op: string, x: SqlValue, y: SqlValue): boolean | null {
  if (x === null || y === null) return null;
  const c = compareValues(x, y);
  switch (op) {
    case '=':
      return c === 0;
    case '<>':
      return c !== 0;
    case '<':
      return c < 0;
    case '>':
      return c > 0;
    case '<=':
      return c <= 0;
    default:
      return c >= 0;
  }
}

/** LIKE pattern → RegExp (case-insensitive collation; %, _, [set], [^set], ESCAPE). */
export function likeToRegExp(pattern: string, escape?: string): RegExp {
  let re = '^';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] ?? '';
    if (escape !== undefined && c === escape) {
      i++;
      re += escapeRe(pattern[i] ?? '');
    } else if (c === '%') re += '[\\s\\S]*';
    else if (c === '_') re += '[\\s\\S]';
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 1);
      if (end < 0) {
        re += '\\[';
        continue;
      }
      let set = pattern.slice(i + 1, end);
      let neg = false;
      if (set.startsWith('^')) {
        neg = true;
        set = set.slice(1);
      }
      re += '[' + (neg ? '^' : '') + set.replace(/[\\\]]/g, '\\$&') + ']';
      i = end;
    } else re += escapeRe(c);
  }
  return new RegExp(re + '$', 'is');
}

function escapeRe(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

export function truthy(v: SqlValue): boolean {
  return v === true;
}

/** Binds an expression in `bc`. */
export function compile(e: Expr, bc: BindContext): Compiled {
  if (bc.group) {
    const key = exprKey(e);
    const k = bc.group.keys.findIndex((g) => g.ast === key);
    if (k >= 0) {
      const g = bc.group.keys[k] as { compiled: Compiled };
      return {
        type: g.compiled.type,
        nullable: g.compiled.nullable,
        constant: false,
        name: g.compiled.name,
        eval(row) {
          return row[k] ?? null;
        },
      };
    }
    if (e.kind === 'call' && !e.over && e.name.length === 1 && AGGREGATES[(e.name[0] ?? '').toUpperCase()])
      return compileAggregate(e, bc);
    if (e.kind === 'column') {
      const inner = compile(e, { ...bc, group: undefined });
      if (inner.constant) return inner; // an outer reference
      throw sqlError(8120, `${inner.column?.source.alias ?? ''}.${inner.name ?? e.parts.join('.')}`);
    }
  }
  switch (e.kind) {
    case 'literal':
      return literal(e.value, e.type);
    case 'column':
      return resolveColumn(e.parts, bc);
    case 'star':
      throw sqlError(102, '*');
    case 'default':
      throw sqlError(156, 'DEFAULT');
    case 'variable': {
      const key = e.name.toLowerCase();
      const t = bc.varTypes.get(key);
      if (!t) throw sqlError(137, e.name);
      return {
        type: t,
        nullable: true,
        constant: true,
        eval(_row, ctx) {
          return ctx.vars.get(key)?.value ?? null;
        },
      };
    }
    case 'global':
      return compileGlobal(e.name, bc);
    case 'unary': {
      const o = compile(e.operand, bc);
      if (e.op === '+') return o;
      if (e.op === '~') {
        return {
          ...o,
          column: undefined,
          eval(row, ctx) {
            const v = o.eval(row, ctx);
            if (v === null) return null;
            if (typeof v === 'boolean') return !v;
            if (typeof v === 'bigint')
              return (
                BigInt.asIntN(
                  o.type.name === 'bigint' ? 64 : o.type.name === 'int' ? 32 : o.type.name === 'smallint' ? 16 : 8,
                  ~v,
                ) & (o.type.name === 'tinyint' ? 0xffn : -1n)
              );
            throw sqlError(8117, typeToString(o.type), '~');
          },
        };
      }
      const t = isString(o.type) ? ({ name: 'float', precision: 53 } as SqlType) : o.type;
      const src = coerce(o, t);
      return {
        type: t,
        nullable: o.nullable,
        constant: o.constant,
        eval(row, ctx) {
          return negate(src.eval(row, ctx), t);
        },
      };
    }
    case 'binary': {
      const l = compile(e.left, bc);
      const r = compile(e.right, bc);
      const lt = isNullLiteral(e.left) ? r.type : l.type;
      const rtp = isNullLiteral(e.right) ? l.type : r.type;
      let lc = l;
      let rc = r;
      let ta = lt;
      let tb = rtp;
      // A string meeting a number converts to the number's type.
      if (isString(ta) && numericLike(tb) && !(e.op === '+' && isString(tb))) {
        lc = coerce(l, tb);
        ta = tb;
      }
      if (isString(tb) && numericLike(ta)) {
        rc = coerce(r, ta);
        tb = ta;
      }
      const rt = arithmeticType(e.op, ta, tb);
      const op = e.op;
      const le = lc.eval;
      const re = rc.eval;
      return {
        type: rt,
        nullable: l.nullable || r.nullable,
        constant: l.constant && r.constant,
        eval(row, ctx) {
          const x = le(row, ctx);
          if (x === null) return null;
          const y = re(row, ctx);
          if (y === null) return null;
          return arithmetic(op, x, ta, y, tb, rt);
        },
      };
    }
    case 'compare': {
      const l = compile(e.left, bc);
      const r = compile(e.right, bc);
      const [le, re] = comparable(l, r);
      const op = e.op;
      return {
        type: BOOL,
        nullable: true,
        constant: l.constant && r.constant,
        eval(row, ctx) {
          return compareOp(op, le(row, ctx), re(row, ctx));
        },
      };
    }
    case 'and':
    case 'or': {
      const l = bool(compile(e.left, bc), e.left);
      const r = bool(compile(e.right, bc), e.right);
      const isAnd = e.kind === 'and';
      return {
        type: BOOL,
        nullable: true,
        constant: l.constant && r.constant,
        eval(row, ctx) {
          const x = l.eval(row, ctx);
          if (isAnd && x === false) return false;
          if (!isAnd && x === true) return true;
          const y = r.eval(row, ctx);
          if (isAnd) return y === false ? false : x === null || y === null ? null : true;
          return y === true ? true : x === null || y === null ? null : false;
        },
      };
    }
    case 'not': {
      const o = bool(compile(e.operand, bc), e.operand);
      return {
        type: BOOL,
        nullable: true,
        constant: o.constant,
        eval(row, ctx) {
          const v = o.eval(row, ctx);
          return v === null ? null : !v;
        },
      };
    }
    case 'isNull': {
      const o = compile(e.operand, bc);
      const neg = e.negated;
      return {
        type: BOOL,
        nullable: false,
        constant: o.constant,
        eval(row, ctx) {
          return (o.eval(row, ctx) === null) !== neg;
        },
      };
    }
    case 'between': {
      const o = compile(e.operand, bc);
      const lo = compile(e.low, bc);
      const hi = compile(e.high, bc);
      const [a1, b1] = comparable(o, lo);
      const [a2, b2] = comparable(o, hi);
      const neg = e.negated;
      return {
        type: BOOL,
        nullable: true,
        constant: o.constant && lo.constant && hi.constant,
        eval(row, ctx) {
          const x = compareOp('>=', a1(row, ctx), b1(row, ctx));
          const y = x === false ? false : compareOp('<=', a2(row, ctx), b2(row, ctx));
          const r = x === false || y === false ? false : x === null || y === null ? null : true;
          return r === null ? null : r !== neg;
        },
      };
    }
    case 'in': {
      const o = compile(e.operand, bc);
      const neg = e.negated;
      if (e.subquery) {
        const sub = bc.subquery(e.subquery, bc.scope);
        if (sub.columns.length !== 1) throw sqlError(116);
        const st = (sub.columns[0] as ColumnInfo).type;
        const probe = comparable(o, {
          type: st,
          nullable: true,
          constant: true,
          eval(r) {
            return r[0] ?? null;
          },
        });
        return {
          type: BOOL,
          nullable: true,
          constant: false,
          eval(row, ctx) {
            const x = probe[0](row, ctx);
            if (x === null) return null;
            let sawNull = false;
            for (const r of sub.run(ctx, row)) {
              const y = probe[1](r, ctx);
              if (y === null) sawNull = true;
              else if (compareValues(x, y) === 0) return !neg;
            }
            return sawNull ? null : neg;
          },
        };
      }
      const items = (e.list ?? []).map((x) => compile(x, bc));
      const pairs = items.map((it) => comparable(o, it));
      return {
        type: BOOL,
        nullable: true,
        constant: o.constant && items.every((i) => i.constant),
        eval(row, ctx) {
          let sawNull = false;
          for (const [a, b] of pairs) {
            const r = compareOp('=', a(row, ctx), b(row, ctx));
            if (r === true) return !neg;
            if (r === null) sawNull = true;
          }
          return sawNull ? null : neg;
        },
      };
    }
    case 'like': {
      const o = coerce(compile(e.operand, bc), { name: 'nvarchar', length: -1 });
      const p = compile(e.pattern, bc);
      const esc = e.escape ? compile(e.escape, bc) : undefined;
      const neg = e.negated;
      let cache: { pat: string; esc: string | undefined; re: RegExp } | undefined;
      return {
        type: BOOL,
        nullable: true,
        constant: o.constant && p.constant,
        eval(row, ctx) {
          const s = o.eval(row, ctx);
          const pat = p.eval(row, ctx);
          if (s === null || pat === null) return null;
          const ev = esc ? ((esc.eval(row, ctx) as string | null) ?? undefined) : undefined;
          const ps = textOf(pat);
          if (!cache || cache.pat !== ps || cache.esc !== ev) cache = { pat: ps, esc: ev, re: likeToRegExp(ps, ev) };
          return cache.re.test(textOf(s)) !== neg;
        },
      };
    }
    case 'exists': {
      const sub = bc.subquery(e.subquery, bc.scope);
      return {
        type: BOOL,
        nullable: false,
        constant: false,
        eval(row, ctx) {
          for (const _ of sub.run(ctx, row)) return true;
          return false;
        },
      };
    }
    case 'subquery': {
      const sub = bc.subquery(e.select, bc.scope);
      if (sub.columns.length !== 1) throw sqlError(116);
      const col = sub.columns[0] as ColumnInfo;
      return {
        type: col.type,
        nullable: true,
        constant: false,
        name: col.name,
        eval(row, ctx) {
          let out: SqlValue = null;
          let n = 0;
          for (const r of sub.run(ctx, row)) {
            if (++n > 1) throw sqlError(512);
            out = r[0] ?? null;
          }
          return out;
        },
      };
    }
    case 'cast': {
      const o = compile(e.operand, bc);
      const style = e.style ? compile(e.style, bc) : undefined;
      const styleValue = style?.constant ? Number(style.eval([], undefined as unknown as EvalCtx) ?? 0) : 0;
      const to: SqlType = { ...e.type };
      const tryMode = e.fn === 'TRY_CAST' || e.fn === 'TRY_CONVERT';
      const from = o.type;
      // The NULL literal is typed int but converts to every type (CAST(NULL AS uniqueidentifier) is NULL, not 529).
      const nullLiteral = e.operand.kind === 'literal' && e.operand.value === null;
      if (!tryMode && !nullLiteral && !explicitAllowed(from, to))
        throw sqlError(529, typeToString(from), typeToString(to));
      return {
        type: to,
        nullable: o.nullable || tryMode,
        constant: o.constant,
        eval(row, ctx) {
          if (!tryMode) return convertValue(o.eval(row, ctx), from, to, styleValue);
          try {
            return convertValue(o.eval(row, ctx), from, to, styleValue);
          } catch {
            return null;
          }
        },
      };
    }
    case 'case': {
      const whens = e.whens.map((w) => ({
        when: e.operand
          ? compile({ kind: 'compare', op: '=', left: e.operand, right: w.when }, bc)
          : bool(compile(w.when, bc), w.when),
        then: compile(w.then, bc),
      }));
      const elseC = e.else ? compile(e.else, bc) : literal(null, { name: 'int' });
      const rt = combinedType([...whens.map((w) => w.then), elseC]);
      const thenC = whens.map((w) => coerce(w.then, rt));
      const elseCC = coerce(elseC, rt);
      return {
        type: rt,
        nullable: true,
        constant: whens.every((w) => w.when.constant && w.then.constant) && elseC.constant,
        eval(row, ctx) {
          for (let i = 0; i < whens.length; i++) {
            if ((whens[i] as { when: Compiled }).when.eval(row, ctx) === true)
              return (thenC[i] as Compiled).eval(row, ctx);
          }
          return elseCC.eval(row, ctx);
        },
      };
    }
    case 'call':
      return compileCall(e, bc);
  }
}

function explicitAllowed(from: SqlType, to: SqlType): boolean {
  const temporal = isTemporal(from);
  if (
    temporal &&
    (isFloat(to) || isDecimal(to) || isInteger(to)) &&
    from.name !== 'datetime' &&
    from.name !== 'smalldatetime'
  )
    return false;
  if (
    (from.name === 'date' || from.name === 'time' || from.name === 'datetime2' || from.name === 'datetimeoffset') &&
    isBinary(to)
  )
    return true;
  if (isFloat(from) && isTemporal(to) && to.name !== 'datetime' && to.name !== 'smalldatetime') return false;
  if (from.name === 'uniqueidentifier' && (numericLike(to) || isTemporal(to))) return false;
  if (numericLike(from) && to.name === 'uniqueidentifier') return false;
  if (isTemporal(from) && to.name === 'uniqueidentifier') return false;
  if (from.name === 'date' && to.name === 'time') return false;
  if (from.name === 'time' && to.name === 'date') return false;
  return true;
}

function bool(c: Compiled, e: Expr): Compiled {
  if (c.type.name !== 'bit' || !isPredicate(e)) {
    if (isPredicate(e)) return c;
    throw sqlError(4145, exprText(e));
  }
  return c;
}

function isPredicate(e: Expr): boolean {
  return ['compare', 'and', 'or', 'not', 'isNull', 'like', 'in', 'between', 'exists'].includes(e.kind);
}

function exprText(e: Expr): string {
  if (e.kind === 'column') return e.parts[e.parts.length - 1] ?? '';
  if (e.kind === 'literal') return textOf(e.value);
  return '';
}

function matchesQualifier(s: ScopeSource, q: string[]): boolean {
  const lower = q.map((x) => x.toLowerCase());
  if (lower.length === 1 && s.alias.toLowerCase() === lower[0]) return true;
  return s.qualifiers.some(
    (cand) => cand.length === lower.length && cand.every((p, i) => lower[i] === '' || p.toLowerCase() === lower[i]),
  );
}

export function resolveColumn(parts: string[], bc: BindContext): Compiled {
  const colName = (parts[parts.length - 1] ?? '').toLowerCase();
  const qualifier = parts.slice(0, -1);
  let depth = 0;
  for (let scope: Scope | undefined = bc.scope; scope; scope = scope.parent, depth++) {
    const hits: { source: ScopeSource; index: number }[] = [];
    for (const s of scope.sources) {
      if (qualifier.length > 0 && !matchesQualifier(s, qualifier)) continue;
      const index = s.columns.findIndex((c) => c.name.toLowerCase() === colName);
      if (index >= 0) hits.push({ source: s, index });
    }
    if (hits.length > 1) throw sqlError(209, parts.join('.'));
    const hit = hits[0];
    if (hit) {
      if (hit.source.used) hit.source.used[hit.index] = true;
      const info = hit.source.columns[hit.index] as ColumnInfo;
      const pos = hit.source.offset + hit.index;
      if (depth === 0) {
        return {
          type: info.type,
          nullable: info.nullable,
          constant: false,
          column: hit,
          name: info.name,
          eval(row) {
            return row[pos] ?? null;
          },
        };
      }
      const d = depth;
      return {
        type: info.type,
        nullable: info.nullable,
        constant: true,
        name: info.name,
        eval(_row, ctx) {
          return ctx.outer[ctx.outer.length - d]?.[pos] ?? null;
        },
      };
    }
  }
  if (qualifier.length > 0) throw sqlError(4104, parts.join('.'));
  throw sqlError(207, parts[parts.length - 1] ?? '');
}

function compileAggregate(e: Expr & { kind: 'call' }, bc: BindContext): Compiled {
  const group = bc.group as GroupBinding;
  const name = (e.name[0] ?? '').toUpperCase();
  const def = AGGREGATES[name] as AggregateDef;
  const key = exprKey(e);
  let idx = group.aggs.findIndex((a) => a.ast === key);
  if (idx < 0) {
    const inner: BindContext = { ...bc, group: undefined, noAggregates: true };
    let arg: Compiled | undefined;
    if (e.star) {
      if (name !== 'COUNT' && name !== 'COUNT_BIG') throw sqlError(102, '*');
    } else {
      if (e.args.length !== 1) throw sqlError(174, name, 1);
      arg = compile(e.args[0] as Expr, inner);
    }
    const type = def.resultType(arg?.type);
    group.aggs.push({ ast: key, def, arg, distinct: e.distinct ?? false, type });
    idx = group.aggs.length - 1;
  }
  const slot = group.keys.length + idx;
  const agg = group.aggs[idx] as { type: SqlType };
  return {
    type: agg.type,
    nullable: true,
    constant: false,
    name: undefined,
    eval(row) {
      return row[slot] ?? null;
    },
  };
}

function compileCall(e: Expr & { kind: 'call' }, bc: BindContext): Compiled {
  const name = e.name.map((p) => p.toUpperCase());
  const last = name[name.length - 1] ?? '';
  if (e.over) return compileWindow(e, bc);
  if (name.length === 1 && AGGREGATES[last]) {
    if (bc.noAggregates || !bc.group) {
      if (bc.noAggregates) throw sqlError(147);
      throw sqlError(8120, 'aggregate outside a grouped query');
    }
    return compileAggregate(e, bc);
  }
  const qualified = name.length > 1 ? name.join('.') : last;
  const def =
    FUNCTIONS[qualified] ??
    (name.length === 2 && name[0] === 'SYS' ? FUNCTIONS[last] : undefined) ??
    bc.session.engine.extraFunctions.get(qualified);
  if (!def) {
    if (name.length > 1) throw sqlError(4121, e.name.join('.'), e.name.join('.'));
    throw sqlError(195, e.name.join('.'));
  }
  if (e.star && !def.star) throw sqlError(102, '*');
  const [min, max] = def.arity;
  if (e.args.length < min || e.args.length > max)
    throw sqlError(174, e.name.join('.'), min === max ? min : `${min}..${max}`);
  const args = e.args.map((a, i) => (i === 0 && def.rawFirstArg ? literal(null, { name: 'int' }) : compile(a, bc)));
  return def.bind(args, bc, e);
}

const RANKING = new Set(['ROW_NUMBER', 'RANK', 'DENSE_RANK', 'NTILE']);

function compileWindow(e: Expr & { kind: 'call' }, bc: BindContext): Compiled {
  const fn = (e.name.length === 1 ? (e.name[0] ?? '') : '').toUpperCase();
  if (!RANKING.has(fn)) throw unsupported(`${e.name.join('.')} OVER (…)`);
  const w = bc.windows;
  if (!w || bc.noAggregates) throw sqlError(4108);
  const over = e.over as { partitionBy: Expr[]; orderBy: { expr: Expr; desc: boolean }[] };
  if (fn !== 'ROW_NUMBER' || over.orderBy.length === 0) {
    if (over.orderBy.length === 0) throw sqlError(4112, fn.toLowerCase());
  }
  const inner: BindContext = { ...bc, windows: undefined };
  const key = exprKey(e);
  let idx = w.defs.findIndex((d) => d.ast === key);
  if (idx < 0) {
    if (fn === 'NTILE' && e.args.length !== 1) throw sqlError(174, 'ntile', 1);
    if (fn !== 'NTILE' && e.args.length !== 0) throw sqlError(174, fn.toLowerCase(), 0);
    w.defs.push({
      ast: key,
      fn: fn as 'ROW_NUMBER',
      arg: fn === 'NTILE' ? compile(e.args[0] as Expr, inner) : undefined,
      partition: over.partitionBy.map((p) => compile(p, inner)),
      order: over.orderBy.map((o) => ({ c: compile(o.expr, inner), desc: o.desc })),
    });
    idx = w.defs.length - 1;
  }
  const i = idx;
  // `base` is final only once the whole select list is bound (aggregates add slots before it).
  return {
    type: { name: 'bigint' },
    nullable: false,
    constant: false,
    eval(row) {
      return row[w.base + i] ?? null;
    },
  };
}

function compileGlobal(name: string, bc: BindContext): Compiled {
  const def = FUNCTIONS[name];
  if (!def) throw unsupported(name);
  return def.bind([], bc, { kind: 'call', name: [name], args: [] });
}

export { isDecimalValue };
