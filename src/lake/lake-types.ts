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

/**
 * Suffix of the companion column of a 7-digit timestamp column (`datetime2(7)`, `datetimeoffset(7)`): the
 * column itself is stored in microseconds (every reader's timestamp unit; it holds 0001-01-01..9999-12-31), and
 * `<column>__100ns` holds the one digit microseconds cannot (0..9, the 100 ns unit SQL Server counts in), so the
 * exact value is `<column> + <column>__100ns × 100 ns`. Columns of 0..6 digits have no companion.
 */
export const HUNDRED_NS_SUFFIX = '__100ns';

/** True when a column of this type is stored with a `__100ns` companion column. */
export function hasHundredNsCompanion(type: LakeType): boolean {
  return (type.kind === 'timestamp' || type.kind === 'timestamptz') && type.fractionalDigits === 7;
}

/**
 * The columns as the data files store them, in file order: each column, followed by its `__100ns` companion
 * (type uint8, same nullability) when it has one. Every reader of data files (validation, the manifests'
 * reader, compare, reconcile, the Delta schema) lists the files' columns through this one function.
 */
export function storedColumns(columns: readonly LakeColumn[]): LakeColumn[] {
  const out: LakeColumn[] = [];
  for (const c of columns) {
    out.push(c);
    if (hasHundredNsCompanion(c.type))
      out.push({ name: `${c.name}${HUNDRED_NS_SUFFIX}`, type: { kind: 'uint8' }, nullable: c.nullable });
  }
  return out;
}

/**
 * The stored columns as DuckDB select expressions over the files (`alias.` prefixed when given), for comparing a
 * latest state with another: a companion that is NULL beside a non-NULL timestamp (a row written before the
 * column was widened to 7 digits, when it had no companion) reads as 0, which is what it means.
 */
export function storedColumnsSql(columns: readonly LakeColumn[], alias = ''): string[] {
  const q = (name: string) => `${alias ? `${alias}.` : ''}"${name.replace(/"/g, '""')}"`;
  return columns.flatMap((c) =>
    hasHundredNsCompanion(c.type)
      ? [
          q(c.name),
          `CASE WHEN ${q(c.name)} IS NULL THEN NULL ELSE coalesce(${q(`${c.name}${HUNDRED_NS_SUFFIX}`)}, 0) END::UTINYINT AS "${`${c.name}${HUNDRED_NS_SUFFIX}`.replace(/"/g, '""')}"`,
        ]
      : [q(c.name)],
  );
}

/** The stored names of key columns, in key order: a 7-digit timestamp key is both of its stored columns. */
export function storedKeyNames(columns: readonly LakeColumn[], keyColumns: readonly string[]): string[] {
  return keyColumns.flatMap((k) => {
    const c = columns.find((x) => x.name === k);
    return c && hasHundredNsCompanion(c.type) ? [k, `${k}${HUNDRED_NS_SUFFIX}`] : [k];
  });
}

/**
 * The storage layout new schema versions are written with (`SchemaDoc.storage`). Layout 1 (earlier releases,
 * no `storage` field) stored timestamp(7) and timestamptz(7) as Parquet TIMESTAMP(NANOS), time as TIME(NANOS)
 * and uuid as UUID; layout 2 stores them as described in docs/type-mapping.md. Columns of every other type are
 * stored the same way in both.
 */
export const STORAGE_LAYOUT = 2;

/** True when a column of this type is stored differently in layout 1 than in layout 2. */
export function storedDifferentlyInLayout1(type: LakeType): boolean {
  return hasHundredNsCompanion(type) || type.kind === 'time' || type.kind === 'uuid';
}

/** DuckDB SQL type of a stored column (also what the Parquet file declares, see docs/type-mapping.md). */
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
      return 'VARCHAR';
    case 'timestamp':
      return 'TIMESTAMP';
    case 'timestamptz':
      return 'STRUCT(utc TIMESTAMP, offset_minutes SMALLINT)';
    case 'uuid':
      return 'VARCHAR';
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

/** 10^0 .. 10^15, exact doubles. */
const POW10 = Array.from({ length: 16 }, (_v, i) => 10 ** i);

/**
 * {@link decimalToUnscaled} of plain decimal text (`-?digits[.digits]`, as the source reader's `toFixed` gives)
 * whose unscaled value at the column's scale has at most 15 digits, computed in doubles (exact below 2^53) with
 * no BigInt; undefined for any other text or a value beyond the precision, which then takes
 * {@link decimalToUnscaled} (the one place that accepts or refuses it, with its message).
 */
export function smallDecimalTextToUnscaled(text: string, precision: number, scale: number): number | undefined {
  return smallDecimalCharsToUnscaled(text, 0, text.length, precision, scale);
}

/**
 * {@link smallDecimalTextToUnscaled} of `text[at, at + len)`, without slicing it (the Parquet writer reads
 * decimals straight from a batch's packed text).
 */
export function smallDecimalCharsToUnscaled(
  text: string,
  at: number,
  len: number,
  precision: number,
  scale: number,
): number | undefined {
  if (len === 0 || len > 17) return undefined;
  const end = at + len;
  let i = at;
  const negative = text.charCodeAt(i) === 45; // '-'
  if (negative) i++;
  let n = 0;
  let digits = 0;
  let fraction = -1;
  for (; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === 46) {
      // '.'
      if (fraction !== -1 || digits === 0) return undefined;
      fraction = 0;
      continue;
    }
    if (c < 48 || c > 57) return undefined;
    n = n * 10 + (c - 48);
    digits++;
    if (fraction !== -1) fraction++;
  }
  if (digits === 0 || fraction === 0) return undefined;
  const f = fraction === -1 ? 0 : fraction;
  if (f > scale || digits + scale - f > 15) return undefined;
  n *= POW10[scale - f] as number;
  if (precision <= 15 && n >= (POW10[precision] as number)) return undefined;
  return negative && n !== 0 ? -n : n;
}

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

/**
 * A uuid as stored: its canonical text, lowercase (RFC 9562's form, and what DuckDB's UUID type prints). Text,
 * not Parquet UUID: Delta has no uuid type, and its binary would show SQL Server's mixed-endian byte order.
 */
export function uuidText(column: string, value: string): string {
  if (!UUID_TEXT.test(value)) throw new LakeValueError(column, 'uuid must be 8-4-4-4-12 hex');
  return value.toLowerCase();
}

const NANOS_PER_DAY = 86_400_000_000_000n;

/** A timestamp as stored: microseconds (floored) and, for 7 digits, the 100 ns digit of its companion column. */
export interface StoredTimestamp {
  readonly micros: bigint;
  /** 0..9; only meaningful for 7-digit columns (0 otherwise). */
  readonly hundredNs: number;
}

/** Validates a nanosecond value against a column's precision and splits it into the stored units. */
export function storedTimestamp(column: string, epochNanos: bigint, fractionalDigits: number): StoredTimestamp {
  // Floor division into microseconds and the nanoseconds below them (0..999): few BigInt operations, as this runs
  // for every timestamp value written.
  let micros = epochNanos / 1000n;
  let below = Number(epochNanos - micros * 1000n);
  if (below < 0) {
    micros -= 1n; // floor, not truncation: before 1970
    below += 1000;
  }
  // Finer than the column's digits: 10^(9 − digits) must divide the value.
  const finer =
    fractionalDigits >= 6
      ? below % 10 ** (9 - fractionalDigits) !== 0
      : below !== 0 || micros % 10n ** BigInt(6 - fractionalDigits) !== 0n;
  if (finer)
    throw new LakeValueError(column, `timestamp is finer than the column's ${fractionalDigits} fractional digits`);
  return { micros, hundredNs: Math.floor(below / 100) };
}

/**
 * A time as stored: `HH:MM:SS.fffffff`, always 7 fractional digits (SQL Server's finest, time(7)) whatever the
 * column's scale, so text order is time order and a widening (time(3) → time(7)) changes nothing stored. Text:
 * Delta and Spark have no time type; every engine casts this form to its own time type.
 */
export function timeText(column: string, nanos: bigint, fractionalDigits: number): string {
  if (nanos < 0n || nanos >= NANOS_PER_DAY) throw new LakeValueError(column, 'time is outside 00:00..24:00');
  if (nanos % 10n ** BigInt(9 - fractionalDigits) !== 0n)
    throw new LakeValueError(column, `time is finer than the column's ${fractionalDigits} fractional digits`);
  const two = (n: bigint) => n.toString().padStart(2, '0');
  const seconds = nanos / 1_000_000_000n;
  const hms = `${two(seconds / 3600n)}:${two((seconds / 60n) % 60n)}:${two(seconds % 60n)}`;
  return `${hms}.${(nanos % 1_000_000_000n).toString().padStart(9, '0').slice(0, 7)}`;
}
