/**
 * SQL Server type → lake type, and the exact read path of each type. One module: discovery calls
 * {@link mapColumn} for every column; the strategies and chunk reads build their SELECT lists from
 * {@link ColumnReader.selectSql} and turn driver values into lake values with {@link ColumnReader.decode}.
 * Documented for users in docs/type-mapping.md.
 *
 * Why some columns are read as text: tedious (the driver under mssql) returns decimal/numeric/money as a JS
 * double (exact only while the unscaled integer is below 2^53) and drops the offset of datetimeoffset.
 * Those are CAST to varchar in the SELECT list and parsed exactly here. Everything else is read natively:
 * bigint arrives as a decimal string, datetime2/time as a Date plus `nanosecondsDelta` (100 ns exact).
 */
import type { LakeType, LakeValue } from '../domain/values.js';
import { UnsupportedTypeError } from './errors.js';
import { quoteIdent } from './sql-text.js';

/** A column's SQL type as discovered. */
export interface SqlColumnType {
  /** Lower-case system type name (`decimal`, `nvarchar`, `timestamp` for rowversion, …). */
  readonly typeName: string;
  /** Characters for (n)char/(n)varchar, bytes for (var)binary; -1 = (max). */
  readonly maxLength: number;
  readonly precision: number;
  readonly scale: number;
}

/** How one column is selected and decoded. */
export interface ColumnReader {
  readonly name: string;
  readonly lakeType: LakeType;
  /** The SELECT-list expression, aliased to the column's name. `qualifier` is the table alias, if any. */
  selectSql(qualifier?: string): string;
  /** Driver value → lake value (exact). */
  decode(value: unknown): LakeValue;
  /** True when the read path converts the value to text in SQL (costs server CPU and wire bytes). */
  readonly readAsText: boolean;
}

/** Precision up to which tedious's double is exact for decimals (|unscaled| < 10^15 < 2^53). */
export const NATIVE_DECIMAL_MAX_PRECISION = 15;

const NS_PER_MS = 1_000_000n;

/** Date (+ tedious `nanosecondsDelta`) → nanoseconds since 1970-01-01 of the wall clock (useUTC: true). */
export function dateToEpochNanos(d: Date): bigint {
  const delta = (d as Date & { nanosecondsDelta?: number }).nanosecondsDelta ?? 0;
  const ticks = Math.round(delta * 1e7); // 100 ns ticks below the millisecond, 0..9999
  return BigInt(d.getTime()) * NS_PER_MS + BigInt(ticks) * 100n;
}

const DTO_TEXT = /^(-?\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,7}))? ([+-])(\d{2}):(\d{2})$/;

/** `YYYY-MM-DD hh:mm:ss[.fffffff] {+|-}hh:mm` (CAST(datetimeoffset AS varchar)) → UTC instant + offset. */
export function parseDateTimeOffsetText(text: string): { epochNanos: bigint; offsetMinutes: number } {
  const m = DTO_TEXT.exec(text);
  if (!m) throw new Error('datetimeoffset text is not in the CAST(... AS varchar) format');
  const [, y, mo, d, h, mi, s, frac = '', sign, oh, om] = m;
  const wallMs = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  const wall = new Date(wallMs);
  if (Number(y) < 100) wall.setUTCFullYear(Number(y));
  const offsetMinutes = (sign === '-' ? -1 : 1) * (Number(oh) * 60 + Number(om));
  const fracNanos = BigInt(frac.padEnd(9, '0'));
  const epochNanos = BigInt(wall.getTime()) * NS_PER_MS + fracNanos - BigInt(offsetMinutes) * 60_000_000_000n;
  return { epochNanos, offsetMinutes };
}

function native(name: string, lakeType: LakeType, decode: (v: unknown) => LakeValue): ColumnReader {
  return {
    name,
    lakeType,
    readAsText: false,
    selectSql: (q) => (q ? `${q}.${quoteIdent(name)}` : quoteIdent(name)),
    decode: (v) => (v === null || v === undefined ? null : decode(v)),
  };
}

function asText(
  name: string,
  lakeType: LakeType,
  sqlExpr: (col: string) => string,
  decode: (s: string) => LakeValue,
): ColumnReader {
  return {
    name,
    lakeType,
    readAsText: true,
    selectSql: (q) => `${sqlExpr(q ? `${q}.${quoteIdent(name)}` : quoteIdent(name))} AS ${quoteIdent(name)}`,
    decode: (v) => (v === null || v === undefined ? null : decode(v as string)),
  };
}

const identity = (v: unknown): LakeValue => v as LakeValue;

/**
 * The reader of one column. Throws {@link UnsupportedTypeError} for types with no exact mapping
 * (`sql_variant`, CLR UDTs other than the spatial/hierarchyid ones, which are read as their binary form).
 */
export function mapColumn(table: string, name: string, t: SqlColumnType): ColumnReader {
  const len = t.maxLength === -1 ? undefined : t.maxLength;
  switch (t.typeName) {
    case 'bit':
      return native(name, { kind: 'boolean' }, identity);
    case 'tinyint':
      return native(name, { kind: 'uint8' }, identity);
    case 'smallint':
      return native(name, { kind: 'int16' }, identity);
    case 'int':
      return native(name, { kind: 'int32' }, identity);
    case 'bigint':
      // tedious returns bigint as a decimal string: exact.
      return native(name, { kind: 'int64' }, (v) => BigInt(v as string | number));
    case 'decimal':
    case 'numeric':
    case 'money':
    case 'smallmoney':
    case 'float':
    case 'real':
      return numericReader(name, t);
    case 'char':
    case 'varchar':
    case 'nchar':
    case 'nvarchar':
      return native(name, len === undefined ? { kind: 'string' } : { kind: 'string', maxLength: len }, identity);
    case 'text':
    case 'ntext':
      return native(name, { kind: 'string' }, identity);
    case 'xml':
      return asText(
        name,
        { kind: 'string' },
        (c) => `CAST(${c} AS nvarchar(max))`,
        (s) => s,
      );
    case 'binary':
    case 'varbinary':
      return native(name, len === undefined ? { kind: 'binary' } : { kind: 'binary', maxLength: len }, identity);
    case 'image':
      return native(name, { kind: 'binary' }, identity);
    case 'timestamp':
    case 'rowversion':
      return native(name, { kind: 'binary', maxLength: 8 }, identity);
    case 'hierarchyid':
    case 'geography':
    case 'geometry':
      return asText(name, { kind: 'binary' }, (c) => `CAST(${c} AS varbinary(max))`, identity);
    case 'uniqueidentifier':
      return native(name, { kind: 'uuid' }, identity);
    case 'date':
    case 'time':
    case 'datetime2':
    case 'datetime':
    case 'smalldatetime':
    case 'datetimeoffset':
      return temporalReader(name, t);
    default:
      throw new UnsupportedTypeError(table, name, t.typeName);
  }
}

/** decimal, numeric, money, smallmoney, float, real. */
function numericReader(name: string, t: SqlColumnType): ColumnReader {
  switch (t.typeName) {
    case 'decimal':
    case 'numeric': {
      const lt: LakeType = { kind: 'decimal', precision: t.precision, scale: t.scale };
      if (t.precision <= NATIVE_DECIMAL_MAX_PRECISION)
        // |unscaled| < 10^15 < 2^53: tedious's double is the nearest double to the exact value, and toFixed
        // recovers the digits exactly (15 significant digits always round-trip through a double).
        return native(name, lt, (v) => (v as number).toFixed(t.scale));
      return asText(
        name,
        lt,
        (c) => `CAST(${c} AS varchar(41))`,
        (s) => s,
      );
    }
    case 'money':
      // 19 digits: a double is not exact; style 2 keeps all 4 fractional digits (style 0 rounds to 2).
      return asText(
        name,
        { kind: 'decimal', precision: 19, scale: 4 },
        (c) => `CONVERT(varchar(30), ${c}, 2)`,
        (s) => s,
      );
    case 'smallmoney':
      return native(name, { kind: 'decimal', precision: 10, scale: 4 }, (v) => (v as number).toFixed(4));
    case 'float':
      return native(name, t.precision > 24 ? { kind: 'float64' } : { kind: 'float32' }, identity);
    case 'real':
    default:
      return native(name, { kind: 'float32' }, identity);
  }
}

/** date, time, datetime2, datetime, smalldatetime, datetimeoffset. */
function temporalReader(name: string, t: SqlColumnType): ColumnReader {
  switch (t.typeName) {
    case 'date':
      // tedious: a Date at UTC midnight (useUTC) → days since 1970-01-01.
      return native(name, { kind: 'date' }, (v) => Math.floor((v as Date).getTime() / 86_400_000));
    case 'time':
      return native(name, { kind: 'time', fractionalDigits: t.scale }, (v) => {
        const n = dateToEpochNanos(v as Date);
        const day = 86_400_000_000_000n;
        return ((n % day) + day) % day;
      });
    case 'datetime2':
      return native(name, { kind: 'timestamp', fractionalDigits: t.scale }, (v) => dateToEpochNanos(v as Date));
    case 'datetime':
      // 1/300 s ticks, delivered rounded to the millisecond as SQL Server displays them (.000/.003/.007).
      return native(name, { kind: 'timestamp', fractionalDigits: 3 }, (v) => dateToEpochNanos(v as Date));
    case 'smalldatetime':
      return native(name, { kind: 'timestamp', fractionalDigits: 0 }, (v) => dateToEpochNanos(v as Date));
    case 'datetimeoffset':
    default:
      // tedious drops the offset: read the text form, which carries the local time and the offset.
      return asText(
        name,
        { kind: 'timestamptz', fractionalDigits: t.scale },
        (c) => `CAST(${c} AS varchar(34))`,
        parseDateTimeOffsetText,
      );
  }
}

/** The readers of a column list (fails on the first unsupported column). */
export function mapColumns(table: string, columns: readonly { name: string; type: SqlColumnType }[]): ColumnReader[] {
  return columns.map((c) => mapColumn(table, c.name, c.type));
}

/** Decodes a driver row (arrayRowMode) whose first `readers.length` values follow `readers`, from `offset`. */
export function decodeRow(readers: readonly ColumnReader[], row: readonly unknown[], offset = 0): LakeValue[] {
  const out = new Array<LakeValue>(readers.length);
  for (let i = 0; i < readers.length; i++) out[i] = readers[i]!.decode(row[offset + i]);
  return out;
}
