/**
 * The lake's column and value model: the one vocabulary between the source (which maps SQL Server types onto
 * it) and the Parquet writer (which maps it onto Parquet via DuckDB).
 *
 * Contract for the JS representation of values (what the writer accepts, per {@link LakeType}):
 *
 * | kind          | JS value                                                           | Parquet (via DuckDB)                          |
 * |---------------|--------------------------------------------------------------------|-----------------------------------------------|
 * | `boolean`     | `boolean`                                                          | BOOLEAN                                       |
 * | `uint8`       | `number` (integer 0..255; SQL Server `tinyint` is unsigned)        | INT32 (UINT_8)                                |
 * | `int16`       | `number` (integer)                                                 | INT32 (INT_16)                                |
 * | `int32`       | `number` (integer)                                                 | INT32                                         |
 * | `int64`       | `bigint` (a JS number loses digits above 2^53)                     | INT64                                         |
 * | `decimal`     | exact decimal `string` (`"-12.30"`) or `{ unscaled: bigint, scale }` — never a JS number | DECIMAL(p,s)            |
 * | `float32/64`  | `number`                                                           | FLOAT / DOUBLE                                |
 * | `string`      | `string`                                                           | BYTE_ARRAY (STRING)                           |
 * | `binary`      | `Uint8Array` (a Buffer is one)                                     | BYTE_ARRAY                                    |
 * | `date`        | `string` `YYYY-MM-DD` or `number` days since 1970-01-01            | INT32 (DATE)                                  |
 * | `time`        | `bigint` nanoseconds since midnight                                | INT64 TIME(NANOS)                             |
 * | `timestamp`   | `bigint` nanoseconds since 1970-01-01T00:00 of the wall clock (no zone) | INT64 TIMESTAMP(NANOS or MICROS, not UTC-adjusted) |
 * | `timestamptz` | `{ epochNanos: bigint, offsetMinutes: number }` (UTC instant + the source's offset) | STRUCT(utc TIMESTAMP, offset_minutes INT16) |
 * | `uuid`        | `string` (canonical 8-4-4-4-12 hex, any case)                      | FIXED_LEN_BYTE_ARRAY(16) (UUID)               |
 *
 * `null` is NULL for every kind. A JS `Date` is never accepted: it cuts datetime2(7) to milliseconds.
 *
 * Timestamps with 7 fractional digits (datetime2(7), 100 ns) are stored with a nanosecond unit, whose range is
 * 1677-09-21 .. 2262-04-11; 0–6 digits use a microsecond unit (years 1..9999). A value outside the unit's range
 * or finer than the column's precision is refused (a {@link LakeValueError}), never rounded.
 */

/** A column type of the lake. Length/precision fields matter for schema evolution (what is a widening). */
export type LakeType =
  | { readonly kind: 'boolean' }
  | { readonly kind: 'uint8' }
  | { readonly kind: 'int16' }
  | { readonly kind: 'int32' }
  | { readonly kind: 'int64' }
  | { readonly kind: 'decimal'; readonly precision: number; readonly scale: number }
  | { readonly kind: 'float32' }
  | { readonly kind: 'float64' }
  /** `maxLength` in characters; absent = unbounded (`nvarchar(max)`). */
  | { readonly kind: 'string'; readonly maxLength?: number }
  /** `maxLength` in bytes; absent = unbounded (`varbinary(max)`). */
  | { readonly kind: 'binary'; readonly maxLength?: number }
  | { readonly kind: 'date' }
  /** `fractionalDigits` 0..7 as declared at the source (`time(7)` → 7). */
  | { readonly kind: 'time'; readonly fractionalDigits: number }
  | { readonly kind: 'timestamp'; readonly fractionalDigits: number }
  | { readonly kind: 'timestamptz'; readonly fractionalDigits: number }
  | { readonly kind: 'uuid' };

export type LakeTypeKind = LakeType['kind'];

/** An exact decimal as an unscaled integer: the number is `unscaled / 10^scale`. */
export interface UnscaledDecimal {
  readonly unscaled: bigint;
  readonly scale: number;
}

/** An instant with the offset the source recorded (SQL Server `datetimeoffset`). */
export interface InstantWithOffset {
  /** The UTC instant, nanoseconds since 1970-01-01T00:00Z. */
  readonly epochNanos: bigint;
  /** Minutes east of UTC, -840..840. */
  readonly offsetMinutes: number;
}

/** One value in a row, as described in the module's table. */
export type LakeValue = null | boolean | number | bigint | string | Uint8Array | UnscaledDecimal | InstantWithOffset;

/** A column of a table in the lake. */
export interface LakeColumn {
  readonly name: string;
  readonly type: LakeType;
  readonly nullable: boolean;
}

/** The kind of change: create, update, delete (tombstone), read (snapshot, backfill or sweep). */
export type ChangeOp = 'c' | 'u' | 'd' | 'r';
export const CHANGE_OPS: readonly ChangeOp[] = ['c', 'u', 'd', 'r'];

/** Formats an unscaled decimal as exact text (`-0.05`). */
export function unscaledToDecimalText(unscaled: bigint, scale: number): string {
  const neg = unscaled < 0n;
  const digits = (neg ? -unscaled : unscaled).toString().padStart(scale + 1, '0');
  const text = scale === 0 ? digits : `${digits.slice(0, digits.length - scale)}.${digits.slice(-scale)}`;
  return neg ? `-${text}` : text;
}
