/**
 * Typed constants and conversions of compiled expressions (literals, implicit/explicit conversion, the common
 * type of two operands by SQL Server's precedence rules): what the binder and the built-in functions share.
 */
import type { SqlType, SqlValue } from './api.js';
import type { Compiled } from './binder.js';
import { sqlError } from './errors.js';
import { isBinary, isDecimal, isString, precedence, typeToString } from './types.js';
import { convertValue, implicitlyConvertible } from './values.js';

export function literal(value: SqlValue, type: SqlType): Compiled {
  return {
    type,
    nullable: value === null,
    eval() {
      return value;
    },
    constant: true,
    nullLiteral: value === null,
  };
}

/** The result type of CASE/COALESCE-like combinations: highest precedence, ignoring untyped NULLs. */
export function combinedType(cs: Compiled[]): SqlType {
  const typed = cs.filter((c) => !c.nullLiteral);
  if (typed.length === 0) return { name: 'int' };
  return typed.map((c) => c.type).reduce((a, b) => commonType(a, b));
}

/** Converts a compiled expression to `to` (implicitly unless `explicit`), precomputing constants. */
export function coerce(c: Compiled, to: SqlType, explicit = false, style = 0): Compiled {
  if (sameType(c.type, to)) return c;
  if (!explicit && !implicitlyConvertible(c.type, to)) throw sqlError(206, typeToString(c.type), typeToString(to));
  const from = c.type;
  const inner = c.eval;
  return {
    ...c,
    type: to,
    column: undefined,
    eval(row, ctx) {
      return convertValue(inner(row, ctx), from, to, style);
    },
  };
}

function sameType(a: SqlType, b: SqlType): boolean {
  return a.name === b.name && a.length === b.length && a.precision === b.precision && a.scale === b.scale;
}

/** The type two operands are compared or combined in (higher precedence wins). */
export function commonType(a: SqlType, b: SqlType): SqlType {
  if (isString(a) && isString(b)) {
    const unicode = a.name.startsWith('n') || b.name.startsWith('n');
    const la = a.length ?? 1;
    const lb = b.length ?? 1;
    return { name: unicode ? 'nvarchar' : 'varchar', length: la === -1 || lb === -1 ? -1 : Math.max(la, lb) };
  }
  if (isDecimal(a) && isDecimal(b) && a.name !== 'money' && b.name !== 'money') {
    const s = Math.max(a.scale ?? 0, b.scale ?? 0);
    const i = Math.max((a.precision ?? 18) - (a.scale ?? 0), (b.precision ?? 18) - (b.scale ?? 0));
    return { name: 'decimal', precision: Math.min(38, i + s), scale: s };
  }
  if (isBinary(a) && isBinary(b)) {
    const la = a.length ?? 1;
    const lb = b.length ?? 1;
    return { name: 'varbinary', length: la === -1 || lb === -1 ? -1 : Math.max(la, lb) };
  }
  return precedence(a.name) >= precedence(b.name) ? a : b;
}
