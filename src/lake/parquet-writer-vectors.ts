/**
 * Fills a DuckDB data chunk for {@link ParquetWriter} (parquet-writer.ts) by writing each column's values into
 * plain typed arrays laid out as DuckDB's vectors are, then copying each column into its vector with one native
 * call per chunk. `@duckdb/node-api`'s vectors (`setItem`, also behind `DuckDBDataChunk.setColumnValues`) keep a
 * JS cache per value, build the validity mask with BigInt operations, and make one native call per string when
 * the chunk is flushed: on the claim lines that was ~6.6 µs of the writer thread's ~11.5 per row
 * (docs/performance.md, "The Parquet writer thread's CPU per row").
 *
 * Strings and blobs are DuckDB `string_t`s (16 bytes: the length, then up to 12 bytes inline, else a prefix and
 * a pointer into the vector's heap). A value of at most 12 bytes is written inline here, with no native call and,
 * from a packed batch (parquet-writer-thread-protocol.ts), without making a JS string of it at all; a longer
 * value (or one with non-ASCII characters, which DuckDB's own UTF-8 conversion handles) is assigned after the
 * copy with `vector_assign_string_element`, which puts its bytes in the vector's heap.
 *
 * Every value is checked exactly as before (same rules, same {@link LakeValueError} messages): a value the
 * column cannot hold exactly is refused, never rounded or truncated.
 */
import ddb from '@duckdb/node-bindings';
import type { DataChunk, LogicalType, Vector } from '@duckdb/node-bindings';
import {
  LakeValueError,
  dateToDays,
  decimalToUnscaled,
  hasHundredNsCompanion,
  smallDecimalCharsToUnscaled,
  smallDecimalTextToUnscaled,
  storedTimestamp,
  timeText,
  uuidText,
} from './lake-types.js';
import type { InstantWithOffset, LakeColumn, LakeType, LakeValue, UnscaledDecimal } from '../domain/values.js';
import type { PackedColumn } from './parquet-writer-thread-protocol.js';

/** DuckDB's vector size: rows per chunk. */
export const CHUNK_ROWS = 2048;

type Value = Exclude<LakeValue, null>;

function isUnscaled(v: unknown): v is UnscaledDecimal {
  return typeof v === 'object' && v !== null && 'unscaled' in v;
}
function isInstant(v: unknown): v is InstantWithOffset {
  return typeof v === 'object' && v !== null && 'epochNanos' in v;
}

function wrongJsType(column: string, type: LakeType, expected: string): LakeValueError {
  return new LakeValueError(column, `a ${type.kind} value must be ${expected}`);
}

/** A vector's validity mask being built: bit `row` set = valid (DuckDB's layout, 64-bit little-endian words). */
class Validity {
  readonly bytes = new Uint8Array(CHUNK_ROWS / 8);
  /** True once a NULL was written since the last reset (else the mask need not be copied). */
  any = false;

  setNull(row: number): void {
    this.bytes[row >> 3]! &= ~(1 << (row & 7));
    this.any = true;
  }

  setValid(row: number): void {
    if (this.any) this.bytes[row >> 3]! |= 1 << (row & 7);
  }

  /** Copies the mask of rows `0..rows` into the vector (when a NULL was written), then marks all valid again. */
  copyTo(vector: Vector, rows: number): void {
    if (!this.any) return;
    ddb.vector_ensure_validity_writable(vector);
    ddb.copy_data_to_vector_validity(vector, 0, this.bytes.buffer, 0, Math.ceil(rows / 64) * 8);
    this.bytes.fill(0xff);
    this.any = false;
  }
}

/** One stored column's vector data being built (fixed width, or `string_t` records). */
class VectorData {
  readonly buffer: ArrayBuffer;
  readonly bytes: Uint8Array;
  readonly validity = new Validity();
  /** Rows whose string is longer than 12 bytes (or not ASCII), assigned natively after the copy. */
  pendingRows: number[] = [];
  pendingValues: (string | Uint8Array)[] = [];

  constructor(readonly width: number) {
    this.buffer = new ArrayBuffer(CHUNK_ROWS * width);
    this.bytes = new Uint8Array(this.buffer);
    this.validity.bytes.fill(0xff);
  }

  /** Writes the chunk's first `rows` rows into `vector` and clears what was pending. */
  copyTo(vector: Vector, rows: number): void {
    if (rows > 0) ddb.copy_data_to_vector(vector, 0, this.buffer, 0, rows * this.width);
    this.validity.copyTo(vector, rows);
    const pr = this.pendingRows;
    const pv = this.pendingValues;
    for (let k = 0; k < pr.length; k++) {
      const v = pv[k]!;
      if (typeof v === 'string') ddb.vector_assign_string_element(vector, pr[k]!, v);
      else ddb.vector_assign_string_element_len(vector, pr[k]!, v);
    }
    if (pr.length > 0) {
      this.pendingRows = [];
      this.pendingValues = [];
    }
  }

  /** Drops pending strings of rows ≥ `row` (a refused row is rewritten by the next one). */
  dropPendingFrom(row: number): void {
    while (this.pendingRows.length > 0 && this.pendingRows[this.pendingRows.length - 1]! >= row) {
      this.pendingRows.pop();
      this.pendingValues.pop();
    }
  }

  /**
   * `string_t` of `text[at, at + n)` at `row`: inline when it is ASCII and at most 12 characters, else pending
   * (the JS string is made only then).
   */
  putText(row: number, text: string, at: number, n: number): void {
    const b = this.bytes;
    const o = row * 16;
    if (n <= 12) {
      let k = 0;
      for (; k < n; k++) {
        const c = text.charCodeAt(at + k);
        if (c >= 0x80) break;
        b[o + 4 + k] = c;
      }
      if (k === n) {
        b[o] = n;
        b[o + 1] = 0;
        b[o + 2] = 0;
        b[o + 3] = 0;
        for (; k < 12; k++) b[o + 4 + k] = 0;
        return;
      }
    }
    this.putPending(row, at === 0 && n === text.length ? text : text.slice(at, at + n));
  }

  /** `string_t` of bytes at `row`: inline up to 12 bytes, else pending. */
  putBytes(row: number, v: Uint8Array): void {
    const n = v.byteLength;
    if (n > 12) {
      this.putPending(row, v);
      return;
    }
    const b = this.bytes;
    const o = row * 16;
    b[o] = n;
    b[o + 1] = 0;
    b[o + 2] = 0;
    b[o + 3] = 0;
    let k = 0;
    for (; k < n; k++) b[o + 4 + k] = v[k]!;
    for (; k < 12; k++) b[o + 4 + k] = 0;
  }

  private putPending(row: number, v: string | Uint8Array): void {
    // An empty inline record stands in the buffer until the native assignment replaces it after the copy.
    this.bytes.fill(0, row * 16, row * 16 + 16);
    this.pendingRows.push(row);
    this.pendingValues.push(v);
  }
}

/**
 * One lake column's writes into the chunk being built: its stored vector (and a 7-digit timestamp's `__100ns`
 * companion). `put` checks and writes a non-null value, `putText` a value given as `text[at, at + n)` (a packed
 * column: no string is made unless needed), `putNull` a NULL (nullable columns only; checked by the caller).
 */
abstract class ColumnFill {
  readonly data: VectorData[];
  constructor(
    readonly column: LakeColumn,
    widths: number[],
  ) {
    this.data = widths.map((w) => new VectorData(w));
  }
  abstract put(row: number, v: Value): void;
  putText(row: number, text: string, at: number, n: number): void {
    this.put(row, text.slice(at, at + n));
  }
  putNull(row: number): void {
    for (const d of this.data) d.validity.setNull(row);
  }
  /** Marks `row` valid in every vector of the column (after a NULL in the same chunk slot). */
  protected valid(row: number): void {
    for (const d of this.data) d.validity.setValid(row);
  }
  /** Copies the chunk's rows into the column's vectors (`vectors` in stored order, from the column's first). */
  copyTo(vectors: readonly Vector[], rows: number): void {
    for (let k = 0; k < this.data.length; k++) this.data[k]!.copyTo(vectors[k]!, rows);
  }
  dropPendingFrom(row: number): void {
    for (const d of this.data) d.dropPendingFrom(row);
  }
  protected wrong(expected: string): LakeValueError {
    return wrongJsType(this.column.name, this.column.type, expected);
  }
}

class BooleanFill extends ColumnFill {
  constructor(c: LakeColumn) {
    super(c, [1]);
  }
  put(row: number, v: Value): void {
    if (typeof v !== 'boolean') throw this.wrong('a boolean');
    this.data[0]!.bytes[row] = v ? 1 : 0;
    this.valid(row);
  }
}

/** uint8, int16, int32: a number checked against the range, in a typed array of the width. */
class IntFill extends ColumnFill {
  private readonly items: Uint8Array | Int16Array | Int32Array;
  constructor(
    c: LakeColumn,
    private readonly min: number,
    private readonly max: number,
  ) {
    const width = max === 255 ? 1 : max === 32767 ? 2 : 4;
    super(c, [width]);
    const buf = this.data[0]!.buffer;
    this.items = width === 1 ? new Uint8Array(buf) : width === 2 ? new Int16Array(buf) : new Int32Array(buf);
  }
  put(row: number, v: Value): void {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < this.min || v > this.max)
      throw this.wrong(`an integer number in ${this.min}..${this.max}`);
    this.items[row] = v;
    this.valid(row);
  }
}

const INT64_MIN = -(2n ** 63n);
const INT64_END = 2n ** 63n;

class Int64Fill extends ColumnFill {
  private readonly items: BigInt64Array;
  constructor(c: LakeColumn) {
    super(c, [8]);
    this.items = new BigInt64Array(this.data[0]!.buffer);
  }
  put(row: number, v: Value): void {
    if (typeof v !== 'bigint') throw this.wrong('a bigint');
    if (v < INT64_MIN || v >= INT64_END) throw new LakeValueError(this.column.name, 'int64 out of range');
    this.items[row] = v;
    this.valid(row);
  }
}

class FloatFill extends ColumnFill {
  private readonly items: Float32Array | Float64Array;
  constructor(c: LakeColumn, width: 4 | 8) {
    super(c, [width]);
    const buf = this.data[0]!.buffer;
    this.items = width === 4 ? new Float32Array(buf) : new Float64Array(buf);
  }
  put(row: number, v: Value): void {
    if (typeof v !== 'number') throw this.wrong('a number');
    this.items[row] = v;
    this.valid(row);
  }
}

class StringFill extends ColumnFill {
  constructor(c: LakeColumn) {
    super(c, [16]);
  }
  put(row: number, v: Value): void {
    if (typeof v !== 'string') throw this.wrong('a string');
    this.data[0]!.putText(row, v, 0, v.length);
    this.valid(row);
  }
  override putText(row: number, text: string, at: number, n: number): void {
    this.data[0]!.putText(row, text, at, n);
    this.valid(row);
  }
}

class BinaryFill extends ColumnFill {
  constructor(c: LakeColumn) {
    super(c, [16]);
  }
  put(row: number, v: Value): void {
    if (!(v instanceof Uint8Array)) throw this.wrong('a Uint8Array');
    this.data[0]!.putBytes(row, v);
    this.valid(row);
  }
}

/** A char code's hex digit value, or −1. */
function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/** A uuid as its lowercase canonical text ({@link uuidText}); 36 characters, so always assigned natively. */
class UuidFill extends ColumnFill {
  constructor(c: LakeColumn) {
    super(c, [16]);
  }
  put(row: number, v: Value): void {
    if (typeof v !== 'string') throw this.wrong('a uuid string');
    this.data[0]!.putText(row, uuidText(this.column.name, v), 0, 36);
    this.valid(row);
  }
  override putText(row: number, text: string, at: number, n: number): void {
    // Already canonical (8-4-4-4-12, lowercase hex): stored as it is; anything else takes uuidText's checks.
    let canonical = n === 36;
    for (let k = 0; canonical && k < 36; k++) {
      const c = text.charCodeAt(at + k);
      canonical = k === 8 || k === 13 || k === 18 || k === 23 ? c === 45 : hexDigit(c) >= 0 && !(c >= 65 && c <= 70);
    }
    if (canonical) {
      this.data[0]!.putText(row, text, at, n);
      this.valid(row);
    } else this.put(row, text.slice(at, at + n));
  }
}

/**
 * decimal(p, s): DuckDB keeps p ≤ 4 in 16 bits, ≤ 9 in 32, ≤ 18 in 64 and ≤ 38 in 128 (hugeint: low 64 bits,
 * then the high 64, signed). Plain text of at most 15 digits (the source's `toFixed`, SQL Server's text of
 * decimal(19,4)) is parsed in doubles without making a string of it; the rest exactly in BigInt.
 */
class DecimalFill extends ColumnFill {
  private readonly width: number;
  private readonly i16: Int16Array;
  private readonly i32: Int32Array;
  private readonly u32: Uint32Array;
  private readonly i64: BigInt64Array;
  private readonly precision: number;
  private readonly scale: number;
  constructor(c: LakeColumn, t: Extract<LakeType, { kind: 'decimal' }>) {
    const width = t.precision <= 4 ? 2 : t.precision <= 9 ? 4 : t.precision <= 18 ? 8 : 16;
    super(c, [width]);
    this.width = width;
    this.precision = t.precision;
    this.scale = t.scale;
    const buf = this.data[0]!.buffer;
    this.i16 = new Int16Array(buf);
    this.i32 = new Int32Array(buf);
    this.u32 = new Uint32Array(buf);
    this.i64 = new BigInt64Array(buf);
  }

  /** An unscaled value below 2^53 in magnitude, at `row`. */
  private putNumber(row: number, n: number): void {
    switch (this.width) {
      case 2:
        this.i16[row] = n;
        return;
      case 4:
        this.i32[row] = n;
        return;
      default: {
        // n = hi · 2^32 + lo with lo in [0, 2^32): the two's complement words, sign-extended to the width.
        const hi = Math.floor(n / 4294967296);
        const lo = n - hi * 4294967296;
        const w = (row * this.width) >> 2;
        this.u32[w] = lo;
        this.i32[w + 1] = hi;
        if (this.width === 16) {
          const ext = hi < 0 ? -1 : 0;
          this.i32[w + 2] = ext;
          this.i32[w + 3] = ext;
        }
      }
    }
  }

  private putBigInt(row: number, u: bigint): void {
    if (this.width <= 4) this.putNumber(row, Number(u));
    else if (this.width === 8) this.i64[row] = u;
    else {
      this.i64[row * 2] = BigInt.asIntN(64, u);
      this.i64[row * 2 + 1] = BigInt.asIntN(64, u >> 64n);
    }
  }

  put(row: number, v: Value): void {
    if (typeof v !== 'string' && !isUnscaled(v)) throw this.wrong('a decimal string or {unscaled, scale}');
    const small = typeof v === 'string' ? smallDecimalTextToUnscaled(v, this.precision, this.scale) : undefined;
    if (small !== undefined) this.putNumber(row, small);
    else this.putBigInt(row, decimalToUnscaled(this.column.name, v, this.precision, this.scale));
    this.valid(row);
  }

  override putText(row: number, text: string, at: number, n: number): void {
    const small = smallDecimalCharsToUnscaled(text, at, n, this.precision, this.scale);
    if (small === undefined) {
      this.put(row, text.slice(at, at + n));
      return;
    }
    this.putNumber(row, small);
    this.valid(row);
  }
}

class DateFill extends ColumnFill {
  private readonly items: Int32Array;
  constructor(c: LakeColumn) {
    super(c, [4]);
    this.items = new Int32Array(this.data[0]!.buffer);
  }
  put(row: number, v: Value): void {
    if (typeof v !== 'string' && typeof v !== 'number') throw this.wrong('YYYY-MM-DD or a day number');
    this.items[row] = dateToDays(this.column.name, v);
    this.valid(row);
  }
}

/** time: stored as its 16-character text ({@link timeText}). */
class TimeFill extends ColumnFill {
  constructor(
    c: LakeColumn,
    private readonly digits: number,
  ) {
    super(c, [16]);
  }
  put(row: number, v: Value): void {
    if (typeof v !== 'bigint') throw this.wrong('bigint nanoseconds since midnight');
    const s = timeText(this.column.name, v, this.digits);
    this.data[0]!.putText(row, s, 0, s.length);
    this.valid(row);
  }
}

/**
 * timestamp(d): microseconds in 64 bits and, for 7 digits, the `__100ns` companion (UTINYINT). The same
 * instant on consecutive rows (a window's `_extracted_at`, a snapshot's `_commit_ts`) is split once.
 */
class TimestampFill extends ColumnFill {
  private readonly micros: BigInt64Array;
  private readonly hundredNs: Uint8Array | undefined;
  private last: bigint | undefined;
  private lastMicros = 0n;
  private lastHundredNs = 0;
  constructor(
    c: LakeColumn,
    private readonly digits: number,
  ) {
    super(c, digits === 7 ? [8, 1] : [8]);
    this.micros = new BigInt64Array(this.data[0]!.buffer);
    this.hundredNs = digits === 7 ? this.data[1]!.bytes : undefined;
  }
  put(row: number, v: Value): void {
    if (typeof v !== 'bigint') throw this.wrong('bigint epoch nanoseconds');
    if (v !== this.last) {
      const stored = storedTimestamp(this.column.name, v, this.digits);
      this.last = v;
      this.lastMicros = stored.micros;
      this.lastHundredNs = stored.hundredNs;
    }
    this.micros[row] = this.lastMicros;
    if (this.hundredNs) this.hundredNs[row] = this.lastHundredNs;
    this.valid(row);
  }
}

/**
 * timestamptz(d): STRUCT(utc TIMESTAMP, offset_minutes SMALLINT), the struct's children are their own vectors
 * (and a NULL struct has NULL children), then the `__100ns` companion for 7 digits.
 */
class TimestampTzFill extends ColumnFill {
  private readonly utc: BigInt64Array;
  private readonly offset: Int16Array;
  private readonly hundredNs: Uint8Array | undefined;
  constructor(
    c: LakeColumn,
    private readonly digits: number,
  ) {
    // data: [struct (validity only), utc, offset_minutes, companion?]
    super(c, digits === 7 ? [0, 8, 2, 1] : [0, 8, 2]);
    this.utc = new BigInt64Array(this.data[1]!.buffer);
    this.offset = new Int16Array(this.data[2]!.buffer);
    this.hundredNs = digits === 7 ? this.data[3]!.bytes : undefined;
  }
  put(row: number, v: Value): void {
    if (!isInstant(v)) throw this.wrong('{epochNanos, offsetMinutes}');
    if (!Number.isInteger(v.offsetMinutes) || v.offsetMinutes < -840 || v.offsetMinutes > 840)
      throw new LakeValueError(this.column.name, 'offsetMinutes must be an integer in -840..840');
    const stored = storedTimestamp(this.column.name, v.epochNanos, this.digits);
    this.utc[row] = stored.micros;
    this.offset[row] = v.offsetMinutes;
    if (this.hundredNs) this.hundredNs[row] = stored.hundredNs;
    this.valid(row);
  }
  override copyTo(vectors: readonly Vector[], rows: number): void {
    const struct = vectors[0]!;
    this.data[0]!.validity.copyTo(struct, rows);
    this.data[1]!.copyTo(ddb.struct_vector_get_child(struct, 0), rows);
    this.data[2]!.copyTo(ddb.struct_vector_get_child(struct, 1), rows);
    if (this.hundredNs) this.data[3]!.copyTo(vectors[1]!, rows);
  }
}

function fillFor(column: LakeColumn): ColumnFill {
  const t = column.type;
  switch (t.kind) {
    case 'boolean':
      return new BooleanFill(column);
    case 'uint8':
      return new IntFill(column, 0, 255);
    case 'int16':
      return new IntFill(column, -32768, 32767);
    case 'int32':
      return new IntFill(column, -2147483648, 2147483647);
    case 'int64':
      return new Int64Fill(column);
    case 'decimal':
      return new DecimalFill(column, t);
    case 'float32':
      return new FloatFill(column, 4);
    case 'float64':
      return new FloatFill(column, 8);
    case 'string':
      return new StringFill(column);
    case 'binary':
      return new BinaryFill(column);
    case 'date':
      return new DateFill(column);
    case 'time':
      return new TimeFill(column, t.fractionalDigits);
    case 'timestamp':
      return new TimestampFill(column, t.fractionalDigits);
    case 'timestamptz':
      return new TimestampTzFill(column, t.fractionalDigits);
    case 'uuid':
      return new UuidFill(column);
  }
}

/**
 * A data chunk of the writer's stored columns being filled, `rows` rows so far. Rows are written with
 * {@link putRow} (a row of values) or {@link putPacked} (rows of a packed batch, column by column); {@link seal}
 * copies them into the native chunk for the appender, after which the chunk is filled again from row 0.
 */
export class ChunkFiller {
  /** The native chunk, filled by {@link seal}. */
  readonly chunk: DataChunk;
  private readonly fills: ColumnFill[];
  /** Per column, the index of its (first) stored vector. */
  private readonly storedIndex: number[];
  private readonly storedCount: number;
  rows = 0;

  /** `columns`: the writer's columns; `types`: the logical types of their stored columns (the appender's). */
  constructor(
    private readonly columns: readonly LakeColumn[],
    types: readonly LogicalType[],
  ) {
    this.chunk = ddb.create_data_chunk(types);
    this.fills = columns.map(fillFor);
    this.storedIndex = [];
    let k = 0;
    for (const c of columns) {
      this.storedIndex.push(k);
      k += hasHundredNsCompanion(c.type) ? 2 : 1;
    }
    this.storedCount = k;
  }

  /** Room left in the chunk. */
  get free(): number {
    return CHUNK_ROWS - this.rows;
  }

  /**
   * Writes one row (values in column order) as the chunk's next row. Throws {@link LakeValueError} on an inexact
   * value; the row is then not counted and the next row overwrites its slot.
   */
  putRow(row: readonly LakeValue[]): void {
    const at = this.rows;
    const columns = this.columns;
    try {
      for (let i = 0; i < columns.length; i++) {
        const v = row[i] ?? null;
        const fill = this.fills[i]!;
        if (v !== null) fill.put(at, v);
        else if (columns[i]!.nullable) fill.putNull(at);
        else throw new LakeValueError(columns[i]!.name, 'NULL in a non-nullable column');
      }
    } catch (err) {
      for (const f of this.fills) f.dropPendingFrom(at);
      throw err;
    }
    this.rows++;
  }

  /**
   * Writes rows `from .. from + count` of a packed batch as the chunk's next rows (`count` ≤ {@link free}).
   * `textAt` holds, per text or bytes column, where its next value starts in its text or bytes (advanced here). Throws
   * {@link LakeValueError} on an inexact value; the chunk is then unusable (the writer fails as a whole).
   */
  putPacked(columns: readonly PackedColumn[], textAt: Int32Array, from: number, count: number): void {
    const base = this.rows - from;
    for (let i = 0; i < columns.length; i++) {
      const c = columns[i]!;
      const fill = this.fills[i]!;
      const column = this.columns[i]!;
      if ('values' in c) {
        const values = c.values;
        for (let k = from; k < from + count; k++) {
          const v = values[k] ?? null;
          if (v !== null) fill.put(base + k, v);
          else if (column.nullable) fill.putNull(base + k);
          else throw new LakeValueError(column.name, 'NULL in a non-nullable column');
        }
      } else if ('int64' in c || 'float64' in c) {
        const items = 'int64' in c ? c.int64 : c.float64;
        const nulls = c.nulls;
        for (let k = from; k < from + count; k++) {
          if (nulls === undefined || nulls[k] === 0) fill.put(base + k, items[k]!);
          else if (column.nullable) fill.putNull(base + k);
          else throw new LakeValueError(column.name, 'NULL in a non-nullable column');
        }
      } else if ('bytes' in c) {
        const { bytes, lengths } = c;
        let at = textAt[i]!;
        for (let k = from; k < from + count; k++) {
          const n = lengths[k]!;
          if (n >= 0) {
            // A copy of the value's own bytes, as the value arrived before (a long one is assigned natively later).
            fill.put(base + k, bytes.slice(at, at + n));
            at += n;
          } else if (column.nullable) fill.putNull(base + k);
          else throw new LakeValueError(column.name, 'NULL in a non-nullable column');
        }
        textAt[i] = at;
      } else {
        const { text, lengths } = c;
        let at = textAt[i]!;
        for (let k = from; k < from + count; k++) {
          const n = lengths[k]!;
          if (n >= 0) {
            fill.putText(base + k, text, at, n);
            at += n;
          } else if (column.nullable) fill.putNull(base + k);
          else throw new LakeValueError(column.name, 'NULL in a non-nullable column');
        }
        textAt[i] = at;
      }
    }
    this.rows += count;
  }

  /** Copies the rows into the native chunk and returns it for `append_data_chunk`; then call {@link reset}. */
  seal(): DataChunk {
    ddb.data_chunk_reset(this.chunk);
    const vectors: Vector[] = [];
    for (let k = 0; k < this.storedCount; k++) vectors.push(ddb.data_chunk_get_vector(this.chunk, k));
    for (let i = 0; i < this.fills.length; i++) {
      const k = this.storedIndex[i]!;
      this.fills[i]!.copyTo(vectors.slice(k, k + (hasHundredNsCompanion(this.columns[i]!.type) ? 2 : 1)), this.rows);
    }
    ddb.data_chunk_set_size(this.chunk, this.rows);
    return this.chunk;
  }

  /** Starts the next chunk at row 0 (after the sealed chunk was appended). */
  reset(): void {
    this.rows = 0;
  }
}
