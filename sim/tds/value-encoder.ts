/**
 * Column plans: for each result column, its TYPE_INFO (MS-TDS 2.2.5.6) and an encoder that writes one non-NULL
 * value of that column (2.2.5.5 data type definitions) straight into the message buffer. NULLs never reach an
 * encoder: rows holding a NULL go out as NBCROW, which omits them (2.2.7.17).
 *
 * Values are exact: integers from bigint, decimals from their unscaled bigint, temporal values from day and tick
 * counts. Only float/real pass through a JS number.
 */
import type {
  ColumnMeta,
  SqlDate,
  SqlDateTime,
  SqlDateTimeOffset,
  SqlDecimal,
  SqlTime,
  SqlType,
  SqlValue,
} from '../engine/api.js';
import { DEFAULT_COLLATION, writeCp1252 } from './collation.js';
import { COLUMN_FLAGS, DATA_TYPE, USER_TYPE_TIMESTAMP, USHORT_MAX_LEN } from './constants.js';
import type { MessageWriter } from './message-writer.js';
import {
  DATETIME_UNITS_PER_DAY,
  DAYS_0001_TO_1900,
  TICKS_PER_DAY,
  TICKS_PER_MINUTE,
  TICKS_PER_UNIT,
  ticksToDatetimeUnits,
  timeLength,
} from './temporal.js';

/** Writes one non-NULL value. */
export type ValueEncoder = (w: MessageWriter, v: Exclude<SqlValue, null>) => void;

/** How one column goes on the wire. */
export interface ColumnPlan {
  userType: number;
  flags: number;
  /** TYPE_INFO bytes (2.2.5.6). */
  typeInfo: Buffer;
  encode: ValueEncoder;
}

/** Bytes of a DECIMALN/NUMERICN value by precision: 1–9 → 5, 10–19 → 9, 20–28 → 13, 29–38 → 17 (2.2.5.5.1.6). */
export function decimalLength(precision: number): 5 | 9 | 13 | 17 {
  return precision <= 9 ? 5 : precision <= 19 ? 9 : precision <= 28 ? 13 : 17;
}

const POW10: bigint[] = [];
for (let i = 0, p = 1n; i <= 38; i++, p *= 10n) POW10.push(p);

/** 10^n as bigint, 0 ≤ n ≤ 38. */
export function pow10(n: number): bigint {
  const p = POW10[n];
  if (p === undefined) throw new RangeError(`scale ${n} out of range`);
  return p;
}

/** The unscaled value of `d` at `scale`: exact when widening, rounded half away from zero when narrowing. */
export function rescale(d: SqlDecimal, scale: number): bigint {
  if (d.scale === scale) return d.unscaled;
  if (d.scale < scale) return d.unscaled * pow10(scale - d.scale);
  const div = pow10(d.scale - scale);
  const neg = d.unscaled < 0n;
  const abs = neg ? -d.unscaled : d.unscaled;
  const q = (abs + div / 2n) / div;
  return neg ? -q : q;
}

const TWO32 = 4294967296;
const MAX_SAFE = 9007199254740991n;

/** Writes |unscaled| as a little-endian magnitude of `bytes` bytes at `pos`. */
export function writeMagnitude(buf: Buffer, pos: number, abs: bigint, bytes: number): void {
  if (abs <= MAX_SAFE) {
    const n = Number(abs);
    const lo = n % TWO32;
    buf.writeUInt32LE(lo, pos);
    if (bytes > 4) {
      buf.writeUInt32LE((n - lo) / TWO32, pos + 4);
      if (bytes > 8) buf.fill(0, pos + 8, pos + bytes);
    } else if (n >= TWO32) {
      throw new RangeError('decimal value exceeds its precision');
    }
    return;
  }
  let rest = abs;
  for (let i = 0; i < bytes; i += 4) {
    buf.writeUInt32LE(Number(rest & 0xffffffffn), pos + i);
    rest >>= 32n;
  }
  if (rest !== 0n) throw new RangeError('decimal value exceeds its precision');
}

/** Writes a time value of `len` bytes (3, 4 or 5) in units of 10^-scale s (2.2.5.5.1.9). */
function writeTimeUnits(buf: Buffer, pos: number, units: number, len: number): void {
  if (len === 3) {
    buf.writeUIntLE(units, pos, 3);
  } else if (len === 4) {
    buf.writeUInt32LE(units, pos);
  } else {
    const lo = units % TWO32;
    buf.writeUInt32LE(lo, pos);
    buf[pos + 4] = (units - lo) / TWO32;
  }
}

const HEX: Int8Array = (() => {
  const t = new Int8Array(128).fill(-1);
  for (let i = 0; i < 10; i++) t[48 + i] = i;
  for (let i = 0; i < 6; i++) {
    t[65 + i] = 10 + i;
    t[97 + i] = 10 + i;
  }
  return t;
})();

/** Byte i of the wire form takes the hex pair starting at GUID_HEX_POS[i] of 'XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX'. */
const GUID_HEX_POS = [6, 4, 2, 0, 11, 9, 16, 14, 19, 21, 24, 26, 28, 30, 32, 34];

/** Writes a GUID in the mixed-endian wire order: Data1..Data3 little-endian, Data4 as is (2.2.5.5.1.7). */
export function writeGuid(buf: Buffer, pos: number, s: string): void {
  if (s.length !== 36) throw new TypeError(`invalid uniqueidentifier '${s}'`);
  for (let i = 0; i < 16; i++) {
    const at = GUID_HEX_POS[i] as number;
    const hi = HEX[s.charCodeAt(at)] ?? -1;
    const lo = HEX[s.charCodeAt(at + 1)] ?? -1;
    if (hi < 0 || lo < 0) throw new TypeError(`invalid uniqueidentifier '${s}'`);
    buf[pos + i] = (hi << 4) | lo;
  }
}

/** Reads a GUID from its wire order into the canonical upper-case string. */
export function readGuid(buf: Buffer, pos: number): string {
  const h = (i: number): string => (buf[pos + i] as number).toString(16).padStart(2, '0');
  return (
    h(3) +
    h(2) +
    h(1) +
    h(0) +
    '-' +
    h(5) +
    h(4) +
    '-' +
    h(7) +
    h(6) +
    '-' +
    h(8) +
    h(9) +
    '-' +
    h(10) +
    h(11) +
    h(12) +
    h(13) +
    h(14) +
    h(15)
  ).toUpperCase();
}

/** PLP body of one chunk (2.2.5.2.3): u64 total, u32 chunk length + data, u32 0 terminator. */
function writePlp(w: MessageWriter, data: Buffer | null, text: string | null, encoding: 'ucs2' | 'cp1252'): void {
  const len = data ? data.length : encoding === 'ucs2' ? (text as string).length * 2 : (text as string).length;
  w.ensure(16 + len);
  const buf = w.buf;
  let pos = buf.writeBigUInt64LE(BigInt(len), w.pos);
  if (len > 0) {
    pos = buf.writeUInt32LE(len, pos);
    if (data) pos += data.copy(buf, pos);
    else if (encoding === 'ucs2') pos += buf.write(text as string, pos, 'ucs2');
    else pos += writeCp1252(buf, pos, text as string);
  }
  w.pos = buf.writeUInt32LE(0, pos);
}

function typeError(type: SqlType, v: unknown): TypeError {
  return new TypeError(`value of JS type ${typeof v} does not fit column type ${type.name}`);
}

/** Builds the TYPE_INFO and value encoder of one column. */
export function planColumn(col: ColumnMeta): ColumnPlan {
  const type = col.type;
  let flags = col.nullable ? COLUMN_FLAGS.NULLABLE : 0;
  if (col.identity) flags |= COLUMN_FLAGS.IDENTITY;
  if (col.computed) flags |= COLUMN_FLAGS.COMPUTED;
  if (!col.identity && !col.computed && !col.isRowversion && type.name !== 'rowversion') {
    flags |= COLUMN_FLAGS.UPDATEABLE_UNKNOWN;
  }
  const rowversion = col.isRowversion === true || type.name === 'rowversion';
  const userType = rowversion ? USER_TYPE_TIMESTAMP : 0;
  return { userType, flags, ...planType(type) };
}

/** TYPE_INFO and encoder for a type (used for columns and, with the same rules, for return values). */
export function planType(type: SqlType): { typeInfo: Buffer; encode: ValueEncoder } {
  switch (type.name) {
    case 'bit':
      return {
        typeInfo: Buffer.from([DATA_TYPE.BITN, 1]),
        encode: (w, v) => {
          w.ensure(2);
          w.buf[w.pos] = 1;
          w.buf[w.pos + 1] = v === true || v === 1n || v === 1 ? 1 : 0;
          w.pos += 2;
        },
      };
    case 'tinyint':
      return {
        typeInfo: Buffer.from([DATA_TYPE.INTN, 1]),
        encode: (w, v) => {
          if (typeof v !== 'bigint') throw typeError(type, v);
          w.ensure(2);
          w.buf[w.pos] = 1;
          w.pos = w.buf.writeUInt8(Number(v), w.pos + 1);
        },
      };
    case 'smallint':
      return {
        typeInfo: Buffer.from([DATA_TYPE.INTN, 2]),
        encode: (w, v) => {
          if (typeof v !== 'bigint') throw typeError(type, v);
          w.ensure(3);
          w.buf[w.pos] = 2;
          w.pos = w.buf.writeInt16LE(Number(v), w.pos + 1);
        },
      };
    case 'int':
      return {
        typeInfo: Buffer.from([DATA_TYPE.INTN, 4]),
        encode: (w, v) => {
          if (typeof v !== 'bigint') throw typeError(type, v);
          w.ensure(5);
          w.buf[w.pos] = 4;
          w.pos = w.buf.writeInt32LE(Number(v), w.pos + 1);
        },
      };
    case 'bigint':
      return {
        typeInfo: Buffer.from([DATA_TYPE.INTN, 8]),
        encode: (w, v) => {
          if (typeof v !== 'bigint') throw typeError(type, v);
          w.ensure(9);
          const buf = w.buf;
          const pos = w.pos;
          buf[pos] = 8;
          const n = Number(v);
          if (Number.isSafeInteger(n)) {
            // One bigint→number conversion instead of the four bigint operations of writeBigInt64LE.
            buf.writeUInt32LE(n >>> 0, pos + 1);
            buf.writeInt32LE(Math.floor(n / TWO32), pos + 5);
          } else {
            buf.writeBigInt64LE(v, pos + 1);
          }
          w.pos = pos + 9;
        },
      };
    case 'decimal':
    case 'numeric': {
      const precision = type.precision ?? 18;
      const scale = type.scale ?? 0;
      const len = decimalLength(precision);
      const id = type.name === 'decimal' ? DATA_TYPE.DECIMALN : DATA_TYPE.NUMERICN;
      return {
        typeInfo: Buffer.from([id, len, precision, scale]),
        encode: (w, v) => {
          const d = v as SqlDecimal;
          if (d.kind !== 'decimal') throw typeError(type, v);
          const u = rescale(d, scale);
          w.ensure(len + 1);
          const buf = w.buf;
          buf[w.pos] = len;
          buf[w.pos + 1] = u < 0n ? 0 : 1;
          writeMagnitude(buf, w.pos + 2, u < 0n ? -u : u, len - 1);
          w.pos += len + 1;
        },
      };
    }
    case 'money':
      return {
        typeInfo: Buffer.from([DATA_TYPE.MONEYN, 8]),
        encode: (w, v) => {
          const d = v as SqlDecimal;
          if (d.kind !== 'decimal') throw typeError(type, v);
          const u = BigInt.asUintN(64, rescale(d, 4));
          w.ensure(9);
          const buf = w.buf;
          buf[w.pos] = 8;
          // MONEY: the high 32 bits first, then the low 32 bits (2.2.5.5.1.4).
          buf.writeUInt32LE(Number(u >> 32n), w.pos + 1);
          buf.writeUInt32LE(Number(u & 0xffffffffn), w.pos + 5);
          w.pos += 9;
        },
      };
    case 'smallmoney':
      return {
        typeInfo: Buffer.from([DATA_TYPE.MONEYN, 4]),
        encode: (w, v) => {
          const d = v as SqlDecimal;
          if (d.kind !== 'decimal') throw typeError(type, v);
          w.ensure(5);
          w.buf[w.pos] = 4;
          w.pos = w.buf.writeInt32LE(Number(rescale(d, 4)), w.pos + 1);
        },
      };
    case 'float':
    case 'real': {
      const real = type.name === 'real' || (type.precision !== undefined && type.precision <= 24);
      return real
        ? {
            typeInfo: Buffer.from([DATA_TYPE.FLTN, 4]),
            encode: (w, v) => {
              if (typeof v !== 'number') throw typeError(type, v);
              w.ensure(5);
              w.buf[w.pos] = 4;
              w.pos = w.buf.writeFloatLE(v, w.pos + 1);
            },
          }
        : {
            typeInfo: Buffer.from([DATA_TYPE.FLTN, 8]),
            encode: (w, v) => {
              if (typeof v !== 'number') throw typeError(type, v);
              w.ensure(9);
              w.buf[w.pos] = 8;
              w.pos = w.buf.writeDoubleLE(v, w.pos + 1);
            },
          };
    }
    case 'char':
    case 'varchar': {
      const max = type.length === -1;
      const chars = type.length ?? (type.name === 'char' ? 1 : 8000);
      const id = type.name === 'char' ? DATA_TYPE.BIGCHAR : DATA_TYPE.BIGVARCHAR;
      const typeInfo = Buffer.alloc(8);
      typeInfo[0] = id;
      typeInfo.writeUInt16LE(max ? USHORT_MAX_LEN : chars, 1);
      DEFAULT_COLLATION.copy(typeInfo, 3);
      if (max) {
        return { typeInfo, encode: (w, v) => writePlp(w, null, stringOf(type, v), 'cp1252') };
      }
      return {
        typeInfo,
        encode: (w, v) => {
          const s = stringOf(type, v);
          w.ensure(2 + s.length);
          const n = writeCp1252(w.buf, w.pos + 2, s);
          w.buf.writeUInt16LE(n, w.pos);
          w.pos += 2 + n;
        },
      };
    }
    case 'nchar':
    case 'nvarchar': {
      const max = type.length === -1;
      const chars = type.length ?? (type.name === 'nchar' ? 1 : 4000);
      const id = type.name === 'nchar' ? DATA_TYPE.NCHAR : DATA_TYPE.NVARCHAR;
      const typeInfo = Buffer.alloc(8);
      typeInfo[0] = id;
      typeInfo.writeUInt16LE(max ? USHORT_MAX_LEN : chars * 2, 1);
      DEFAULT_COLLATION.copy(typeInfo, 3);
      if (max) {
        return { typeInfo, encode: (w, v) => writePlp(w, null, stringOf(type, v), 'ucs2') };
      }
      return {
        typeInfo,
        encode: (w, v) => {
          const s = stringOf(type, v);
          const n = s.length * 2;
          w.ensure(2 + n);
          const buf = w.buf;
          const pos = w.pos;
          buf.writeUInt16LE(n, pos);
          if (s.length <= 32) {
            // Short strings: a plain loop beats Buffer#write's per-call overhead.
            for (let i = 0, at = pos + 2; i < s.length; i++, at += 2) {
              const c = s.charCodeAt(i);
              buf[at] = c & 0xff;
              buf[at + 1] = c >>> 8;
            }
          } else {
            buf.write(s, pos + 2, 'ucs2');
          }
          w.pos = pos + 2 + n;
        },
      };
    }
    case 'binary':
    case 'varbinary':
    case 'rowversion': {
      const max = type.length === -1;
      const fixed = type.name !== 'varbinary';
      const bytes = type.name === 'rowversion' ? 8 : (type.length ?? (fixed ? 1 : 8000));
      const typeInfo = Buffer.alloc(3);
      typeInfo[0] = fixed ? DATA_TYPE.BIGBINARY : DATA_TYPE.BIGVARBINARY;
      typeInfo.writeUInt16LE(max ? USHORT_MAX_LEN : bytes, 1);
      if (max) {
        return {
          typeInfo,
          encode: (w, v) => {
            if (!Buffer.isBuffer(v)) throw typeError(type, v);
            writePlp(w, v, null, 'ucs2');
          },
        };
      }
      return {
        typeInfo,
        encode: (w, v) => {
          if (!Buffer.isBuffer(v)) throw typeError(type, v);
          // binary(n) is fixed length: SQL Server pads shorter values with zero bytes.
          const n = fixed ? bytes : v.length;
          w.ensure(2 + n);
          w.buf.writeUInt16LE(n, w.pos);
          const copied = v.copy(w.buf, w.pos + 2, 0, n);
          if (copied < n) w.buf.fill(0, w.pos + 2 + copied, w.pos + 2 + n);
          w.pos += 2 + n;
        },
      };
    }
    case 'uniqueidentifier':
      return {
        typeInfo: Buffer.from([DATA_TYPE.GUID, 16]),
        encode: (w, v) => {
          if (typeof v !== 'string') throw typeError(type, v);
          w.ensure(17);
          w.buf[w.pos] = 16;
          writeGuid(w.buf, w.pos + 1, v);
          w.pos += 17;
        },
      };
    case 'date':
      return {
        typeInfo: Buffer.from([DATA_TYPE.DATEN]),
        encode: (w, v) => {
          const d = v as SqlDate;
          if (d.kind !== 'date') throw typeError(type, v);
          w.ensure(4);
          w.buf[w.pos] = 3;
          w.pos = w.buf.writeUIntLE(d.days, w.pos + 1, 3);
        },
      };
    case 'time': {
      const scale = type.scale ?? 7;
      const len = timeLength(scale);
      const per = TICKS_PER_UNIT[scale] as number;
      const unitsPerDay = TICKS_PER_DAY / per;
      return {
        typeInfo: Buffer.from([DATA_TYPE.TIMEN, scale]),
        encode: (w, v) => {
          const t = v as SqlTime;
          if (t.kind !== 'time') throw typeError(type, v);
          w.ensure(len + 1);
          w.buf[w.pos] = len;
          // Extra precision rounds as SQL Server converts; 24:00:00 wraps to midnight like CAST(... AS time(n)).
          writeTimeUnits(w.buf, w.pos + 1, Math.round(Number(t.ticks) / per) % unitsPerDay, len);
          w.pos += len + 1;
        },
      };
    }
    case 'datetime2': {
      const scale = type.scale ?? 7;
      const len = timeLength(scale);
      const per = TICKS_PER_UNIT[scale] as number;
      const unitsPerDay = TICKS_PER_DAY / per;
      return {
        typeInfo: Buffer.from([DATA_TYPE.DATETIME2N, scale]),
        encode: (w, v) => {
          const t = v as SqlDateTime;
          if (t.kind !== 'datetime') throw typeError(type, v);
          w.ensure(len + 4);
          const buf = w.buf;
          buf[w.pos] = len + 3;
          const units = Math.round(Number(t.ticks) / per);
          // Rounding up to 24:00:00 carries into the next day, as SQL Server's conversion does.
          const carry = units >= unitsPerDay ? 1 : 0;
          writeTimeUnits(buf, w.pos + 1, units - carry * unitsPerDay, len);
          buf.writeUIntLE(t.days + carry, w.pos + 1 + len, 3);
          w.pos += len + 4;
        },
      };
    }
    case 'datetimeoffset': {
      const scale = type.scale ?? 7;
      const len = timeLength(scale);
      const per = TICKS_PER_UNIT[scale] as number;
      const unitsPerDay = TICKS_PER_DAY / per;
      return {
        typeInfo: Buffer.from([DATA_TYPE.DATETIMEOFFSETN, scale]),
        encode: (w, v) => {
          const t = v as SqlDateTimeOffset;
          if (t.kind !== 'datetimeoffset') throw typeError(type, v);
          w.ensure(len + 6);
          const buf = w.buf;
          buf[w.pos] = len + 5;
          const units = Math.round(Number(t.ticks) / per);
          const carry = units >= unitsPerDay ? 1 : 0;
          writeTimeUnits(buf, w.pos + 1, units - carry * unitsPerDay, len);
          buf.writeUIntLE(t.days + carry, w.pos + 1 + len, 3);
          buf.writeInt16LE(t.offsetMinutes, w.pos + 4 + len);
          w.pos += len + 6;
        },
      };
    }
    case 'datetime':
      return {
        typeInfo: Buffer.from([DATA_TYPE.DATETIMN, 8]),
        encode: (w, v) => {
          const t = v as SqlDateTime;
          if (t.kind !== 'datetime') throw typeError(type, v);
          let days = t.days - DAYS_0001_TO_1900;
          let units = ticksToDatetimeUnits(Number(t.ticks));
          if (units >= DATETIME_UNITS_PER_DAY) {
            units -= DATETIME_UNITS_PER_DAY;
            days += 1;
          }
          w.ensure(9);
          w.buf[w.pos] = 8;
          w.buf.writeInt32LE(days, w.pos + 1);
          w.pos = w.buf.writeUInt32LE(units, w.pos + 5);
        },
      };
    case 'smalldatetime':
      return {
        typeInfo: Buffer.from([DATA_TYPE.DATETIMN, 4]),
        encode: (w, v) => {
          const t = v as SqlDateTime;
          if (t.kind !== 'datetime') throw typeError(type, v);
          let days = t.days - DAYS_0001_TO_1900;
          let minutes = Math.round(Number(t.ticks) / TICKS_PER_MINUTE);
          if (minutes >= 1440) {
            minutes -= 1440;
            days += 1;
          }
          w.ensure(5);
          w.buf[w.pos] = 4;
          w.buf.writeUInt16LE(days, w.pos + 1);
          w.pos = w.buf.writeUInt16LE(minutes, w.pos + 3);
        },
      };
  }
}

function stringOf(type: SqlType, v: unknown): string {
  if (typeof v !== 'string') throw typeError(type, v);
  return v;
}
