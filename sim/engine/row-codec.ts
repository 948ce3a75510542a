/**
 * Compact row storage: a committed row version that every reader can see is packed (null bitmap, a u16 offset
 * per slot relative to the row's start, then the values) into the codec's shared slabs (row-slabs.ts), so a
 * large table costs one heap object per row (its record) instead of one per value — the garbage collector's
 * work scales with object count, and a 5M-row table of BigInts, decimals and temporal objects would otherwise
 * dominate the process. Single columns decode without decoding the row (clustered keys are compared this way).
 */
import type { SqlType, SqlValue } from './api.js';
import { RowSlabs } from './row-slabs.js';

const enum Kind {
  Null = 0,
  Bool,
  Int,
  Float,
  Decimal,
  Latin1,
  Utf16,
  Binary,
  Date,
  Time,
  DateTime,
  Dto,
}

function kindOf(t: SqlType | undefined): Kind {
  if (!t) return Kind.Null;
  switch (t.name) {
    case 'bit':
      return Kind.Bool;
    case 'tinyint':
    case 'smallint':
    case 'int':
    case 'bigint':
      return Kind.Int;
    case 'float':
    case 'real':
      return Kind.Float;
    case 'decimal':
    case 'numeric':
    case 'money':
    case 'smallmoney':
      return Kind.Decimal;
    case 'char':
    case 'varchar':
    case 'uniqueidentifier':
      return Kind.Latin1;
    case 'nchar':
    case 'nvarchar':
      return Kind.Utf16;
    case 'binary':
    case 'varbinary':
    case 'rowversion':
      return Kind.Binary;
    case 'date':
      return Kind.Date;
    case 'time':
      return Kind.Time;
    case 'datetime':
    case 'smalldatetime':
    case 'datetime2':
      return Kind.DateTime;
    case 'datetimeoffset':
      return Kind.Dto;
  }
}

let scratch = Buffer.allocUnsafe(64 * 1024);
/**
 * A DataView of `scratch` for its 64-bit integers: `DataView#setBigInt64` is ~5× cheaper than
 * `Buffer#writeBigInt64LE` (which splits the BigInt with BigInt arithmetic in JavaScript), and a ClaimLines row packs
 * ~16 of them (integers, decimals, datetimes) at every commit.
 */
let scratchView = new DataView(scratch.buffer, scratch.byteOffset, scratch.byteLength);

/** Copies the last {@link RowCodec.encodeToScratch}'s `len` bytes into `dst` at `at`. */
export function copyEncoded(dst: Buffer, at: number, len: number): void {
  scratch.copy(dst, at, 0, len);
}

/** Strings up to this length are copied by a loop: a native `Buffer#write` call costs more than the copy. */
const SHORT_STRING = 64;

/**
 * Encodes and decodes rows of one table layout (slot → type), and owns the slabs its packed rows live in (rows
 * packed under an older layout keep their codec, so each codec's slabs hold one layout).
 */
export class RowCodec {
  private readonly kinds: Kind[];
  readonly slabs = new RowSlabs();

  constructor(slotTypes: (SqlType | undefined)[]) {
    this.kinds = slotTypes.map(kindOf);
  }

  get width(): number {
    return this.kinds.length;
  }

  /**
   * Packs values into the slabs (position in `slabs.lastSlab`/`lastOffset`); returns false when a value does
   * not fit the layout (the row then stays unpacked).
   */
  pack(values: SqlValue[]): boolean {
    const len = this.encode(values);
    if (len === undefined) return false;
    this.slabs.append(scratch, len);
    return true;
  }

  /**
   * Encodes values as `pack` does, into a shared scratch buffer instead of the slabs; returns the length (copy
   * the bytes out with {@link copyEncoded} before the next encode), or undefined when they do not fit the layout.
   */
  encodeToScratch(values: SqlValue[]): number | undefined {
    return this.encode(values);
  }

  /** Values of a row this codec's layout packed into `p` at `offset` (bytes from {@link encodeToScratch}). */
  decodeFrom(p: Buffer, offset: number): SqlValue[] {
    const n = this.kinds.length;
    const out = new Array<SqlValue>(n);
    for (let i = 0; i < n; i++) out[i] = this.decodeOne(p, i, offset);
    return out;
  }

  /** Bytes of the packed row at (slab, offset). */
  packedLength(slab: number, offset: number): number {
    const n = this.kinds.length;
    return this.slabs.slab(slab).readUInt16LE(offset + ((n + 7) >> 3) + 2 * n);
  }

  /** Marks the packed row at (slab, offset) dead. */
  free(slab: number, offset: number): void {
    this.slabs.free(slab, this.packedLength(slab, offset));
  }

  /** Values of the packed row at (slab, offset). */
  decodeAt(slab: number, offset: number): SqlValue[] {
    const p = this.slabs.slab(slab);
    const n = this.kinds.length;
    const out = new Array<SqlValue>(n);
    for (let i = 0; i < n; i++) out[i] = this.decodeOne(p, i, offset);
    return out;
  }

  /** One slot of the packed row at (slab, offset). */
  decodeOneAt(slab: number, offset: number, i: number): SqlValue {
    return this.decodeOne(this.slabs.slab(slab), i, offset);
  }

  /** Encodes values into the scratch buffer; returns the length, or undefined when they do not fit. */
  private encode(values: SqlValue[]): number | undefined {
    const n = this.kinds.length;
    if (values.length > n) return undefined;
    const bitmapLen = (n + 7) >> 3;
    const header = bitmapLen + 2 * (n + 1);
    let need = header;
    for (const v of values) need += typeof v === 'string' ? v.length * 2 + 8 : Buffer.isBuffer(v) ? v.length + 8 : 48;
    if (need > 65535) return undefined;
    if (scratch.length < need) {
      scratch = Buffer.allocUnsafe(need * 2);
      scratchView = new DataView(scratch.buffer, scratch.byteOffset, scratch.byteLength);
    }
    const b = scratch;
    const dv = scratchView;
    b.fill(0, 0, bitmapLen);
    let pos = header;
    for (let i = 0; i < n; i++) {
      b.writeUInt16LE(pos, bitmapLen + 2 * i);
      const v = i < values.length ? (values[i] ?? null) : null;
      if (v === null) {
        b[i >> 3] = (b[i >> 3] ?? 0) | (1 << (i & 7));
        continue;
      }
      switch (this.kinds[i]) {
        case Kind.Bool:
          if (typeof v !== 'boolean') return undefined;
          b[pos++] = v ? 1 : 0;
          break;
        case Kind.Int:
          // setBigInt64 wraps beyond 64 bits where writeBigInt64LE threw: such a value stays unpacked instead.
          if (typeof v !== 'bigint' || v < -9223372036854775808n || v > 9223372036854775807n) return undefined;
          dv.setBigInt64(pos, v, true);
          pos += 8;
          break;
        case Kind.Float:
          if (typeof v !== 'number') return undefined;
          b.writeDoubleLE(v, pos);
          pos += 8;
          break;
        case Kind.Decimal: {
          if (typeof v !== 'object' || Buffer.isBuffer(v) || v.kind !== 'decimal') return undefined;
          b[pos++] = v.scale;
          if (v.unscaled >= -9223372036854775808n && v.unscaled <= 9223372036854775807n) {
            b[pos++] = 0;
            dv.setBigInt64(pos, v.unscaled, true);
            pos += 8;
          } else {
            const s = v.unscaled.toString();
            b[pos++] = 1;
            pos += b.write(s, pos, 'latin1');
          }
          break;
        }
        case Kind.Latin1:
          if (typeof v !== 'string') return undefined;
          if (v.length <= SHORT_STRING) {
            for (let k = 0; k < v.length; k++) {
              const u = v.charCodeAt(k);
              if (u > 0xff) return undefined; // beyond Latin-1: cannot be packed as latin1
              b[pos++] = u;
            }
            break;
          }
          // eslint-disable-next-line no-control-regex -- characters beyond Latin-1 cannot be packed as latin1
          if (/[^\u0000-\u00ff]/.test(v)) return undefined;
          pos += b.write(v, pos, 'latin1');
          break;
        case Kind.Utf16:
          if (typeof v !== 'string') return undefined;
          if (v.length <= SHORT_STRING) {
            for (let k = 0; k < v.length; k++) {
              const u = v.charCodeAt(k);
              b[pos++] = u & 0xff;
              b[pos++] = u >> 8;
            }
            break;
          }
          pos += b.write(v, pos, 'utf16le');
          break;
        case Kind.Binary:
          if (!Buffer.isBuffer(v)) return undefined;
          pos += v.copy(b, pos);
          break;
        case Kind.Date:
          if (typeof v !== 'object' || Buffer.isBuffer(v) || v.kind !== 'date') return undefined;
          b.writeInt32LE(v.days, pos);
          pos += 4;
          break;
        case Kind.Time:
          if (typeof v !== 'object' || Buffer.isBuffer(v) || v.kind !== 'time') return undefined;
          dv.setBigInt64(pos, v.ticks, true);
          pos += 8;
          break;
        case Kind.DateTime:
          if (typeof v !== 'object' || Buffer.isBuffer(v) || v.kind !== 'datetime') return undefined;
          b.writeInt32LE(v.days, pos);
          dv.setBigInt64(pos + 4, v.ticks, true);
          pos += 12;
          break;
        case Kind.Dto:
          if (typeof v !== 'object' || Buffer.isBuffer(v) || v.kind !== 'datetimeoffset') return undefined;
          b.writeInt32LE(v.days, pos);
          dv.setBigInt64(pos + 4, v.ticks, true);
          b.writeInt16LE(v.offsetMinutes, pos + 12);
          pos += 14;
          break;
        default:
          return undefined;
      }
    }
    b.writeUInt16LE(pos, bitmapLen + 2 * n);
    return pos;
  }

  private decodeOne(p: Buffer, i: number, base: number): SqlValue {
    const n = this.kinds.length;
    if (i >= n) return null;
    if ((p[base + (i >> 3)] ?? 0) & (1 << (i & 7))) return null;
    const bitmapLen = (n + 7) >> 3;
    const start = base + p.readUInt16LE(base + bitmapLen + 2 * i);
    const end = base + p.readUInt16LE(base + bitmapLen + 2 * (i + 1));
    switch (this.kinds[i]) {
      case Kind.Bool:
        return p[start] === 1;
      case Kind.Int:
        return readInt64(p, start);
      case Kind.Float:
        return p.readDoubleLE(start);
      case Kind.Decimal: {
        const scale = p[start] ?? 0;
        const unscaled =
          p[start + 1] === 0 ? p.readBigInt64LE(start + 2) : BigInt(p.toString('latin1', start + 2, end));
        return { kind: 'decimal', unscaled, scale };
      }
      case Kind.Latin1:
        return p.toString('latin1', start, end);
      case Kind.Utf16:
        return p.toString('utf16le', start, end);
      case Kind.Binary:
        return copyBytes(p, start, end);
      case Kind.Date:
        return { kind: 'date', days: p.readInt32LE(start) };
      case Kind.Time:
        return { kind: 'time', ticks: p.readBigInt64LE(start) };
      case Kind.DateTime:
        return { kind: 'datetime', days: p.readInt32LE(start), ticks: p.readBigInt64LE(start + 4) };
      case Kind.Dto:
        return {
          kind: 'datetimeoffset',
          days: p.readInt32LE(start),
          ticks: p.readBigInt64LE(start + 4),
          offsetMinutes: p.readInt16LE(start + 12),
        };
      default:
        return null;
    }
  }
}

/**
 * A signed 64-bit little-endian integer at `at`. Most stored integers (keys, counts, CDC operations) fit in
 * 53 bits: those become one BigInt from an exact double — `readBigInt64LE` builds three BigInts for every value
 * and was a tenth of a CDC change function's read (docs/performance.md, "The CDC window path, continued").
 */
function readInt64(p: Buffer, at: number): bigint {
  const lo =
    ((p[at] as number) | ((p[at + 1] as number) << 8) | ((p[at + 2] as number) << 16)) +
    (p[at + 3] as number) * 0x1000000;
  const hi =
    (p[at + 4] as number) |
    ((p[at + 5] as number) << 8) |
    ((p[at + 6] as number) << 16) |
    ((p[at + 7] as number) << 24);
  // |hi| below 2^20: hi·2^32 + lo is below 2^52 in magnitude, an exact double.
  if (hi >= -0x100000 && hi < 0x100000) return BigInt(hi * 0x100000000 + lo);
  return p.readBigInt64LE(at);
}

/**
 * A copy of bytes [start, end) of `p`. Short values (LSNs, seqvals, masks, row versions) are copied byte by byte
 * into a pooled `allocUnsafe` buffer: `Buffer.from(p.subarray(…))` cost ~5× as much per 10-byte value.
 */
function copyBytes(p: Buffer, start: number, end: number): Buffer {
  const n = end - start;
  const out = Buffer.allocUnsafe(n);
  if (n <= 32) for (let i = 0; i < n; i++) out[i] = p[start + i] as number;
  else p.copy(out, 0, start, end);
  return out;
}
