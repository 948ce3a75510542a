/**
 * The type system: type names, sizes, precedence (for implicit conversion), and the rules SQL Server uses to
 * type the result of arithmetic on decimals ("Precision, scale, and length (Transact-SQL)").
 */
import type { SqlType, SqlTypeName } from './api.js';
import { sqlError, syntaxError } from './errors.js';

/** Data type precedence, highest first ("Data type precedence (Transact-SQL)"); the lower type converts. */
const PRECEDENCE: SqlTypeName[] = [
  'datetimeoffset',
  'datetime2',
  'datetime',
  'smalldatetime',
  'date',
  'time',
  'float',
  'real',
  'decimal',
  'numeric',
  'money',
  'smallmoney',
  'bigint',
  'int',
  'smallint',
  'tinyint',
  'bit',
  'uniqueidentifier',
  'nvarchar',
  'nchar',
  'varchar',
  'char',
  'varbinary',
  'binary',
  'rowversion',
];

export function precedence(name: SqlTypeName): number {
  const i = PRECEDENCE.indexOf(name);
  return i < 0 ? 0 : PRECEDENCE.length - i;
}

export const INTEGER_TYPES = new Set<SqlTypeName>(['tinyint', 'smallint', 'int', 'bigint']);
export const EXACT_NUMERIC = new Set<SqlTypeName>([
  'bit',
  'tinyint',
  'smallint',
  'int',
  'bigint',
  'decimal',
  'numeric',
  'money',
  'smallmoney',
]);
export const STRING_TYPES = new Set<SqlTypeName>(['char', 'varchar', 'nchar', 'nvarchar']);
export const BINARY_TYPES = new Set<SqlTypeName>(['binary', 'varbinary', 'rowversion']);
export const DATETIME_TYPES = new Set<SqlTypeName>(['datetime', 'smalldatetime', 'datetime2']);

export const isInteger = (t: SqlType): boolean => INTEGER_TYPES.has(t.name);
export const isDecimal = (t: SqlType): boolean =>
  t.name === 'decimal' || t.name === 'numeric' || t.name === 'money' || t.name === 'smallmoney';
export const isFloat = (t: SqlType): boolean => t.name === 'float' || t.name === 'real';
export const isNumeric = (t: SqlType): boolean => EXACT_NUMERIC.has(t.name) || isFloat(t);
export const isString = (t: SqlType): boolean => STRING_TYPES.has(t.name);
export const isUnicode = (t: SqlType): boolean => t.name === 'nchar' || t.name === 'nvarchar';
export const isBinary = (t: SqlType): boolean => BINARY_TYPES.has(t.name);
export const isTemporal = (t: SqlType): boolean =>
  DATETIME_TYPES.has(t.name) || t.name === 'date' || t.name === 'time' || t.name === 'datetimeoffset';

/** Integer ranges of the integer types. */
export const INT_RANGE: Record<string, [bigint, bigint]> = {
  tinyint: [0n, 255n],
  smallint: [-32768n, 32767n],
  int: [-2147483648n, 2147483647n],
  bigint: [-9223372036854775808n, 9223372036854775807n],
};

/** decimal(p,0) equivalent of an integer type, used when an integer meets a decimal. */
export function integerAsDecimal(t: SqlType): SqlType {
  switch (t.name) {
    case 'bit':
      return { name: 'decimal', precision: 1, scale: 0 };
    case 'tinyint':
      return { name: 'decimal', precision: 3, scale: 0 };
    case 'smallint':
      return { name: 'decimal', precision: 5, scale: 0 };
    case 'int':
      return { name: 'decimal', precision: 10, scale: 0 };
    case 'money':
      return { name: 'decimal', precision: 19, scale: 4 };
    case 'smallmoney':
      return { name: 'decimal', precision: 10, scale: 4 };
    case 'decimal':
    case 'numeric':
      return t;
    default:
      return { name: 'decimal', precision: 19, scale: 0 };
  }
}

/** Result type of e1 op e2 for decimals, with SQL Server's reduction when the precision exceeds 38. */
export function decimalResultType(op: '+' | '-' | '*' | '/' | '%', a: SqlType, b: SqlType): SqlType {
  const p1 = a.precision ?? 18;
  const s1 = a.scale ?? 0;
  const p2 = b.precision ?? 18;
  const s2 = b.scale ?? 0;
  let p: number;
  let s: number;
  switch (op) {
    case '+':
    case '-':
      s = Math.max(s1, s2);
      p = Math.max(p1 - s1, p2 - s2) + s + 1;
      break;
    case '*':
      p = p1 + p2 + 1;
      s = s1 + s2;
      break;
    case '/':
      s = Math.max(6, s1 + p2 + 1);
      p = p1 - s1 + s2 + s;
      break;
    case '%':
      s = Math.max(s1, s2);
      p = Math.min(p1 - s1, p2 - s2) + s;
      break;
  }
  if (p > 38) {
    const integral = p - s;
    s = Math.min(s, Math.max(38 - integral, Math.min(s, 6)));
    p = 38;
  }
  return { name: 'decimal', precision: p, scale: s };
}

export function typeToString(t: SqlType): string {
  switch (t.name) {
    case 'decimal':
    case 'numeric':
      return `${t.name}(${t.precision ?? 18},${t.scale ?? 0})`;
    case 'char':
    case 'varchar':
    case 'nchar':
    case 'nvarchar':
    case 'binary':
    case 'varbinary':
      return `${t.name}(${t.length === -1 ? 'max' : (t.length ?? 1)})`;
    case 'datetime2':
    case 'datetimeoffset':
    case 'time':
      return `${t.name}(${t.scale ?? 7})`;
    case 'rowversion':
      return 'timestamp';
    default:
      return t.name;
  }
}

/** Max byte length as sys.columns reports it. */
export function maxLength(t: SqlType): number {
  switch (t.name) {
    case 'bit':
    case 'tinyint':
      return 1;
    case 'smallint':
      return 2;
    case 'int':
    case 'real':
    case 'smallmoney':
    case 'smalldatetime':
      return 4;
    case 'bigint':
    case 'float':
    case 'money':
    case 'datetime':
    case 'rowversion':
      return 8;
    case 'decimal':
    case 'numeric': {
      const p = t.precision ?? 18;
      return p <= 9 ? 5 : p <= 19 ? 9 : p <= 28 ? 13 : 17;
    }
    case 'char':
    case 'varchar':
    case 'binary':
    case 'varbinary':
      return t.length ?? 1;
    case 'nchar':
    case 'nvarchar':
      return t.length === -1 ? -1 : (t.length ?? 1) * 2;
    case 'date':
      return 3;
    case 'time':
      return (t.scale ?? 7) <= 2 ? 3 : (t.scale ?? 7) <= 4 ? 4 : 5;
    case 'datetime2':
      return (t.scale ?? 7) <= 2 ? 6 : (t.scale ?? 7) <= 4 ? 7 : 8;
    case 'datetimeoffset':
      return (t.scale ?? 7) <= 2 ? 8 : (t.scale ?? 7) <= 4 ? 9 : 10;
    case 'uniqueidentifier':
      return 16;
  }
}

/** system_type_id (= user_type_id for system types) as in sys.types. */
export const SYSTEM_TYPE_ID: Record<SqlTypeName, number> = {
  bit: 104,
  tinyint: 48,
  smallint: 52,
  int: 56,
  bigint: 127,
  decimal: 106,
  numeric: 108,
  money: 60,
  smallmoney: 122,
  float: 62,
  real: 59,
  char: 175,
  varchar: 167,
  nchar: 239,
  nvarchar: 231,
  binary: 173,
  varbinary: 165,
  rowversion: 189,
  date: 40,
  time: 41,
  datetime: 61,
  smalldatetime: 58,
  datetime2: 42,
  datetimeoffset: 43,
  uniqueidentifier: 36,
};

/** Precision as sys.columns reports it (0 for types without one). */
export function typePrecision(t: SqlType): number {
  switch (t.name) {
    case 'tinyint':
      return 3;
    case 'smallint':
      return 5;
    case 'int':
      return 10;
    case 'bigint':
      return 19;
    case 'bit':
      return 1;
    case 'decimal':
    case 'numeric':
      return t.precision ?? 18;
    case 'money':
      return 19;
    case 'smallmoney':
      return 10;
    case 'float':
      return 53;
    case 'real':
      return 24;
    case 'date':
      return 10;
    case 'time':
      return 8 + ((t.scale ?? 7) > 0 ? (t.scale ?? 7) + 1 : 0);
    case 'datetime':
      return 23;
    case 'smalldatetime':
      return 16;
    case 'datetime2':
      return 19 + ((t.scale ?? 7) > 0 ? (t.scale ?? 7) + 1 : 0);
    case 'datetimeoffset':
      return 26 + ((t.scale ?? 7) > 0 ? (t.scale ?? 7) + 1 : 0);
    default:
      return 0;
  }
}

export function typeScale(t: SqlType): number {
  switch (t.name) {
    case 'decimal':
    case 'numeric':
      return t.scale ?? 0;
    case 'money':
    case 'smallmoney':
      return 4;
    case 'datetime':
      return 3;
    case 'time':
    case 'datetime2':
    case 'datetimeoffset':
      return t.scale ?? 7;
    default:
      return 0;
  }
}

const TYPE_ALIASES: Record<string, SqlTypeName> = {
  bit: 'bit',
  tinyint: 'tinyint',
  smallint: 'smallint',
  int: 'int',
  integer: 'int',
  bigint: 'bigint',
  decimal: 'decimal',
  dec: 'decimal',
  numeric: 'numeric',
  money: 'money',
  smallmoney: 'smallmoney',
  float: 'float',
  real: 'real',
  char: 'char',
  character: 'char',
  varchar: 'varchar',
  nchar: 'nchar',
  nvarchar: 'nvarchar',
  sysname: 'nvarchar',
  binary: 'binary',
  varbinary: 'varbinary',
  rowversion: 'rowversion',
  timestamp: 'rowversion',
  date: 'date',
  time: 'time',
  datetime: 'datetime',
  smalldatetime: 'smalldatetime',
  datetime2: 'datetime2',
  datetimeoffset: 'datetimeoffset',
  uniqueidentifier: 'uniqueidentifier',
};

export function isTypeName(name: string): boolean {
  return TYPE_ALIASES[name.toLowerCase()] !== undefined;
}

/**
 * Builds an SqlType from a parsed name and its arguments (`'max'` → -1), applying SQL Server's defaults:
 * char/binary(1), decimal(18,0), float(53), datetime2(7); float(1..24) is real.
 */
export function makeType(rawName: string, args: (number | 'max')[]): SqlType {
  const lower = rawName.toLowerCase();
  const name = TYPE_ALIASES[lower];
  if (!name) throw sqlError(2715, rawName);
  const a0 = args[0];
  const a1 = args[1];
  switch (name) {
    case 'char':
    case 'varchar':
    case 'nchar':
    case 'nvarchar':
    case 'binary':
    case 'varbinary': {
      if (lower === 'sysname') return { name: 'nvarchar', length: 128 };
      if (a0 === 'max') {
        if (name === 'char' || name === 'nchar' || name === 'binary') throw syntaxError('max', false);
        return { name, length: -1 };
      }
      const limit = name === 'nchar' || name === 'nvarchar' ? 4000 : 8000;
      const length = a0 ?? 1;
      if (length < 1 || length > limit) throw sqlError(131, String(length), rawName, String(limit));
      return { name, length };
    }
    case 'decimal':
    case 'numeric': {
      const precision = typeof a0 === 'number' ? a0 : 18;
      const scale = typeof a1 === 'number' ? a1 : 0;
      if (precision < 1 || precision > 38 || scale < 0 || scale > precision) throw sqlError(102, String(precision));
      return { name, precision, scale };
    }
    case 'float': {
      const n = typeof a0 === 'number' ? a0 : 53;
      return n <= 24 ? { name: 'real', precision: 24 } : { name: 'float', precision: 53 };
    }
    case 'time':
    case 'datetime2':
    case 'datetimeoffset': {
      const scale = typeof a0 === 'number' ? a0 : 7;
      if (scale < 0 || scale > 7) throw sqlError(102, String(scale));
      return { name, scale };
    }
    case 'rowversion':
      return { name: 'rowversion', length: 8 };
    default:
      return { name };
  }
}

export const T = {
  bit: { name: 'bit' } as SqlType,
  int: { name: 'int' } as SqlType,
  bigint: { name: 'bigint' } as SqlType,
  smallint: { name: 'smallint' } as SqlType,
  tinyint: { name: 'tinyint' } as SqlType,
  float: { name: 'float', precision: 53 } as SqlType,
  sysname: { name: 'nvarchar', length: 128 } as SqlType,
  nvarchar: (length: number): SqlType => ({ name: 'nvarchar', length }),
  varchar: (length: number): SqlType => ({ name: 'varchar', length }),
  varbinary: (length: number): SqlType => ({ name: 'varbinary', length }),
  binary: (length: number): SqlType => ({ name: 'binary', length }),
  datetime: { name: 'datetime' } as SqlType,
  datetime2: (scale: number): SqlType => ({ name: 'datetime2', scale }),
  decimal: (precision: number, scale: number): SqlType => ({ name: 'decimal', precision, scale }),
  uniqueidentifier: { name: 'uniqueidentifier' } as SqlType,
};
