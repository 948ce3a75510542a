/**
 * Built-in scalar functions, @@globals and aggregates. Each binds to a typed evaluator. BINARY_CHECKSUM and
 * CHECKSUM are documented by SQL Server only by their properties (order-sensitive hash over the row's bytes,
 * may collide); ours has those properties but is not bit-identical to SQL Server's (see sim/README.md).
 */
import { createHash, randomUUID } from 'node:crypto';
import type { SqlError, SqlType, SqlValue } from './api.js';
import type { Expr } from './ast.js';
import type { BindContext, Compiled, EvalCtx } from './binder.js';
import { coerce, combinedType, literal } from './coercion.js';
import {
  DATETIME_EPOCH_DAYS,
  TICKS_PER_DAY,
  TICKS_PER_SECOND,
  civilFromDays,
  daysFromCivil,
  daysInMonth,
  localOffsetMinutes,
  mkDateTime,
  mkDto,
  normalise,
  nowUtc,
} from './datetime.js';
import { sqlError } from './errors.js';
import { optionsBits, tempTableName } from './session-context.js';
import { T, isDecimal, isFloat, isInteger, isString, isUnicode, typeToString } from './types.js';
import {
  textOf,
  collationKey,
  convertValue,
  dec,
  decimalToString,
  guidToBytes,
  isDecimalValue,
  pow10,
  rescale,
  compareValues,
} from './values.js';

/** A scalar function: its arity and how it binds to a typed evaluator. */
export interface FunctionDef {
  arity: [number, number];
  star?: boolean;
  /** The first argument is a keyword (DATEADD(day, …)), not an expression. */
  rawFirstArg?: boolean;
  bind(args: Compiled[], bc: BindContext, e: Expr & { kind: 'call' }): Compiled;
}

/** A null-propagating function of evaluated arguments. */
function strict(
  arity: [number, number],
  type: (args: Compiled[]) => SqlType,
  f: (vals: SqlValue[], args: Compiled[], ctx: EvalCtx) => SqlValue,
): FunctionDef {
  return {
    arity,
    bind(args) {
      const t = type(args);
      return {
        type: t,
        nullable: true,
        constant: args.every((a) => a.constant) && arity[1] > 0,
        eval(row, ctx) {
          const vals: SqlValue[] = [];
          for (const a of args) {
            const v = a.eval(row, ctx);
            if (v === null) return null;
            vals.push(v);
          }
          return f(vals, args, ctx);
        },
      };
    },
  };
}

/** A function of the session only (no arguments); never constant-folded across statements. */
function niladic(type: SqlType, f: (ctx: EvalCtx) => SqlValue, nullable = false): FunctionDef {
  return {
    arity: [0, 0],
    bind() {
      return {
        type,
        nullable,
        constant: true,
        eval(_r, ctx) {
          return f(ctx);
        },
      };
    },
  };
}

function lazy(
  arity: [number, number],
  bindFn: (args: Compiled[], bc: BindContext, e: Expr & { kind: 'call' }) => Compiled,
): FunctionDef {
  return { arity, bind: bindFn };
}

const NV = (n: number): SqlType => ({ name: 'nvarchar', length: n });
const str = (v: SqlValue): string => textOf(v);

function stringArg(a: Compiled): Compiled {
  return isString(a.type) ? a : coerce(a, { name: 'nvarchar', length: 4000 }, true);
}

function sameStringType(a: Compiled, len?: number): SqlType {
  const t = isString(a.type) ? a.type : NV(4000);
  return len === undefined
    ? { name: t.name === 'char' ? 'varchar' : t.name === 'nchar' ? 'nvarchar' : t.name, length: t.length }
    : { name: isUnicode(t) ? 'nvarchar' : 'varchar', length: len };
}

function toInt(v: SqlValue): number {
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'number') return Math.trunc(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (isDecimalValue(v)) return Number(v.unscaled / pow10(v.scale));
  return Number(v);
}

// --- datetime helpers
type DatePart =
  | 'year'
  | 'quarter'
  | 'month'
  | 'dayofyear'
  | 'day'
  | 'week'
  | 'weekday'
  | 'hour'
  | 'minute'
  | 'second'
  | 'millisecond'
  | 'microsecond'
  | 'nanosecond';
const DATEPARTS: Record<string, DatePart> = {
  year: 'year',
  yy: 'year',
  yyyy: 'year',
  quarter: 'quarter',
  qq: 'quarter',
  q: 'quarter',
  month: 'month',
  mm: 'month',
  m: 'month',
  dayofyear: 'dayofyear',
  dy: 'dayofyear',
  y: 'dayofyear',
  day: 'day',
  dd: 'day',
  d: 'day',
  week: 'week',
  wk: 'week',
  ww: 'week',
  weekday: 'weekday',
  dw: 'weekday',
  w: 'weekday',
  hour: 'hour',
  hh: 'hour',
  minute: 'minute',
  mi: 'minute',
  n: 'minute',
  second: 'second',
  ss: 'second',
  s: 'second',
  millisecond: 'millisecond',
  ms: 'millisecond',
  microsecond: 'microsecond',
  mcs: 'microsecond',
  nanosecond: 'nanosecond',
  ns: 'nanosecond',
};

function datePartOf(e: Expr & { kind: 'call' }): DatePart {
  const a = e.args[0];
  const name = a?.kind === 'column' && a.parts.length === 1 ? (a.parts[0] ?? '').toLowerCase() : '';
  const p = DATEPARTS[name];
  if (!p) throw sqlError(155, name, e.name.join('.').toUpperCase());
  return p;
}

/** (days, ticks) of any temporal value (datetimeoffset: local time). */
function dt(v: SqlValue, t: SqlType): { days: number; ticks: bigint } {
  const c = convertValue(v, t, { name: 'datetime2', scale: 7 }) as { days: number; ticks: bigint };
  return { days: c.days, ticks: c.ticks };
}

function temporalArg(a: Compiled): Compiled {
  return isString(a.type) ? coerce(a, { name: 'datetime2', scale: 7 }) : a;
}

function datePartValue(p: DatePart, days: number, ticks: bigint, dateFirst: number): number {
  const { y, m, d } = civilFromDays(days);
  switch (p) {
    case 'year':
      return y;
    case 'quarter':
      return Math.floor((m - 1) / 3) + 1;
    case 'month':
      return m;
    case 'dayofyear':
      return days - daysFromCivil(y, 1, 1) + 1;
    case 'day':
      return d;
    case 'week': {
      const jan1 = daysFromCivil(y, 1, 1);
      const jan1Dow = (((jan1 + 1) % 7) + 7 - (dateFirst % 7)) % 7; // 0 = first day of week
      return Math.floor((days - jan1 + jan1Dow) / 7) + 1;
    }
    case 'weekday':
      return ((((days + 1) % 7) + 7 - (dateFirst % 7)) % 7) + 1;
    case 'hour':
      return Number(ticks / (TICKS_PER_SECOND * 3600n));
    case 'minute':
      return Number((ticks / (TICKS_PER_SECOND * 60n)) % 60n);
    case 'second':
      return Number((ticks / TICKS_PER_SECOND) % 60n);
    case 'millisecond':
      return Number((ticks % TICKS_PER_SECOND) / 10000n);
    case 'microsecond':
      return Number((ticks % TICKS_PER_SECOND) / 10n);
    case 'nanosecond':
      return Number((ticks % TICKS_PER_SECOND) * 100n);
  }
}

function addMonths(days: number, ticks: bigint, months: number): { days: number; ticks: bigint } {
  const { y, m, d } = civilFromDays(days);
  const total = y * 12 + (m - 1) + months;
  const ny = Math.floor(total / 12);
  const nm = (total % 12) + 1;
  if (ny < 1 || ny > 9999) throw sqlError(517, 'dateadd');
  return { days: daysFromCivil(ny, nm, Math.min(d, daysInMonth(ny, nm))), ticks };
}

const TICKS_OF: Partial<Record<DatePart, bigint>> = {
  day: TICKS_PER_DAY,
  dayofyear: TICKS_PER_DAY,
  weekday: TICKS_PER_DAY,
  week: TICKS_PER_DAY * 7n,
  hour: TICKS_PER_SECOND * 3600n,
  minute: TICKS_PER_SECOND * 60n,
  second: TICKS_PER_SECOND,
  millisecond: 10000n,
  microsecond: 10n,
};

// --- checksums
/** Canonical bytes of a value for hashing (strings case-folded by the collation, as CHECKSUM does). */
function hashBytes(v: SqlValue, t: SqlType, fold: boolean): Buffer {
  if (v === null) return Buffer.alloc(0);
  if (typeof v === 'string') {
    const s = fold ? collationKey(v) : v.replace(/ +$/, '');
    return Buffer.from(s, isUnicode(t) ? 'utf16le' : 'latin1');
  }
  if (Buffer.isBuffer(v)) return v;
  if (typeof v === 'bigint') {
    const b = Buffer.alloc(8);
    b.writeBigInt64LE(v);
    return b;
  }
  if (typeof v === 'number') {
    const b = Buffer.alloc(8);
    b.writeDoubleLE(v);
    return b;
  }
  if (typeof v === 'boolean') return Buffer.from([v ? 1 : 0]);
  switch (v.kind) {
    case 'decimal':
      return Buffer.from(decimalToString(v), 'latin1');
    case 'date':
      return Buffer.from(String(v.days));
    case 'time':
      return Buffer.from(v.ticks.toString());
    case 'datetime':
    case 'datetimeoffset':
      return Buffer.from(`${v.days}:${v.ticks}`);
  }
}

/** Rotate-and-xor hash over the bytes of each value, order sensitive; NULL contributes a marker. */
function checksum(vals: SqlValue[], types: SqlType[], fold: boolean): bigint {
  let h = 0;
  for (let i = 0; i < vals.length; i++) {
    const v = vals[i] ?? null;
    const bytes = v === null ? Buffer.from([0xff, 0x00]) : hashBytes(v, types[i] as SqlType, fold);
    for (const b of bytes) h = (((h << 4) | (h >>> 28)) ^ b) | 0;
    h = (((h << 4) | (h >>> 28)) ^ 0x5a) | 0;
  }
  return BigInt(h);
}

function checksumFn(fold: boolean): FunctionDef {
  return {
    arity: [0, 255],
    star: true,
    bind(args, bc, e) {
      let cols: Compiled[] = args;
      if (e.star) {
        cols = [];
        for (const s of bc.scope.sources) {
          s.used?.fill(true);
          s.columns.forEach((c, i) => {
            const pos = s.offset + i;
            cols.push({
              type: c.type,
              nullable: true,
              constant: false,
              eval(row) {
                return row[pos] ?? null;
              },
            });
          });
        }
      } else if (args.length === 0) throw sqlError(174, fold ? 'checksum' : 'binary_checksum', 1);
      const types = cols.map((c) => c.type);
      return {
        type: T.int,
        nullable: false,
        constant: false,
        eval(row, ctx) {
          return checksum(
            cols.map((c) => c.eval(row, ctx)),
            types,
            fold,
          );
        },
      };
    },
  };
}

function nowDatetime2(): { days: number; ticks: bigint } {
  return nowUtc();
}

function localNow(): { days: number; ticks: bigint } {
  const u = nowUtc();
  return normalise(u.days, u.ticks + BigInt(localOffsetMinutes()) * 600_000_000n);
}

const VERSION_TEXT =
  'Microsoft SQL Server 2019 (RTM-CU22) (KB5027702) - 15.0.4322.2 (X64) \n\tJul 27 2023 18:11:00 \n\tCopyright (C) 2019 Microsoft Corporation\n\tDeveloper Edition (64-bit) on Linux (Tidemark SQL Server simulator) <X64>';

function rowversionBytes(n: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(n);
  return b;
}

/** MIN_ACTIVE_ROWVERSION: lowest rowversion written by an uncommitted transaction in the database, else @@DBTS + 1. */
export function minActiveRowversion(ctx: EvalCtx): bigint {
  const db = ctx.session.database;
  let min: bigint | undefined;
  for (const t of ctx.session.engine.activeTxns) {
    const v = t.minRowversion.get(db.name.toLowerCase());
    if (v !== undefined && (min === undefined || v < min)) min = v;
  }
  return min ?? db.dbts + 1n;
}

function resolveObjectId(ctx: EvalCtx, name: string): number | null {
  const parts = name.split('.').map((p) => p.replace(/^\[(.*)\]$/, '$1').replace(/^"(.*)"$/, '$1'));
  let tname = parts[parts.length - 1] ?? '';
  const sname = parts.length >= 2 ? parts[parts.length - 2] || 'dbo' : 'dbo';
  let dbname = parts.length >= 3 ? parts[parts.length - 3] : undefined;
  // OBJECT_ID('tempdb..#t') (or '#t'): temporary tables live in tempdb under their stored name.
  if (tname.startsWith('#')) {
    tname = tempTableName(tname, ctx.session.spid);
    dbname = 'tempdb';
  }
  const db = dbname ? ctx.session.engine.database(dbname) : ctx.session.database;
  if (!db) return null;
  const t = db.schema(sname)?.tables.get(tname.toLowerCase());
  if (t) return t.objectId;
  for (const tb of db.tables()) {
    for (const ix of tb.indexes)
      if (ix.constraintObjectId !== undefined && ix.name.toLowerCase() === tname.toLowerCase())
        return ix.constraintObjectId;
    for (const c of tb.columns)
      if (c.default && c.default.name.toLowerCase() === tname.toLowerCase()) return c.default.objectId;
  }
  return null;
}

export const FUNCTIONS: Record<string, FunctionDef> = {
  ISNULL: lazy([2, 2], ([a, b]) => {
    const x = a as Compiled;
    const y = coerce(
      b as Compiled,
      x.type.name === 'int' && (a as Compiled).constant && (b as Compiled).type ? x.type : x.type,
    );
    return {
      type: x.type,
      nullable: y.nullable,
      constant: x.constant && y.constant,
      eval(row, ctx) {
        return x.eval(row, ctx) ?? y.eval(row, ctx);
      },
    };
  }),
  COALESCE: lazy([1, 255], (args) => {
    const t = combinedType(args);
    const cs = args.map((a) => coerce(a, t));
    return {
      type: t,
      nullable: cs.every((c) => c.nullable),
      constant: cs.every((c) => c.constant),
      eval(row, ctx) {
        for (const c of cs) {
          const v = c.eval(row, ctx);
          if (v !== null) return v;
        }
        return null;
      },
    };
  }),
  NULLIF: lazy([2, 2], ([a, b]) => {
    const x = a as Compiled;
    const y = coerce(b as Compiled, x.type);
    return {
      type: x.type,
      nullable: true,
      constant: x.constant && y.constant,
      eval(row, ctx) {
        const v = x.eval(row, ctx);
        const w = y.eval(row, ctx);
        return v !== null && w !== null && compareValues(v, w) === 0 ? null : v;
      },
    };
  }),
  IIF: lazy([3, 3], ([c, a, b]) => {
    const t = combinedType([a as Compiled, b as Compiled]);
    const x = coerce(a as Compiled, t);
    const y = coerce(b as Compiled, t);
    const cond = c as Compiled;
    return {
      type: t,
      nullable: true,
      constant: cond.constant && x.constant && y.constant,
      eval(row, ctx) {
        return cond.eval(row, ctx) === true ? x.eval(row, ctx) : y.eval(row, ctx);
      },
    };
  }),
  LEN: strict(
    [1, 1],
    () => T.int,
    ([v], [a]) => BigInt(str(convertValue(v ?? null, (a as Compiled).type, NV(-1))).replace(/ +$/, '').length),
  ),
  DATALENGTH: strict(
    [1, 1],
    () => T.int,
    ([v], [a]) => {
      const t = (a as Compiled).type;
      if (typeof v === 'string') return BigInt(isUnicode(t) ? v.length * 2 : Buffer.byteLength(v, 'latin1'));
      if (Buffer.isBuffer(v)) return BigInt(v.length);
      return BigInt(hashBytes(v ?? null, t, false).length);
    },
  ),
  UPPER: strict(
    [1, 1],
    (a) => sameStringType(a[0] as Compiled),
    ([v]) => str(v ?? '').toUpperCase(),
  ),
  LOWER: strict(
    [1, 1],
    (a) => sameStringType(a[0] as Compiled),
    ([v]) => str(v ?? '').toLowerCase(),
  ),
  LTRIM: strict(
    [1, 1],
    (a) => sameStringType(a[0] as Compiled),
    ([v]) => str(v ?? '').replace(/^ +/, ''),
  ),
  RTRIM: strict(
    [1, 1],
    (a) => sameStringType(a[0] as Compiled),
    ([v]) => str(v ?? '').replace(/ +$/, ''),
  ),
  TRIM: strict(
    [1, 1],
    (a) => sameStringType(a[0] as Compiled),
    ([v]) => str(v ?? '').replace(/^ +| +$/g, ''),
  ),
  REVERSE: strict(
    [1, 1],
    (a) => sameStringType(a[0] as Compiled),
    ([v]) => [...str(v ?? '')].reverse().join(''),
  ),
  SUBSTRING: strict(
    [3, 3],
    (a) =>
      Buffer.isBuffer(null)
        ? T.int
        : (a[0] as Compiled).type.name.includes('binary')
          ? T.varbinary(8000)
          : sameStringType(a[0] as Compiled),
    ([v, s, l]) => {
      const start = toInt(s ?? 1n);
      const len = toInt(l ?? 0n);
      if (len < 0) throw sqlError(537);
      const from = Math.max(start, 1);
      const to = start + len;
      if (Buffer.isBuffer(v)) return v.subarray(from - 1, Math.max(from - 1, to - 1));
      return str(v ?? '').slice(from - 1, Math.max(from - 1, to - 1));
    },
  ),
  LEFT: strict(
    [2, 2],
    (a) => sameStringType(a[0] as Compiled),
    ([v, n]) => str(v ?? '').slice(0, Math.max(0, toInt(n ?? 0n))),
  ),
  RIGHT: strict(
    [2, 2],
    (a) => sameStringType(a[0] as Compiled),
    ([v, n]) => {
      const s = str(v ?? '');
      const k = Math.max(0, toInt(n ?? 0n));
      return k === 0 ? '' : s.slice(-k);
    },
  ),
  REPLACE: strict(
    [3, 3],
    (a) => sameStringType(a[0] as Compiled, 8000),
    ([v, f, r]) => {
      const s = str(v ?? '');
      const find = str(f ?? '');
      if (find === '') return s;
      const re = new RegExp(find.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'gi');
      return s.replace(re, () => str(r ?? ''));
    },
  ),
  REPLICATE: strict(
    [2, 2],
    (a) => sameStringType(a[0] as Compiled, 8000),
    ([v, n]) => str(v ?? '').repeat(Math.max(0, toInt(n ?? 0n))),
  ),
  SPACE: strict(
    [1, 1],
    () => T.varchar(8000),
    ([n]) => ' '.repeat(Math.max(0, toInt(n ?? 0n))),
  ),
  CHARINDEX: strict(
    [2, 3],
    () => T.int,
    ([f, v, s]) => {
      const hay = collationKey(str(v ?? '') + 'x').slice(0, -1);
      const needle = collationKey(str(f ?? '') + 'x').slice(0, -1);
      const from = Math.max(1, s === undefined ? 1 : toInt(s));
      return BigInt(hay.indexOf(needle, from - 1) + 1);
    },
  ),
  ASCII: strict(
    [1, 1],
    () => T.int,
    ([v]) => (str(v ?? '').length ? BigInt(str(v ?? '').charCodeAt(0)) : null),
  ),
  UNICODE: strict(
    [1, 1],
    () => T.int,
    ([v]) => (str(v ?? '').length ? BigInt(str(v ?? '').codePointAt(0) ?? 0) : null),
  ),
  CHAR: strict(
    [1, 1],
    () => ({ name: 'char', length: 1 }),
    ([n]) => String.fromCharCode(toInt(n ?? 0n)),
  ),
  NCHAR: strict(
    [1, 1],
    () => ({ name: 'nchar', length: 1 }),
    ([n]) => String.fromCharCode(toInt(n ?? 0n)),
  ),
  CONCAT: lazy([2, 254], (args) => {
    // nvarchar when any argument is Unicode, else varchar; (max) only when an argument is (max). The type
    // decides HASHBYTES(…, CONCAT(…)) bytes, so it must match SQL Server.
    const unicode = args.some((a) => isUnicode(a.type));
    const max = args.some((a) => (isString(a.type) || a.type.name === 'varbinary') && a.type.length === -1);
    const cs = args.map((a) =>
      isString(a.type) ? a : coerce(a, { name: unicode ? 'nvarchar' : 'varchar', length: -1 }, true),
    );
    const limit = unicode ? 4000 : 8000;
    return {
      type: { name: unicode ? 'nvarchar' : 'varchar', length: max ? -1 : limit },
      nullable: false,
      constant: cs.every((c) => c.constant),
      eval(row, ctx) {
        const out = cs.map((c) => textOf(c.eval(row, ctx))).join('');
        return max || out.length <= limit ? out : out.slice(0, limit);
      },
    };
  }),
  CONCAT_WS: lazy([3, 254], (args) => {
    const cs = args.map(stringArg);
    const [sep, ...rest] = cs;
    return {
      type: NV(-1),
      nullable: false,
      constant: cs.every((c) => c.constant),
      eval(row, ctx) {
        return rest
          .map((c) => c.eval(row, ctx))
          .filter((v) => v !== null)
          .map(textOf)
          .join(str((sep as Compiled).eval(row, ctx) ?? ''));
      },
    };
  }),
  ABS: strict(
    [1, 1],
    (a) => (a[0] as Compiled).type,
    ([v]) => {
      if (typeof v === 'bigint') return v < 0n ? -v : v;
      if (typeof v === 'number') return Math.abs(v);
      if (isDecimalValue(v)) return dec(v.unscaled < 0n ? -v.unscaled : v.unscaled, v.scale);
      return v ?? null;
    },
  ),
  SIGN: strict(
    [1, 1],
    (a) => (a[0] as Compiled).type,
    ([v]) => {
      if (typeof v === 'bigint') return v < 0n ? -1n : v > 0n ? 1n : 0n;
      if (typeof v === 'number') return Math.sign(v);
      if (isDecimalValue(v))
        return dec(v.unscaled < 0n ? -1n * pow10(v.scale) : v.unscaled > 0n ? pow10(v.scale) : 0n, v.scale);
      return v ?? null;
    },
  ),
  CEILING: strict(
    [1, 1],
    (a) => floorType((a[0] as Compiled).type),
    ([v]) => roundToInt(v ?? null, 'ceil'),
  ),
  FLOOR: strict(
    [1, 1],
    (a) => floorType((a[0] as Compiled).type),
    ([v]) => roundToInt(v ?? null, 'floor'),
  ),
  ROUND: strict(
    [2, 3],
    (a) => (a[0] as Compiled).type,
    ([v, n, f], args) => {
      const digits = toInt(n ?? 0n);
      const trunc = f !== undefined && toInt(f) !== 0;
      if (typeof v === 'number') {
        const p = 10 ** digits;
        return trunc ? Math.trunc(v * p) / p : Math.round(v * p) / p;
      }
      if (typeof v === 'bigint') {
        if (digits >= 0) return v;
        const p = pow10(-digits);
        const q = v / p;
        const r = v % p;
        return (trunc ? q : (r < 0n ? -r : r) * 2n >= p ? q + (v < 0n ? -1n : 1n) : q) * p;
      }
      if (isDecimalValue(v)) {
        const s = v.scale;
        if (digits >= s) return v;
        const keep = Math.max(digits, -38);
        const p = pow10(s - keep);
        const q = v.unscaled / p;
        const r = v.unscaled % p;
        const rounded = trunc ? q : (r < 0n ? -r : r) * 2n >= p ? q + (v.unscaled < 0n ? -1n : 1n) : q;
        const out = dec(rounded * p, s);
        const t = (args[0] as Compiled).type;
        if (t.precision !== undefined && out.unscaled.toString().replace('-', '').length > t.precision)
          throw sqlError(8115, 'expression', 'numeric');
        return out;
      }
      return v ?? null;
    },
  ),
  POWER: strict(
    [2, 2],
    (a) => (isFloat((a[0] as Compiled).type) || isDecimal((a[0] as Compiled).type) ? T.float : (a[0] as Compiled).type),
    ([x, y], args) => {
      const t = (args[0] as Compiled).type;
      if (typeof x === 'bigint' && isInteger(t)) return BigInt(Math.trunc(Number(x) ** toInt(y ?? 0n)));
      return (
        Number(convertValue(x ?? null, t, T.float)) **
        Number(convertValue(y ?? null, (args[1] as Compiled).type, T.float))
      );
    },
  ),
  SQRT: strict(
    [1, 1],
    () => T.float,
    ([x], args) => Math.sqrt(Number(convertValue(x ?? null, (args[0] as Compiled).type, T.float))),
  ),
  GETDATE: niladic(T.datetime, () =>
    convertValue(mkDateTime(localNow().days, localNow().ticks), T.datetime2(7), T.datetime),
  ),
  GETUTCDATE: niladic(T.datetime, () =>
    convertValue(mkDateTime(nowDatetime2().days, nowDatetime2().ticks), T.datetime2(7), T.datetime),
  ),
  SYSDATETIME: niladic(T.datetime2(7), () => {
    const n = localNow();
    return mkDateTime(n.days, n.ticks);
  }),
  SYSUTCDATETIME: niladic(T.datetime2(7), () => {
    const n = nowDatetime2();
    return mkDateTime(n.days, n.ticks);
  }),
  SYSDATETIMEOFFSET: niladic({ name: 'datetimeoffset', scale: 7 }, () => {
    const n = nowDatetime2();
    return mkDto(n.days, n.ticks, localOffsetMinutes());
  }),
  DATEADD: {
    arity: [3, 3],
    rawFirstArg: true,
    bind([, n, d], _bc, e) {
      const part = datePartOf(e);
      const dd = temporalArg(d as Compiled);
      const nn = n as Compiled;
      const rt = dd.type;
      return {
        type: rt,
        nullable: true,
        constant: nn.constant && dd.constant,
        eval(row, ctx) {
          const nv = nn.eval(row, ctx);
          const dv = dd.eval(row, ctx);
          if (nv === null || dv === null) return null;
          const k = toInt(convertValue(nv, nn.type, T.bigint));
          const base = dt(dv, rt);
          let r: { days: number; ticks: bigint };
          if (part === 'year') r = addMonths(base.days, base.ticks, k * 12);
          else if (part === 'quarter') r = addMonths(base.days, base.ticks, k * 3);
          else if (part === 'month') r = addMonths(base.days, base.ticks, k);
          else if (part === 'nanosecond') r = normalise(base.days, base.ticks + BigInt(Math.trunc(k / 100)));
          else r = normalise(base.days, base.ticks + BigInt(k) * (TICKS_OF[part] ?? 1n));
          if (dv !== null && typeof dv === 'object' && !Buffer.isBuffer(dv) && dv.kind === 'datetimeoffset') {
            const utc = normalise(r.days, r.ticks - BigInt(dv.offsetMinutes) * 600_000_000n);
            return mkDto(utc.days, utc.ticks, dv.offsetMinutes);
          }
          if (rt.name === 'date') return { kind: 'date', days: r.days };
          if (rt.name === 'time') return { kind: 'time', ticks: r.ticks };
          return convertValue(mkDateTime(r.days, r.ticks), T.datetime2(7), rt);
        },
      };
    },
  },
  DATEDIFF: {
    arity: [3, 3],
    rawFirstArg: true,
    bind([, a, b], _bc, e) {
      const part = datePartOf(e);
      const x = temporalArg(a as Compiled);
      const y = temporalArg(b as Compiled);
      return {
        type: T.int,
        nullable: true,
        constant: x.constant && y.constant,
        eval(row, ctx) {
          const p = x.eval(row, ctx);
          const q = y.eval(row, ctx);
          if (p === null || q === null) return null;
          const s = dt(p, x.type);
          const t = dt(q, y.type);
          let n: bigint;
          const cs = civilFromDays(s.days);
          const ct = civilFromDays(t.days);
          switch (part) {
            case 'year':
              n = BigInt(ct.y - cs.y);
              break;
            case 'quarter':
              n = BigInt(ct.y * 4 + Math.floor((ct.m - 1) / 3) - (cs.y * 4 + Math.floor((cs.m - 1) / 3)));
              break;
            case 'month':
              n = BigInt(ct.y * 12 + ct.m - (cs.y * 12 + cs.m));
              break;
            case 'day':
            case 'dayofyear':
            case 'weekday':
              n = BigInt(t.days - s.days);
              break;
            case 'week':
              n = BigInt(Math.floor((t.days + 1) / 7) - Math.floor((s.days + 1) / 7));
              break;
            default: {
              const unit = part === 'nanosecond' ? 1n : (TICKS_OF[part] ?? 1n);
              const ta = BigInt(s.days) * TICKS_PER_DAY + s.ticks;
              const tb = BigInt(t.days) * TICKS_PER_DAY + t.ticks;
              n = part === 'nanosecond' ? (tb - ta) * 100n : tb / unit - ta / unit;
            }
          }
          if (n > 2147483647n || n < -2147483648n) throw sqlError(535, 'datediff');
          return n;
        },
      };
    },
  },
  DATEPART: {
    arity: [2, 2],
    rawFirstArg: true,
    bind([, d], _bc, e) {
      const part = datePartOf(e);
      const x = temporalArg(d as Compiled);
      return {
        type: T.int,
        nullable: true,
        constant: x.constant,
        eval(row, ctx) {
          const v = x.eval(row, ctx);
          if (v === null) return null;
          const p = dt(v, x.type);
          return BigInt(datePartValue(part, p.days, p.ticks, ctx.session.options.dateFirst));
        },
      };
    },
  },
  YEAR: strict(
    [1, 1],
    () => T.int,
    ([v], [a]) => BigInt(civilFromDays(dt(v ?? null, temporalArg(a as Compiled).type).days).y),
  ),
  MONTH: strict(
    [1, 1],
    () => T.int,
    ([v], [a]) => BigInt(civilFromDays(dt(v ?? null, temporalArg(a as Compiled).type).days).m),
  ),
  DAY: strict(
    [1, 1],
    () => T.int,
    ([v], [a]) => BigInt(civilFromDays(dt(v ?? null, temporalArg(a as Compiled).type).days).d),
  ),
  DATEFROMPARTS: strict(
    [3, 3],
    () => ({ name: 'date' }),
    ([y, m, d]) => {
      const yy = toInt(y ?? 0n);
      const mm = toInt(m ?? 0n);
      const ddv = toInt(d ?? 0n);
      if (yy < 1 || yy > 9999 || mm < 1 || mm > 12 || ddv < 1 || ddv > daysInMonth(yy, mm)) throw sqlError(289);
      return { kind: 'date', days: daysFromCivil(yy, mm, ddv) };
    },
  ),
  EOMONTH: strict(
    [1, 1],
    () => ({ name: 'date' }),
    ([v], [a]) => {
      const p = dt(v ?? null, temporalArg(a as Compiled).type);
      const { y, m } = civilFromDays(p.days);
      return { kind: 'date', days: daysFromCivil(y, m, daysInMonth(y, m)) };
    },
  ),
  NEWID: niladic(T.uniqueidentifier, () => randomUUID().toUpperCase()),
  HASHBYTES: strict(
    [2, 2],
    () => T.varbinary(8000),
    ([alg, input], args) => {
      const a = str(alg ?? '').toUpperCase();
      const algo = { MD5: 'md5', SHA1: 'sha1', SHA: 'sha1', SHA2_256: 'sha256', SHA2_512: 'sha512' }[a];
      if (!algo) return null;
      const t = (args[1] as Compiled).type;
      const v = input ?? null;
      const bytes =
        typeof v === 'string'
          ? Buffer.from(v, isUnicode(t) ? 'utf16le' : 'latin1')
          : Buffer.isBuffer(v)
            ? v
            : (convertValue(v, t, T.varbinary(-1)) as Buffer);
      return createHash(algo).update(bytes).digest();
    },
  ),
  BINARY_CHECKSUM: checksumFn(false),
  CHECKSUM: checksumFn(true),
  OBJECT_ID: strict(
    [1, 2],
    () => T.int,
    ([n, type], _a, ctx) => {
      const id = resolveObjectId(ctx, str(n ?? ''));
      if (id === null) return null;
      if (type !== undefined) {
        const ty = str(type).trim().toUpperCase();
        const isTable = [...ctx.session.engine.databases.values()].some((db) => db.tableById(id));
        if (ty === 'U' && !isTable) return null;
        if (ty !== 'U' && isTable) return null;
      }
      return BigInt(id);
    },
  ),
  OBJECT_NAME: strict(
    [1, 2],
    () => T.sysname,
    ([id, dbid], _a, ctx) => {
      const db = dbid === undefined ? ctx.session.database : ctx.session.engine.databaseById(toInt(dbid));
      return db?.tableById(toInt(id ?? 0n))?.name ?? null;
    },
  ),
  OBJECT_SCHEMA_NAME: strict(
    [1, 2],
    () => T.sysname,
    ([id, dbid], _a, ctx) => {
      const db = dbid === undefined ? ctx.session.database : ctx.session.engine.databaseById(toInt(dbid));
      return db?.tableById(toInt(id ?? 0n))?.schema.name ?? null;
    },
  ),
  SCHEMA_NAME: lazy([0, 1], (args) => {
    const a = args[0];
    return {
      type: T.sysname,
      nullable: true,
      constant: true,
      eval(row, ctx) {
        if (!a) return 'dbo';
        const id = a.eval(row, ctx);
        if (id === null) return null;
        for (const s of ctx.session.database.schemas.values()) if (s.schemaId === toInt(id)) return s.name;
        return null;
      },
    };
  }),
  SCHEMA_ID: lazy([0, 1], (args) => {
    const a = args[0];
    return {
      type: T.int,
      nullable: true,
      constant: true,
      eval(row, ctx) {
        const n = a ? a.eval(row, ctx) : 'dbo';
        if (n === null) return null;
        const s = ctx.session.database.schema(str(n));
        return s ? BigInt(s.schemaId) : null;
      },
    };
  }),
  DB_NAME: lazy([0, 1], (args) => {
    const a = args[0];
    return {
      type: T.sysname,
      nullable: true,
      constant: true,
      eval(row, ctx) {
        if (!a) return ctx.session.database.name;
        const id = a.eval(row, ctx);
        return id === null ? null : (ctx.session.engine.databaseById(toInt(id))?.name ?? null);
      },
    };
  }),
  DB_ID: lazy([0, 1], (args) => {
    const a = args[0];
    return {
      type: T.smallint,
      nullable: true,
      constant: true,
      eval(row, ctx) {
        if (!a) return BigInt(ctx.session.database.databaseId);
        const n = a.eval(row, ctx);
        const db = n === null ? undefined : ctx.session.engine.database(str(n));
        return db ? BigInt(db.databaseId) : null;
      },
    };
  }),
  APP_NAME: niladic(NV(128), (ctx) => ctx.session.appName),
  HOST_NAME: niladic(NV(128), (ctx) => ctx.session.hostName),
  SUSER_NAME: niladic(NV(128), (ctx) => ctx.session.login.name),
  SUSER_SNAME: niladic(NV(128), (ctx) => ctx.session.login.name),
  ORIGINAL_LOGIN: niladic(NV(128), (ctx) => ctx.session.login.name),
  USER_NAME: niladic(NV(128), (ctx) =>
    ctx.session.login.sysadmin
      ? 'dbo'
      : ([...ctx.session.database.users.values()].find(
          (u) => u.loginName?.toLowerCase() === ctx.session.login.name.toLowerCase(),
        )?.name ?? 'guest'),
  ),
  IS_SRVROLEMEMBER: strict(
    [1, 2],
    () => T.int,
    ([r], _a, ctx) => (str(r ?? '').toLowerCase() === 'sysadmin' ? (ctx.session.login.sysadmin ? 1n : 0n) : 0n),
  ),
  IS_MEMBER: strict(
    [1, 1],
    () => T.int,
    ([r], _a, ctx) => {
      if (ctx.session.login.sysadmin) return 1n;
      const u = [...ctx.session.database.users.values()].find(
        (x) => x.loginName?.toLowerCase() === ctx.session.login.name.toLowerCase(),
      );
      return u?.roles.has(str(r ?? '').toLowerCase()) ? 1n : 0n;
    },
  ),
  SERVERPROPERTY: strict(
    [1, 1],
    () => ({ name: 'nvarchar', length: 128 }),
    ([p], _a, ctx) => {
      const props: Record<string, string> = {
        productversion: '15.0.4322.2',
        productmajorversion: '15',
        productlevel: 'RTM',
        productupdatelevel: 'CU22',
        edition: 'Developer Edition (64-bit)',
        engineedition: '3',
        servername: ctx.session.engine.serverName,
        machinename: ctx.session.engine.serverName,
        instancename: '',
        ishadrenabled: '1',
        collation: 'SQL_Latin1_General_CP1_CI_AS',
        isclustered: '0',
      };
      return props[str(p ?? '').toLowerCase()] ?? null;
    },
  ),
  SCOPE_IDENTITY: niladic(
    { name: 'decimal', precision: 38, scale: 0 },
    (ctx) => toDecimalIdentity(ctx.session.scopeIdentity),
    true,
  ),
  IDENT_CURRENT: strict(
    [1, 1],
    () => ({ name: 'decimal', precision: 38, scale: 0 }),
    ([n], _a, ctx) => {
      const id = resolveObjectId(ctx, str(n ?? ''));
      const t = id === null ? undefined : ctx.session.database.tableById(id);
      if (!t || !t.identityColumn) return null;
      return dec(t.identityLast ?? t.identityColumn.identity?.seed ?? 1n, 0);
    },
  ),
  ERROR_NUMBER: niladic(T.int, (ctx) => errorField(ctx, (e) => BigInt(e.number)), true),
  ERROR_SEVERITY: niladic(T.int, (ctx) => errorField(ctx, (e) => BigInt(e.severity)), true),
  ERROR_STATE: niladic(T.int, (ctx) => errorField(ctx, (e) => BigInt(e.state)), true),
  ERROR_LINE: niladic(T.int, (ctx) => errorField(ctx, (e) => BigInt(e.lineNumber)), true),
  ERROR_MESSAGE: niladic(NV(4000), (ctx) => errorField(ctx, (e) => e.message), true),
  ERROR_PROCEDURE: niladic(NV(128), (ctx) => errorField(ctx, (e) => e.procName || null), true),
  XACT_STATE: niladic(T.smallint, (ctx) => {
    const t = ctx.session.txn;
    return t && !t.implicit ? (t.doomed ? -1n : 1n) : 0n;
  }),
  MIN_ACTIVE_ROWVERSION: niladic(T.binary(8), (ctx) => rowversionBytes(minActiveRowversion(ctx))),
  // @@globals
  '@@VERSION': niladic(NV(300), () => VERSION_TEXT),
  '@@SPID': niladic(T.smallint, (ctx) => BigInt(ctx.session.spid)),
  '@@ROWCOUNT': niladic(T.int, (ctx) => ctx.session.rowCount),
  '@@TRANCOUNT': niladic(T.int, (ctx) => BigInt(ctx.session.tranCount)),
  '@@DBTS': niladic(T.varbinary(8), (ctx) => rowversionBytes(ctx.session.database.dbts)),
  '@@SERVERNAME': niladic(NV(128), (ctx) => ctx.session.engine.serverName),
  '@@SERVICENAME': niladic(NV(128), () => 'MSSQLSERVER'),
  '@@IDENTITY': niladic(
    { name: 'decimal', precision: 38, scale: 0 },
    (ctx) => toDecimalIdentity(ctx.session.lastIdentity),
    true,
  ),
  '@@ERROR': niladic(T.int, (ctx) => BigInt(ctx.session.lastError)),
  '@@LANGUAGE': niladic(NV(128), (ctx) => ctx.session.options.language),
  '@@LOCK_TIMEOUT': niladic(T.int, (ctx) => BigInt(ctx.session.options.lockTimeout)),
  '@@DATEFIRST': niladic(T.tinyint, (ctx) => BigInt(ctx.session.options.dateFirst)),
  '@@MAX_PRECISION': niladic(T.tinyint, () => 38n),
  '@@TEXTSIZE': niladic(T.int, (ctx) => BigInt(ctx.session.options.textsize)),
  '@@OPTIONS': niladic(T.int, (ctx) => BigInt(optionsBits(ctx.session.options))),
};

/** A field of the error the innermost CATCH block handles; NULL outside CATCH. */
function errorField(ctx: EvalCtx, f: (e: SqlError) => SqlValue): SqlValue {
  const e = ctx.session.errorContext[ctx.session.errorContext.length - 1];
  return e ? f(e) : null;
}

function toDecimalIdentity(v: SqlValue): SqlValue {
  if (v === null) return null;
  if (typeof v === 'bigint') return dec(v, 0);
  return v;
}

function floorType(t: SqlType): SqlType {
  if (isDecimal(t) && t.name !== 'money' && t.name !== 'smallmoney')
    return { name: 'decimal', precision: t.precision ?? 18, scale: 0 };
  return t;
}

function roundToInt(v: SqlValue, mode: 'ceil' | 'floor'): SqlValue {
  if (typeof v === 'number') return mode === 'ceil' ? Math.ceil(v) : Math.floor(v);
  if (typeof v === 'bigint') return v;
  if (isDecimalValue(v)) {
    const p = pow10(v.scale);
    let q = v.unscaled / p;
    const r = v.unscaled % p;
    if (r !== 0n && mode === 'ceil' && v.unscaled > 0n) q += 1n;
    if (r !== 0n && mode === 'floor' && v.unscaled < 0n) q -= 1n;
    return dec(q, 0);
  }
  return v;
}

// ---------------------------------------------------------------------------------------------
// Aggregates

export interface AggregateDef {
  resultType(arg: SqlType | undefined): SqlType;
  init(): unknown;
  step(state: unknown, v: SqlValue, argType: SqlType | undefined): unknown;
  result(state: unknown, rt: SqlType, argType: SqlType | undefined): SqlValue;
}

interface SumState {
  n: number;
  int: bigint;
  dec?: { unscaled: bigint; scale: number };
  f: number;
}

function sumStep(s: SumState, v: SqlValue): SumState {
  s.n++;
  if (typeof v === 'bigint') s.int += v;
  else if (typeof v === 'number') s.f += v;
  else if (typeof v === 'boolean') s.int += v ? 1n : 0n;
  else if (isDecimalValue(v)) {
    if (!s.dec) s.dec = { unscaled: 0n, scale: v.scale };
    const sc = Math.max(s.dec.scale, v.scale);
    s.dec = { unscaled: s.dec.unscaled * pow10(sc - s.dec.scale) + v.unscaled * pow10(sc - v.scale), scale: sc };
  }
  return s;
}

function sumType(t: SqlType | undefined): SqlType {
  if (!t) return T.int;
  if (t.name === 'tinyint' || t.name === 'smallint' || t.name === 'int') return T.int;
  if (t.name === 'bigint') return T.bigint;
  if (t.name === 'money' || t.name === 'smallmoney') return { name: 'money' };
  if (t.name === 'decimal' || t.name === 'numeric') return { name: 'decimal', precision: 38, scale: t.scale ?? 0 };
  if (isFloat(t)) return T.float;
  throw sqlError(8117, typeToString(t), 'sum');
}

export const AGGREGATES: Record<string, AggregateDef> = {
  COUNT: {
    resultType() {
      return T.int;
    },
    init() {
      return { n: 0n };
    },
    step(s, v) {
      if (v !== null) (s as { n: bigint }).n++;
      return s;
    },
    result(s) {
      const n = (s as { n: bigint }).n;
      if (n > 2147483647n) throw sqlError(8115, 'expression', 'int');
      return n;
    },
  },
  COUNT_BIG: {
    resultType() {
      return T.bigint;
    },
    init() {
      return { n: 0n };
    },
    step(s, v) {
      if (v !== null) (s as { n: bigint }).n++;
      return s;
    },
    result(s) {
      return (s as { n: bigint }).n;
    },
  },
  SUM: {
    resultType: sumType,
    init(): SumState {
      return { n: 0, int: 0n, f: 0 };
    },
    step(s, v) {
      return v === null ? s : sumStep(s as SumState, v);
    },
    result(s, rt) {
      const st = s as SumState;
      if (st.n === 0) return null;
      if (isFloat(rt)) return st.f;
      if (isInteger(rt)) return convertValue(st.int, T.bigint, rt);
      const d = st.dec ?? { unscaled: st.int, scale: 0 };
      return convertValue(dec(d.unscaled, d.scale), { name: 'decimal', precision: 38, scale: d.scale }, rt);
    },
  },
  AVG: {
    resultType(t) {
      if (!t) return T.int;
      if (isInteger(t)) return t.name === 'bigint' ? T.bigint : T.int;
      if (t.name === 'money' || t.name === 'smallmoney') return { name: 'money' };
      if (isDecimal(t)) return { name: 'decimal', precision: 38, scale: Math.max(t.scale ?? 0, 6) };
      if (isFloat(t)) return T.float;
      throw sqlError(8117, typeToString(t), 'avg');
    },
    init(): SumState {
      return { n: 0, int: 0n, f: 0 };
    },
    step(s, v) {
      return v === null ? s : sumStep(s as SumState, v);
    },
    result(s, rt) {
      const st = s as SumState;
      if (st.n === 0) return null;
      if (isFloat(rt)) return st.f / st.n;
      if (isInteger(rt)) return st.int / BigInt(st.n);
      const d = st.dec ?? { unscaled: st.int, scale: 0 };
      const scale = rt.name === 'money' ? 4 : (rt.scale ?? 6);
      return dec((d.unscaled * pow10(scale)) / (pow10(d.scale) * BigInt(st.n)), scale);
    },
  },
  MIN: {
    resultType(t) {
      return t ?? T.int;
    },
    init() {
      return { v: null as SqlValue };
    },
    step(s, v) {
      const st = s as { v: SqlValue };
      if (v !== null && (st.v === null || compareValues(v, st.v) < 0)) st.v = v;
      return st;
    },
    result(s) {
      return (s as { v: SqlValue }).v;
    },
  },
  MAX: {
    resultType(t) {
      return t ?? T.int;
    },
    init() {
      return { v: null as SqlValue };
    },
    step(s, v) {
      const st = s as { v: SqlValue };
      if (v !== null && (st.v === null || compareValues(v, st.v) > 0)) st.v = v;
      return st;
    },
    result(s) {
      return (s as { v: SqlValue }).v;
    },
  },
  CHECKSUM_AGG: {
    resultType(t) {
      if (t && !isInteger(t)) throw sqlError(8117, typeToString(t), 'checksum_agg');
      return T.int;
    },
    init() {
      return { x: 0n, any: false };
    },
    step(s, v) {
      const st = s as { x: bigint; any: boolean };
      if (v !== null) {
        st.x = BigInt.asIntN(32, st.x ^ (v as bigint));
        st.any = true;
      }
      return st;
    },
    result(s) {
      const st = s as { x: bigint; any: boolean };
      return st.any ? st.x : null;
    },
  },
};

export { literal, rescale, guidToBytes, DATETIME_EPOCH_DAYS };
