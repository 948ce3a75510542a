/**
 * Values: conversion between types (CAST/CONVERT and implicit), comparison under the default collation
 * SQL_Latin1_General_CP1_CI_AS, and text forms. Exact throughout: integers are bigint, decimals are unscaled
 * bigint + scale, temporal values are days + 100 ns ticks. Only float/real are JS numbers.
 */
import type { SqlDecimal, SqlType, SqlValue, SqlDateTime, SqlDateTimeOffset } from './api.js';
import { sqlError } from './errors.js';
import {
  DATETIME_EPOCH_DAYS,
  TICKS_PER_DAY,
  formatDate,
  formatDatetime,
  formatDatetimeStyle0,
  formatOffset,
  formatTime,
  mkDate,
  mkDateTime,
  mkDto,
  mkTime,
  normalise,
  parseDateTime,
  roundDatetimeTicks,
  roundTicks,
} from './datetime.js';
import { INT_RANGE, isBinary, isDecimal, isString, isUnicode, typeToString } from './types.js';

export const dec = (unscaled: bigint, scale: number): SqlDecimal => ({ kind: 'decimal', unscaled, scale });

export function isDecimalValue(v: SqlValue | undefined): v is SqlDecimal {
  return typeof v === 'object' && v !== null && !Buffer.isBuffer(v) && v.kind === 'decimal';
}

const POW10: bigint[] = [];
for (let i = 0n; i <= 80n; i++) POW10.push(10n ** i);
export const pow10 = (n: number): bigint => POW10[n] ?? 10n ** BigInt(n);

/** Rescales with rounding half away from zero (SQL Server's rounding on conversion). */
export function rescale(d: SqlDecimal, scale: number): SqlDecimal {
  if (scale === d.scale) return d;
  if (scale > d.scale) return dec(d.unscaled * pow10(scale - d.scale), scale);
  const div = pow10(d.scale - scale);
  const q = d.unscaled / div;
  const r = d.unscaled % div;
  const twice = (r < 0n ? -r : r) * 2n;
  return dec(twice >= div ? q + (d.unscaled < 0n ? -1n : 1n) : q, scale);
}

/** Truncates toward zero to `scale` digits. */
export function truncateScale(d: SqlDecimal, scale: number): SqlDecimal {
  if (scale >= d.scale) return rescale(d, scale);
  return dec(d.unscaled / pow10(d.scale - scale), scale);
}

export function digitCount(n: bigint): number {
  const a = n < 0n ? -n : n;
  return a === 0n ? 1 : a.toString().length;
}

export function decimalToString(d: SqlDecimal): string {
  const neg = d.unscaled < 0n;
  const digits = (neg ? -d.unscaled : d.unscaled).toString();
  if (d.scale === 0) return (neg ? '-' : '') + digits;
  const padded = digits.padStart(d.scale + 1, '0');
  return (neg ? '-' : '') + padded.slice(0, -d.scale) + '.' + padded.slice(-d.scale);
}

const DECIMAL_RE = /^\s*([+-])?(\d*)(?:\.(\d*))?\s*$/;

export function parseDecimal(text: string): SqlDecimal | undefined {
  const m = DECIMAL_RE.exec(text);
  if (!m || ((m[2] ?? '') === '' && (m[3] ?? '') === '')) return undefined;
  const frac = m[3] ?? '';
  const unscaled = BigInt((m[2] || '0') + frac);
  return dec(m[1] === '-' ? -unscaled : unscaled, frac.length);
}

/** Float text as CAST(float AS varchar) writes it: up to 6 significant digits, exponent form when large. */
export function floatToString(n: number, digits = 6): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === 0) return '0';
  const exp = Math.floor(Math.log10(Math.abs(n)));
  if (exp < -4 || exp >= digits) {
    const [mant = '', e = '0'] = n.toExponential(digits - 1).split('e');
    const m = mant.includes('.') ? mant.replace(/0+$/, '').replace(/\.$/, '') : mant;
    const en = Number(e);
    return `${m}e${en < 0 ? '-' : '+'}${String(Math.abs(en)).padStart(3, '0')}`;
  }
  const s = n.toPrecision(digits);
  return s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s;
}

// --- GUIDs: SQL Server orders uniqueidentifier by byte groups 10-15, 8-9, 6-7, 4-5, 0-3 of its text form.
const GUID_RE = /^\s*\{?([0-9a-fA-F]{8})-([0-9a-fA-F]{4})-([0-9a-fA-F]{4})-([0-9a-fA-F]{4})-([0-9a-fA-F]{12})\}?\s*$/;

export function parseGuid(text: string): string | undefined {
  const m = GUID_RE.exec(text);
  return m ? `${m[1]}-${m[2]}-${m[3]}-${m[4]}-${m[5]}`.toUpperCase() : undefined;
}

function guidSortKey(g: string): string {
  const h = g.replace(/-/g, '');
  return h.slice(20, 32) + h.slice(16, 20) + h.slice(12, 16) + h.slice(8, 12) + h.slice(0, 8);
}

/** uniqueidentifier → its 16 bytes (first three groups little-endian, as SQL Server stores them). */
export function guidToBytes(g: string): Buffer {
  const h = g.replace(/-/g, '');
  const b = Buffer.from(h, 'hex');
  const out = Buffer.alloc(16);
  out[0] = b[3] ?? 0;
  out[1] = b[2] ?? 0;
  out[2] = b[1] ?? 0;
  out[3] = b[0] ?? 0;
  out[4] = b[5] ?? 0;
  out[5] = b[4] ?? 0;
  out[6] = b[7] ?? 0;
  out[7] = b[6] ?? 0;
  b.copy(out, 8, 8);
  return out;
}

export function bytesToGuid(b: Buffer): string {
  const o = Buffer.from([b[3] ?? 0, b[2] ?? 0, b[1] ?? 0, b[0] ?? 0, b[5] ?? 0, b[4] ?? 0, b[7] ?? 0, b[6] ?? 0]);
  const h = Buffer.concat([o, b.subarray(8, 16)])
    .toString('hex')
    .toUpperCase();
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

// --- Collation SQL_Latin1_General_CP1_CI_AS (approximation documented in sim/README.md): case-insensitive,
// accent-sensitive, trailing spaces ignored. Ordering is by upper-cased code units, which matches SQL Server
// for letters and digits but not for every punctuation character.
export function collationKey(s: string): string {
  let end = s.length;
  while (end > 0 && s.charCodeAt(end - 1) === 32) end--;
  return (end === s.length ? s : s.slice(0, end)).toUpperCase();
}

export function compareStrings(a: string, b: string): number {
  const ka = collationKey(a);
  const kb = collationKey(b);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/** varbinary comparison: byte-wise unsigned; trailing 0x00 bytes do not make values different. */
export function compareBinary(a: Buffer, b: Buffer): number {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

export function compareDecimals(a: SqlDecimal, b: SqlDecimal): number {
  const s = Math.max(a.scale, b.scale);
  const x = a.unscaled * pow10(s - a.scale);
  const y = b.unscaled * pow10(s - b.scale);
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * Total order of two non-NULL values of the same type family (the binder converts mixed operands to the type
 * of higher precedence before comparing). Mixed numeric representations are still compared exactly.
 */
export function compareValues(a: SqlValue, b: SqlValue): number {
  if (typeof a === 'bigint' && typeof b === 'bigint') return a < b ? -1 : a > b ? 1 : 0;
  if (typeof a === 'string' && typeof b === 'string') {
    if (GUID_LIKE.test(a) && GUID_LIKE.test(b)) {
      const ka = guidSortKey(a);
      const kb = guidSortKey(b);
      return ka < kb ? -1 : ka > kb ? 1 : 0;
    }
    return compareStrings(a, b);
  }
  if (typeof a === 'number' && typeof b === 'number') return a < b ? -1 : a > b ? 1 : 0;
  if (typeof a === 'boolean' && typeof b === 'boolean') return a === b ? 0 : a ? 1 : -1;
  if (Buffer.isBuffer(a) && Buffer.isBuffer(b)) return compareBinary(a, b);
  if (a === null || b === null) throw new Error('compareValues on NULL');
  if (typeof a === 'object' && typeof b === 'object' && !Buffer.isBuffer(a) && !Buffer.isBuffer(b)) {
    if (a.kind === 'decimal' && b.kind === 'decimal') return compareDecimals(a, b);
    if (a.kind === 'date' && b.kind === 'date') return a.days - b.days;
    if (a.kind === 'time' && b.kind === 'time') return a.ticks < b.ticks ? -1 : a.ticks > b.ticks ? 1 : 0;
    if (
      (a.kind === 'datetime' && b.kind === 'datetime') ||
      (a.kind === 'datetimeoffset' && b.kind === 'datetimeoffset')
    )
      return a.days !== b.days ? a.days - b.days : a.ticks < b.ticks ? -1 : a.ticks > b.ticks ? 1 : 0;
  }
  // Mixed numeric representations.
  const na = numericOf(a);
  const nb = numericOf(b);
  if (na !== undefined && nb !== undefined) {
    if (typeof na === 'number' || typeof nb === 'number') {
      const x = typeof na === 'number' ? na : Number(decimalToString(na));
      const y = typeof nb === 'number' ? nb : Number(decimalToString(nb));
      return x < y ? -1 : x > y ? 1 : 0;
    }
    return compareDecimals(na, nb);
  }
  throw new Error(`compareValues: incomparable ${textOf(a)} / ${textOf(b)}`);
}
const GUID_LIKE = /^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$/;

function numericOf(v: SqlValue): SqlDecimal | number | undefined {
  if (typeof v === 'bigint') return dec(v, 0);
  if (typeof v === 'boolean') return dec(v ? 1n : 0n, 0);
  if (typeof v === 'number') return v;
  if (isDecimalValue(v)) return v;
  return undefined;
}

/** Equality for GROUP BY / DISTINCT / joins: a hashable key under the collation. */
export function groupKey(v: SqlValue): string {
  if (v === null) return '\u0000N';
  if (typeof v === 'string') return 's' + collationKey(v);
  if (typeof v === 'bigint') return 'n' + v.toString();
  if (typeof v === 'number') return 'f' + String(v);
  if (typeof v === 'boolean') return 'n' + (v ? '1' : '0');
  if (Buffer.isBuffer(v)) {
    let end = v.length;
    while (end > 0 && v[end - 1] === 0) end--;
    return 'b' + v.subarray(0, end).toString('hex');
  }
  switch (v.kind) {
    case 'decimal': {
      let u = v.unscaled;
      let s = v.scale;
      while (s > 0 && u % 10n === 0n) {
        u /= 10n;
        s--;
      }
      return 'n' + (s === 0 ? u.toString() : decimalToString(dec(u, s)));
    }
    case 'date':
      return 'd' + v.days;
    case 'time':
      return 't' + v.ticks.toString();
    case 'datetime':
    case 'datetimeoffset':
      return 'd' + v.days + ':' + v.ticks.toString();
  }
}

// ---------------------------------------------------------------------------------------------
// Conversion

/** Code page 1252 round trip for non-Unicode strings: characters outside Latin-1 become '?'. */
export function toSingleByte(s: string): string {
  // eslint-disable-next-line no-control-regex
  return /[^\u0000-\u00ff]/.test(s) ? s.replace(/[^\u0000-\u00ff]/g, '?') : s;
}

function sqlTypeLabel(t: SqlType): string {
  return t.name === 'rowversion' ? 'timestamp' : t.name;
}

function literalForError(v: string): string {
  return v;
}

function checkIntRange(n: bigint, to: SqlType, fromLabel: string): bigint {
  const r = INT_RANGE[to.name];
  if (r && (n < r[0] || n > r[1])) {
    if (to.name === 'tinyint' || to.name === 'smallint') throw sqlError(220, to.name, n.toString());
    throw sqlError(8115, fromLabel, to.name);
  }
  return n;
}

function checkDecimal(d: SqlDecimal, to: SqlType, fromLabel: string): SqlDecimal {
  const p = to.name === 'money' ? 19 : to.name === 'smallmoney' ? 10 : (to.precision ?? 18);
  if (d.unscaled !== 0n && digitCount(d.unscaled) > p)
    throw sqlError(8115, fromLabel, to.name === 'money' || to.name === 'smallmoney' ? to.name : 'numeric');
  return d;
}

function targetScale(to: SqlType): number {
  return to.name === 'money' || to.name === 'smallmoney' ? 4 : (to.scale ?? 0);
}

function numberToDecimal(n: number, scale: number): SqlDecimal {
  if (!Number.isFinite(n)) throw sqlError(8115, 'float', 'numeric');
  const parsed = parseDecimal(n.toFixed(Math.min(20, Math.max(scale + 1, 0))));
  if (!parsed) throw sqlError(8114, 'float', 'numeric');
  if (Math.abs(n) >= 1e21) {
    const big = BigInt(Math.round(n)); // beyond 1e21 toFixed switches to exponent form
    return dec(big * pow10(scale), scale);
  }
  return rescale(parsed, scale);
}

function toNumber(v: SqlValue, from: SqlType): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (isDecimalValue(v)) return Number(decimalToString(v));
  if (typeof v === 'string') {
    const t = v.trim();
    if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t)) throw sqlError(8114, sqlTypeLabel(from), 'float');
    return Number(t);
  }
  throw sqlError(8114, sqlTypeLabel(from), 'float');
}

function bytesOfInt(n: bigint, size: number): Buffer {
  const b = Buffer.alloc(size);
  let x = BigInt.asUintN(size * 8, n);
  for (let i = size - 1; i >= 0; i--) {
    b[i] = Number(x & 0xffn);
    x >>= 8n;
  }
  return b;
}

const INT_SIZE: Record<string, number> = { tinyint: 1, smallint: 2, int: 4, bigint: 8 };

function fitBinary(b: Buffer, to: SqlType, leftPadNumbers: boolean): Buffer {
  const len = to.length === -1 || to.length === undefined ? (to.name === 'rowversion' ? 8 : b.length) : to.length;
  if (to.name === 'varbinary' && to.length === -1) return b;
  if (b.length > len) return leftPadNumbers ? b.subarray(b.length - len) : b.subarray(0, len);
  if ((to.name === 'binary' || to.name === 'rowversion') && b.length < len) {
    const out = Buffer.alloc(len);
    if (leftPadNumbers) b.copy(out, len - b.length);
    else b.copy(out, 0);
    return out;
  }
  return b;
}

/** Text of any value for messages and string functions (style 0 of its natural type). */
export function textOf(v: SqlValue): string {
  if (v === null) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'bigint' || typeof v === 'number' || typeof v === 'boolean' || Buffer.isBuffer(v))
    return valueToString(v, { name: 'nvarchar' });
  switch (v.kind) {
    case 'decimal':
      return decimalToString(v);
    case 'date':
      return valueToString(v, { name: 'date' });
    case 'time':
      return valueToString(v, { name: 'time', scale: 7 });
    case 'datetime':
      return valueToString(v, { name: 'datetime2', scale: 7 });
    case 'datetimeoffset':
      return valueToString(v, { name: 'datetimeoffset', scale: 7 });
  }
}

/** The text form of a value (CAST(x AS varchar) with style 0, or CONVERT styles 1/2 for binary, 120/121/126/127). */
export function valueToString(v: SqlValue, from: SqlType, style = 0): string {
  if (v === null) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'boolean') return v ? '1' : '0';
  if (typeof v === 'number') return from.name === 'real' ? floatToString(v, 7) : floatToString(v, style === 3 ? 17 : 6);
  if (Buffer.isBuffer(v)) {
    if (style === 1) return '0x' + v.toString('hex').toUpperCase();
    if (style === 2) return v.toString('hex').toUpperCase();
    return v.toString('latin1');
  }
  switch (v.kind) {
    case 'decimal':
      if (from.name === 'money' || from.name === 'smallmoney') return decimalToString(rescale(v, style === 2 ? 4 : 2));
      return decimalToString(v);
    case 'date':
      return formatDate(v.days);
    case 'time':
      return formatTime(v.ticks, from.scale ?? 7);
    case 'datetime':
      if (from.name === 'datetime2') return `${formatDate(v.days)} ${formatTime(v.ticks, from.scale ?? 7)}`;
      if (from.name === 'smalldatetime' && (style === 120 || style === 20))
        return `${formatDate(v.days)} ${formatTime(v.ticks, 0)}`;
      if (style === 120 || style === 20) return `${formatDate(v.days)} ${formatTime(v.ticks, 0)}`;
      if (style === 121 || style === 21 || style === 126 || style === 127) {
        const s = formatDatetime(v.days, v.ticks);
        return style >= 126 ? s.replace(' ', 'T') : s;
      }
      return formatDatetimeStyle0(v.days, v.ticks);
    case 'datetimeoffset': {
      const local = normalise(v.days, v.ticks + BigInt(v.offsetMinutes) * 600_000_000n);
      return `${formatDate(local.days)} ${formatTime(local.ticks, from.scale ?? 7)} ${formatOffset(v.offsetMinutes)}`;
    }
  }
}

function parseTemporalString(s: string): NonNullable<ReturnType<typeof parseDateTime>> {
  const p = parseDateTime(s);
  if (!p) throw sqlError(241);
  return p;
}

/**
 * Converts `v` of type `from` to type `to` as CAST/CONVERT does. `style` follows CONVERT. Errors are SQL
 * Server's (245, 8114, 8115, 241, 8169, 220, 529-as-8114 for conversions SQL Server does not allow).
 */
export function convertValue(v: SqlValue, from: SqlType, to: SqlType, style = 0): SqlValue {
  if (v === null) return null;
  switch (to.name) {
    case 'bit': {
      if (typeof v === 'boolean') return v;
      if (typeof v === 'bigint') return v !== 0n;
      if (typeof v === 'number') return v !== 0;
      if (isDecimalValue(v)) return v.unscaled !== 0n;
      if (typeof v === 'string') {
        const t = v.trim().toUpperCase();
        if (t === 'TRUE') return true;
        if (t === 'FALSE') return false;
        const d = parseDecimal(t);
        if (!d) throw sqlError(245, sqlTypeLabel(from), literalForError(v), 'bit');
        return d.unscaled !== 0n;
      }
      break;
    }
    case 'tinyint':
    case 'smallint':
    case 'int':
    case 'bigint': {
      const label = from.name === 'decimal' || from.name === 'numeric' ? 'numeric' : 'expression';
      if (typeof v === 'bigint') return checkIntRange(v, to, label);
      if (typeof v === 'boolean') return v ? 1n : 0n;
      if (typeof v === 'number') {
        if (!Number.isFinite(v)) throw sqlError(8115, 'float', to.name);
        return checkIntRange(BigInt(Math.trunc(v)), to, 'float');
      }
      if (isDecimalValue(v)) {
        // money rounds to integers; decimal/numeric truncate (documented CAST behaviour).
        const n =
          from.name === 'money' || from.name === 'smallmoney' ? rescale(v, 0).unscaled : truncateScale(v, 0).unscaled;
        return checkIntRange(n, to, label);
      }
      if (typeof v === 'string') {
        const t = v.trim();
        if (!/^[+-]?\d+$/.test(t)) {
          if (t === '') return 0n;
          throw sqlError(245, sqlTypeLabel(from), literalForError(v), to.name);
        }
        const n = BigInt(t);
        const r = INT_RANGE[to.name];
        if (r && (n < r[0] || n > r[1])) throw sqlError(248, sqlTypeLabel(from), v, to.name);
        return n;
      }
      if (Buffer.isBuffer(v)) {
        const size = INT_SIZE[to.name] ?? 8;
        const b = v.length >= size ? v.subarray(v.length - size) : Buffer.concat([Buffer.alloc(size - v.length), v]);
        let n = 0n;
        for (const byte of b) n = (n << 8n) | BigInt(byte);
        return BigInt.asIntN(size * 8, n);
      }
      break;
    }
    case 'decimal':
    case 'numeric':
    case 'money':
    case 'smallmoney': {
      const scale = targetScale(to);
      const label =
        from.name === 'decimal' || from.name === 'numeric'
          ? 'numeric'
          : from.name === 'float' || from.name === 'real'
            ? 'float'
            : isString(from)
              ? from.name
              : 'expression';
      if (typeof v === 'bigint')
        return checkDecimal(dec(v * pow10(scale), scale), to, label === 'numeric' ? 'numeric' : 'expression');
      if (typeof v === 'boolean') return checkDecimal(dec((v ? 1n : 0n) * pow10(scale), scale), to, 'expression');
      if (isDecimalValue(v)) return checkDecimal(rescale(v, scale), to, 'numeric');
      if (typeof v === 'number') return checkDecimal(numberToDecimal(v, scale), to, 'float');
      if (typeof v === 'string') {
        const d = parseDecimal(v.replace(/^\s*\$/, ''));
        if (!d)
          throw sqlError(
            8114,
            sqlTypeLabel(from),
            to.name === 'money' || to.name === 'smallmoney' ? to.name : 'numeric',
          );
        return checkDecimal(rescale(d, scale), to, from.name);
      }
      break;
    }
    case 'float':
    case 'real': {
      if (Buffer.isBuffer(v) || (typeof v === 'object' && !isDecimalValue(v))) break;
      const n = toNumber(v, from);
      return to.name === 'real' ? Math.fround(n) : n;
    }
    case 'char':
    case 'varchar':
    case 'nchar':
    case 'nvarchar': {
      let s: string;
      if (typeof v === 'string') s = v;
      else if (Buffer.isBuffer(v) && (to.name === 'nchar' || to.name === 'nvarchar') && style === 0) {
        s = v.subarray(0, v.length - (v.length % 2)).toString('utf16le');
      } else s = valueToString(v, from, style);
      if (!isUnicode(to)) s = toSingleByte(s);
      const len = to.length ?? 30;
      if (len !== -1 && s.length > len) {
        if (typeof v === 'bigint' || typeof v === 'boolean') return '*';
        if (isDecimalValue(v) || typeof v === 'number')
          throw sqlError(8115, isDecimalValue(v) ? 'numeric' : 'float', to.name);
        s = s.slice(0, len);
      }
      if ((to.name === 'char' || to.name === 'nchar') && s.length < len) s = s.padEnd(len, ' ');
      return s;
    }
    case 'binary':
    case 'varbinary':
    case 'rowversion': {
      if (Buffer.isBuffer(v)) return fitBinary(v, to, false);
      if (typeof v === 'bigint') return fitBinary(bytesOfInt(v, INT_SIZE[from.name] ?? 8), to, true);
      if (typeof v === 'boolean') return fitBinary(Buffer.from([v ? 1 : 0]), to, true);
      if (typeof v === 'string') {
        if (from.name === 'uniqueidentifier') return fitBinary(guidToBytes(v), to, false);
        if (style === 1 || style === 2) {
          const hex = style === 1 ? v.replace(/^0x/i, '') : v;
          if (!/^[0-9a-fA-F]*$/.test(hex) || hex.length % 2 !== 0) throw sqlError(8114, from.name, to.name);
          return fitBinary(Buffer.from(hex, 'hex'), to, false);
        }
        return fitBinary(Buffer.from(v, isUnicode(from) ? 'utf16le' : 'latin1'), to, false);
      }
      break;
    }
    case 'uniqueidentifier': {
      if (typeof v === 'string') {
        const g = parseGuid(v.length > 36 && isString(from) ? v.slice(0, 36) : v);
        if (!g) throw sqlError(8169);
        return g;
      }
      if (Buffer.isBuffer(v)) {
        const b = v.length >= 16 ? v : Buffer.concat([v, Buffer.alloc(16 - v.length)]);
        return bytesToGuid(b);
      }
      break;
    }
    case 'date':
    case 'time':
    case 'datetime':
    case 'smalldatetime':
    case 'datetime2':
    case 'datetimeoffset':
      return convertTemporal(v, from, to);
  }
  throw sqlError(529, typeToString(from), typeToString(to));
}

function convertTemporal(v: SqlValue, from: SqlType, to: SqlType): SqlValue {
  let days: number;
  let ticks: bigint;
  let offset: number | undefined;
  if (typeof v === 'string') {
    const p = parseTemporalString(v);
    // A time-only string means 1900-01-01, the default date of every temporal type.
    days = p.hasDate ? p.days : DATETIME_EPOCH_DAYS;
    ticks = p.ticks;
    offset = p.offsetMinutes;
    if (offset !== undefined && to.name === 'datetimeoffset') {
      const utc = normalise(days, ticks - BigInt(offset) * 600_000_000n);
      days = utc.days;
      ticks = utc.ticks;
    }
    if ((to.name === 'datetime' || to.name === 'smalldatetime') && days < DATETIME_EPOCH_DAYS - 53690)
      throw sqlError(242);
  } else if (typeof v === 'object' && v !== null && !Buffer.isBuffer(v) && v.kind !== 'decimal') {
    switch (v.kind) {
      case 'date':
        days = v.days;
        ticks = 0n;
        break;
      case 'time':
        if (to.name === 'date') throw sqlError(206, 'time', 'date');
        days = DATETIME_EPOCH_DAYS;
        ticks = v.ticks;
        break;
      case 'datetime':
        days = v.days;
        ticks = v.ticks;
        break;
      case 'datetimeoffset':
        if (to.name === 'datetimeoffset') {
          days = v.days;
          ticks = v.ticks;
          offset = v.offsetMinutes;
        } else {
          const local = normalise(v.days, v.ticks + BigInt(v.offsetMinutes) * 600_000_000n);
          days = local.days;
          ticks = local.ticks;
        }
        break;
    }
  } else if (
    (typeof v === 'bigint' || isDecimalValue(v) || typeof v === 'number') &&
    (to.name === 'datetime' || to.name === 'smalldatetime')
  ) {
    // datetime accepts numbers: days since 1900-01-01 (fraction = part of a day).
    const n = typeof v === 'bigint' ? Number(v) : typeof v === 'number' ? v : Number(decimalToString(v));
    const whole = Math.floor(n);
    days = DATETIME_EPOCH_DAYS + whole;
    ticks = BigInt(Math.round((n - whole) * Number(TICKS_PER_DAY)));
  } else {
    throw sqlError(529, typeToString(from), typeToString(to));
  }
  switch (to.name) {
    case 'date':
      return mkDate(days);
    case 'time': {
      const t = roundTicks(ticks, to.scale ?? 7);
      return mkTime(t >= TICKS_PER_DAY ? t - TICKS_PER_DAY : t);
    }
    case 'datetime': {
      const n = normalise(days, roundDatetimeTicks(ticks));
      return mkDateTime(n.days, n.ticks);
    }
    case 'smalldatetime': {
      const minute = 600_000_000n;
      const n = normalise(days, ((ticks + minute / 2n - 1n) / minute) * minute);
      return mkDateTime(n.days, n.ticks);
    }
    case 'datetime2': {
      const n = normalise(days, roundTicks(ticks, to.scale ?? 7));
      return mkDateTime(n.days, n.ticks);
    }
    default: {
      const n = normalise(days, roundTicks(ticks, to.scale ?? 7));
      return mkDto(n.days, n.ticks, offset ?? 0);
    }
  }
}

/** Whether SQL Server converts `from` to `to` implicitly (the implicit-conversion chart, simplified). */
export function implicitlyConvertible(from: SqlType, to: SqlType): boolean {
  if (from.name === to.name) return true;
  const f = from.name;
  const t = to.name;
  const temporal = ['date', 'time', 'datetime', 'smalldatetime', 'datetime2', 'datetimeoffset'];
  const numeric = [
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
  const str = ['char', 'varchar', 'nchar', 'nvarchar'];
  const bin = ['binary', 'varbinary', 'rowversion'];
  if (str.includes(f)) return true;
  if (str.includes(t)) return true;
  if (numeric.includes(f) && numeric.includes(t)) return true;
  if (bin.includes(f)) return !['float', 'real', 'date', 'time', 'datetime2', 'datetimeoffset'].includes(t);
  if (bin.includes(t))
    return (
      !['float', 'real', 'date', 'time', 'datetime2', 'datetimeoffset', 'uniqueidentifier'].includes(f) ||
      f === 'uniqueidentifier'
    );
  if (temporal.includes(f) && temporal.includes(t)) {
    if (f === 'time') return t !== 'date';
    if (t === 'time') return f !== 'date';
    return true;
  }
  if ((f === 'datetime' || f === 'smalldatetime') && numeric.includes(t)) return t !== 'bit';
  if (numeric.includes(f) && (t === 'datetime' || t === 'smalldatetime')) return true;
  return false;
}

/** Result type of a CASE/COALESCE/UNION-like combination: the type of higher precedence, widened. */
export { isBinary, isDecimal, isString };

/** Datetimeoffset helper for SYSDATETIMEOFFSET. */
export function dtoFromUtc(d: SqlDateTime, offsetMinutes: number): SqlDateTimeOffset {
  return mkDto(d.days, d.ticks, offsetMinutes);
}
