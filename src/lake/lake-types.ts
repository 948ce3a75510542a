/**
 * The lake's value conversions and DuckDB types over the value model of src/domain/values.ts: what the Parquet
 * writer checks and converts (exactly, or a {@link LakeValueError}), and the event columns of every data file.
 */
import type { LakeColumn, LakeType, UnscaledDecimal } from '../domain/values.js';

/** A value the writer cannot store exactly. Carries the column and the reason, never the value. */
export class LakeValueError extends Error {
  override readonly name = 'LakeValueError';
  constructor(
    readonly column: string,
    readonly reason: string,
  ) {
    super(`Column "${column}": ${reason}`);
  }
}

/**
 * Event columns every row of the change log carries, ahead of the table's own columns: the change kind, the
 * source position (fixed-width lowercase hex: string order is position order), when the change entered the
 * source's log (UTC, null where unknown), the window's sequence number, and when it was extracted (UTC).
 */
export const EVENT_LAKE_COLUMNS: readonly LakeColumn[] = [
  { name: '_op', type: { kind: 'string', maxLength: 1 }, nullable: false },
  { name: '_pos', type: { kind: 'string', maxLength: 64 }, nullable: false },
  { name: '_commit_ts', type: { kind: 'timestamp', fractionalDigits: 6 }, nullable: true },
  { name: '_window_id', type: { kind: 'int64' }, nullable: false },
  { name: '_extracted_at', type: { kind: 'timestamp', fractionalDigits: 6 }, nullable: false },
];

/** Decimal precision limit (SQL Server and DuckDB: 38 digits). */
export const MAX_DECIMAL_PRECISION = 38;

/** True when timestamps of this precision are stored with a nanosecond unit. */
export function usesNanoUnit(fractionalDigits: number): boolean {
  return fractionalDigits > 6;
}

/** DuckDB SQL type for a lake type (also what the Parquet file declares, see the module table). */
export function duckdbTypeSql(type: LakeType): string {
  switch (type.kind) {
    case 'boolean':
      return 'BOOLEAN';
    case 'uint8':
      return 'UTINYINT';
    case 'int16':
      return 'SMALLINT';
    case 'int32':
      return 'INTEGER';
    case 'int64':
      return 'BIGINT';
    case 'decimal':
      return `DECIMAL(${type.precision},${type.scale})`;
    case 'float32':
      return 'FLOAT';
    case 'float64':
      return 'DOUBLE';
    case 'string':
      return 'VARCHAR';
    case 'binary':
      return 'BLOB';
    case 'date':
      return 'DATE';
    case 'time':
      return 'TIME_NS';
    case 'timestamp':
      return usesNanoUnit(type.fractionalDigits) ? 'TIMESTAMP_NS' : 'TIMESTAMP';
    case 'timestamptz':
      return `STRUCT(utc ${usesNanoUnit(type.fractionalDigits) ? 'TIMESTAMP_NS' : 'TIMESTAMP'}, offset_minutes SMALLINT)`;
    case 'uuid':
      return 'UUID';
  }
}

/** Checks a type is well-formed; returns the problem or undefined. */
export function lakeTypeProblem(type: LakeType): string | undefined {
  switch (type.kind) {
    case 'decimal':
      if (!Number.isInteger(type.precision) || type.precision < 1 || type.precision > MAX_DECIMAL_PRECISION)
        return `decimal precision must be 1..${MAX_DECIMAL_PRECISION}`;
      if (!Number.isInteger(type.scale) || type.scale < 0 || type.scale > type.precision)
        return 'decimal scale must be 0..precision';
      return undefined;
    case 'time':
    case 'timestamp':
    case 'timestamptz':
      if (!Number.isInteger(type.fractionalDigits) || type.fractionalDigits < 0 || type.fractionalDigits > 7)
        return 'fractionalDigits must be 0..7';
      return undefined;
    case 'string':
    case 'binary':
      if (type.maxLength !== undefined && (!Number.isInteger(type.maxLength) || type.maxLength < 1))
        return 'maxLength must be a positive integer or absent (unbounded)';
      return undefined;
    default:
      return undefined;
  }
}

/** A short human form, e.g. `decimal(18,2)`, `string(50)`, `timestamp(7)`. */
export function formatLakeType(type: LakeType): string {
  switch (type.kind) {
    case 'decimal':
      return `decimal(${type.precision},${type.scale})`;
    case 'string':
    case 'binary':
      return type.maxLength === undefined ? `${type.kind}(max)` : `${type.kind}(${type.maxLength})`;
    case 'time':
    case 'timestamp':
    case 'timestamptz':
      return `${type.kind}(${type.fractionalDigits})`;
    default:
      return type.kind;
  }
}

const DECIMAL_TEXT = /^([+-])?(\d+)(?:\.(\d+))?$/;

/**
 * The unscaled integer of a decimal value at the column's scale. A string is parsed exactly; fewer fractional
 * digits are padded, more are accepted only when the extra digits are zeros (no rounding, ever).
 */
export function decimalToUnscaled(
  column: string,
  value: string | UnscaledDecimal,
  precision: number,
  scale: number,
): bigint {
  let unscaled: bigint;
  let valueScale: number;
  if (typeof value === 'string') {
    const m = DECIMAL_TEXT.exec(value.trim());
    if (!m) throw new LakeValueError(column, 'decimal text is not a plain decimal number');
    const frac = m[3] ?? '';
    unscaled = BigInt(`${m[2] ?? '0'}${frac}`) * (m[1] === '-' ? -1n : 1n);
    valueScale = frac.length;
  } else {
    unscaled = value.unscaled;
    valueScale = value.scale;
  }
  if (valueScale < scale) unscaled *= 10n ** BigInt(scale - valueScale);
  else if (valueScale > scale) {
    const div = 10n ** BigInt(valueScale - scale);
    if (unscaled % div !== 0n) throw new LakeValueError(column, `decimal has more than ${scale} fractional digits`);
    unscaled /= div;
  }
  const abs = unscaled < 0n ? -unscaled : unscaled;
  if (abs >= 10n ** BigInt(precision)) throw new LakeValueError(column, `decimal exceeds precision ${precision}`);
  return unscaled;
}

const DATE_TEXT = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Days since 1970-01-01 for a `YYYY-MM-DD` string (proleptic Gregorian) or a day number. */
export function dateToDays(column: string, value: string | number): number {
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw new LakeValueError(column, 'date day number must be an integer');
    return value;
  }
  const m = DATE_TEXT.exec(value);
  if (!m) throw new LakeValueError(column, 'date must be YYYY-MM-DD');
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  const d = new Date(ms);
  if (d.getUTCDate() !== Number(m[3])) throw new LakeValueError(column, 'date is not a calendar date');
  // Date.UTC maps years 0..99 onto 1900..1999; fix them back.
  const year = Number(m[1]);
  const fixed = year < 100 ? new Date(ms).setUTCFullYear(year) : ms;
  return Math.round(fixed / 86_400_000);
}

const UUID_TEXT = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/** A canonical UUID string as an unsigned 128-bit integer. */
export function uuidToUint128(column: string, value: string): bigint {
  if (!UUID_TEXT.test(value)) throw new LakeValueError(column, 'uuid must be 8-4-4-4-12 hex');
  return BigInt(`0x${value.replace(/-/g, '')}`);
}

/** Nanosecond bounds of an int64 nanosecond timestamp (DuckDB TIMESTAMP_NS). */
export const MIN_EPOCH_NANOS = -(2n ** 63n) + 1n;
export const MAX_EPOCH_NANOS = 2n ** 63n - 1n;
const NANOS_PER_DAY = 86_400_000_000_000n;

/** Validates a nanosecond value against a column's precision; returns nanos (ns unit) or micros (µs unit). */
export function timestampToUnit(column: string, epochNanos: bigint, fractionalDigits: number): bigint {
  const step = 10n ** BigInt(9 - fractionalDigits);
  if (epochNanos % step !== 0n)
    throw new LakeValueError(column, `timestamp is finer than the column's ${fractionalDigits} fractional digits`);
  if (usesNanoUnit(fractionalDigits)) {
    if (epochNanos <= MIN_EPOCH_NANOS || epochNanos > MAX_EPOCH_NANOS)
      throw new LakeValueError(
        column,
        'a 7-digit timestamp is outside 1677-09-21..2262-04-11, the range of the nanosecond unit datetime2(7) is ' +
          'stored in (a 9999-12-31 sentinel is the usual cause); it is refused rather than rounded — see ' +
          'docs/type-mapping.md, "Timestamps beyond 2262"',
      );
    return epochNanos;
  }
  return epochNanos / 1000n;
}

/** Validates nanoseconds since midnight for a time column. */
export function timeNanos(column: string, nanos: bigint, fractionalDigits: number): bigint {
  if (nanos < 0n || nanos >= NANOS_PER_DAY) throw new LakeValueError(column, 'time is outside 00:00..24:00');
  if (nanos % 10n ** BigInt(9 - fractionalDigits) !== 0n)
    throw new LakeValueError(column, `time is finer than the column's ${fractionalDigits} fractional digits`);
  return nanos;
}
