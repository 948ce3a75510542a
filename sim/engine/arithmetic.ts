/**
 * Arithmetic on SqlValues with SQL Server's result types: integer arithmetic in BigInt with overflow checks,
 * decimal arithmetic on unscaled BigInts with the precision/scale rules of types.ts, float in JS numbers.
 */
import type { SqlDecimal, SqlType, SqlValue } from './api.js';
import { sqlError } from './errors.js';
import {
  INT_RANGE,
  decimalResultType,
  integerAsDecimal,
  isDecimal,
  isFloat,
  isInteger,
  isString,
  precedence,
  typeToString,
} from './types.js';
import { convertValue, dec, digitCount, isDecimalValue, pow10, rescale } from './values.js';

export type ArithOp = '+' | '-' | '*' | '/' | '%' | '&' | '|' | '^';

/** The result type of `a op b`, or an error 402/8117 when SQL Server refuses the operand types. */
export function arithmeticType(op: ArithOp, a: SqlType, b: SqlType): SqlType {
  if (op === '+' && isString(a) && isString(b)) {
    const unicode = a.name === 'nvarchar' || a.name === 'nchar' || b.name === 'nvarchar' || b.name === 'nchar';
    const la = a.length ?? 1;
    const lb = b.length ?? 1;
    const max = unicode ? 4000 : 8000;
    const len = la === -1 || lb === -1 ? -1 : Math.min(la + lb, max);
    return { name: unicode ? 'nvarchar' : 'varchar', length: len };
  }
  if (
    op === '+' &&
    (a.name === 'varbinary' || a.name === 'binary') &&
    (b.name === 'varbinary' || b.name === 'binary')
  ) {
    const la = a.length ?? 1;
    const lb = b.length ?? 1;
    return { name: 'varbinary', length: la === -1 || lb === -1 ? -1 : Math.min(8000, la + lb) };
  }
  if (
    (a.name === 'datetime' || a.name === 'smalldatetime') &&
    (op === '+' || op === '-') &&
    (isInteger(b) || isDecimal(b) || isFloat(b) || b.name === a.name)
  )
    return a;
  if (
    (b.name === 'datetime' || b.name === 'smalldatetime') &&
    op === '+' &&
    (isInteger(a) || isDecimal(a) || isFloat(a))
  )
    return b;
  const hi = precedence(a.name) >= precedence(b.name) ? a : b;
  const lo = hi === a ? b : a;
  // A string operand converts to the numeric type of the other side.
  const numericLike = (t: SqlType): boolean => isInteger(t) || isDecimal(t) || isFloat(t) || t.name === 'bit';
  if (!numericLike(hi) || !(numericLike(lo) || isString(lo))) {
    if (isString(hi) && numericLike(lo)) return arithmeticType(op, lo, lo);
    throw sqlError(402, typeToString(a), typeToString(b), opName(op));
  }
  if (op === '&' || op === '|' || op === '^') {
    if (!(isInteger(hi) || hi.name === 'bit') || !(isInteger(lo) || lo.name === 'bit' || isString(lo)))
      throw sqlError(402, typeToString(a), typeToString(b), opName(op));
    return hi;
  }
  if (isFloat(hi)) return { name: 'float', precision: 53 };
  if (hi.name === 'money' || hi.name === 'smallmoney') {
    if (
      (op === '+' || op === '-') &&
      (lo.name === 'money' || lo.name === 'smallmoney' || isInteger(lo) || lo.name === 'bit')
    )
      return { name: 'money' };
    if ((op === '*' || op === '/') && (isInteger(lo) || lo.name === 'bit')) return { name: 'money' };
  }
  if (isDecimal(hi) || isDecimal(lo)) return decimalResultType(op, integerAsDecimal(a), integerAsDecimal(b));
  if (hi.name === 'bit') return { name: 'int' };
  return isString(lo) ? hi : hi;
}

function opName(op: ArithOp): string {
  return {
    '+': 'add',
    '-': 'subtract',
    '*': 'multiply',
    '/': 'divide',
    '%': 'modulo',
    '&': 'boolean AND',
    '|': 'boolean OR',
    '^': 'boolean XOR',
  }[op];
}

function checkInt(n: bigint, t: SqlType): bigint {
  const r = INT_RANGE[t.name];
  if (r && (n < r[0] || n > r[1])) {
    if (t.name === 'tinyint' || t.name === 'smallint') throw sqlError(220, t.name, n.toString());
    throw sqlError(8115, 'expression', t.name);
  }
  return n;
}

/** Evaluates `a op b` (both non-NULL, already of types ta/tb) into the result type `rt`. */
export function arithmetic(op: ArithOp, a: SqlValue, ta: SqlType, b: SqlValue, tb: SqlType, rt: SqlType): SqlValue {
  if (a === null || b === null) return null;
  if (isString(rt)) return (a as string) + (b as string);
  if (rt.name === 'varbinary') return Buffer.concat([a as Buffer, b as Buffer]);
  if ((rt.name === 'datetime' || rt.name === 'smalldatetime') && (ta.name === rt.name || tb.name === rt.name))
    return datetimeArith(op, a, ta, b, tb, rt);
  const x = ta.name === rt.name || (isDecimal(rt) && isDecimal(ta)) ? a : convertValue(a, ta, operandTypeFor(rt, ta));
  const y = tb.name === rt.name || (isDecimal(rt) && isDecimal(tb)) ? b : convertValue(b, tb, operandTypeFor(rt, tb));
  if (x === null || y === null) return null;
  if (rt.name === 'float' || rt.name === 'real') {
    const p = x as number;
    const q = y as number;
    switch (op) {
      case '+':
        return p + q;
      case '-':
        return p - q;
      case '*':
        return p * q;
      case '/':
        if (q === 0) throw sqlError(8134);
        return p / q;
      case '%':
        throw sqlError(402, 'float', 'float', 'modulo');
      default:
        throw sqlError(402, 'float', 'float', opName(op));
    }
  }
  if (isInteger(rt) || rt.name === 'bit') {
    const p = typeof x === 'boolean' ? (x ? 1n : 0n) : (x as bigint);
    const q = typeof y === 'boolean' ? (y ? 1n : 0n) : (y as bigint);
    switch (op) {
      case '+':
        return checkInt(p + q, rt);
      case '-':
        return checkInt(p - q, rt);
      case '*':
        return checkInt(p * q, rt);
      case '/':
        if (q === 0n) throw sqlError(8134);
        return checkInt(p / q, rt);
      case '%':
        if (q === 0n) throw sqlError(8134);
        return p % q;
      case '&':
        return rt.name === 'bit' ? (p & q) !== 0n : p & q;
      case '|':
        return rt.name === 'bit' ? (p | q) !== 0n : p | q;
      case '^':
        return rt.name === 'bit' ? (p ^ q) !== 0n : p ^ q;
    }
  }
  // decimal / money
  const p = toDec(x);
  const q = toDec(y);
  const scale = rt.name === 'money' || rt.name === 'smallmoney' ? 4 : (rt.scale ?? 0);
  const precision = rt.name === 'money' ? 19 : rt.name === 'smallmoney' ? 10 : (rt.precision ?? 38);
  let r: SqlDecimal;
  switch (op) {
    case '+':
    case '-': {
      const s = Math.max(p.scale, q.scale);
      const u = p.unscaled * pow10(s - p.scale) + (op === '+' ? 1n : -1n) * q.unscaled * pow10(s - q.scale);
      r = rescale(dec(u, s), scale);
      break;
    }
    case '*':
      r = rescale(dec(p.unscaled * q.unscaled, p.scale + q.scale), scale);
      break;
    case '/': {
      if (q.unscaled === 0n) throw sqlError(8134);
      // value = (p.u / 10^ps) / (q.u / 10^qs); scaled to `scale` digits, truncated like SQL Server.
      const num = p.unscaled * pow10(scale + q.scale);
      const den = q.unscaled * pow10(p.scale);
      r = dec(num / den, scale);
      break;
    }
    case '%': {
      if (q.unscaled === 0n) throw sqlError(8134);
      const s = Math.max(p.scale, q.scale);
      const u = (p.unscaled * pow10(s - p.scale)) % (q.unscaled * pow10(s - q.scale));
      r = rescale(dec(u, s), scale);
      break;
    }
    default:
      throw sqlError(402, typeToString(ta), typeToString(tb), opName(op));
  }
  if (r.unscaled !== 0n && digitCount(r.unscaled) > precision)
    throw sqlError(8115, 'expression', rt.name === 'money' ? 'money' : 'numeric');
  return r;
}

function operandTypeFor(rt: SqlType, t: SqlType): SqlType {
  if (isDecimal(rt))
    return isDecimal(t)
      ? t
      : isInteger(t) || t.name === 'bit'
        ? integerAsDecimal(t)
        : { name: 'decimal', precision: 38, scale: rt.scale ?? 0 };
  return rt;
}

function toDec(v: SqlValue): SqlDecimal {
  if (isDecimalValue(v)) return v;
  if (typeof v === 'bigint') return dec(v, 0);
  if (typeof v === 'boolean') return dec(v ? 1n : 0n, 0);
  throw new Error('toDec: not a number');
}

function datetimeArith(op: ArithOp, a: SqlValue, ta: SqlType, b: SqlValue, tb: SqlType, rt: SqlType): SqlValue {
  const dtA = ta.name === rt.name;
  const base = (dtA ? a : b) as { kind: 'datetime'; days: number; ticks: bigint };
  const other = dtA ? b : a;
  const otherType = dtA ? tb : ta;
  let offsetDays: number;
  if (otherType.name === rt.name) {
    const o = other as { days: number; ticks: bigint };
    offsetDays = o.days - 693595 + Number(o.ticks) / 864e9;
  } else {
    offsetDays = Number(convertValue(other, otherType, { name: 'float', precision: 53 }));
  }
  if (op === '-') offsetDays = -offsetDays;
  const totalTicks = BigInt(base.days) * 864_000_000_000n + base.ticks + BigInt(Math.round(offsetDays * 864e9));
  const days = Number(totalTicks / 864_000_000_000n);
  return convertValue(
    { kind: 'datetime', days, ticks: totalTicks - BigInt(days) * 864_000_000_000n },
    { name: 'datetime2', scale: 7 },
    rt,
  );
}

/** Unary minus. */
export function negate(v: SqlValue, t: SqlType): SqlValue {
  if (v === null) return null;
  if (typeof v === 'bigint') return checkInt(-v, t);
  if (typeof v === 'number') return -v;
  if (isDecimalValue(v)) return dec(-v.unscaled, v.scale);
  throw sqlError(8117, typeToString(t), 'minus');
}
