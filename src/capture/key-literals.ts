/**
 * Key ranges on the lake side (DuckDB): which key types order the same way in SQL Server and DuckDB, and the
 * DuckDB form of a key range `(after, upTo]` over them.
 */
import { unscaledToDecimalText, type LakeColumn, type LakeValue } from '../domain/values.js';
import type { KeyValues } from '../domain/keys.js';
import { duckdbTypeSql } from '../lake/lake-types.js';
import { quoteIdent, quoteLiteral } from '../lake/parquet-writer.js';
import { keyOrderSql } from '../util/key-order-sql.js';

/** Key column kinds ordered the same way by SQL Server and DuckDB, so a key range means the same keys on both. */
export const RANGE_SAFE_KEY_KINDS: ReadonlySet<string> = new Set([
  'uint8',
  'int16',
  'int32',
  'int64',
  'decimal',
  'date',
]);

/** A DuckDB literal of a key value of a range-safe column. */
function keyLiteral(c: LakeColumn, v: LakeValue): string {
  if (v === null) return 'NULL';
  const t = duckdbTypeSql(c.type);
  switch (c.type.kind) {
    case 'date':
      return `CAST(DATE '1970-01-01' + INTERVAL (${Number(v)}) DAY AS DATE)`;
    case 'decimal': {
      const d = v as { unscaled: bigint; scale: number } | string;
      return `CAST(${quoteLiteral(typeof d === 'string' ? d : unscaledToDecimalText(d.unscaled, d.scale))} AS ${t})`;
    }
    default:
      // Integer kinds: a JS number or bigint.
      return `CAST(${quoteLiteral((v as bigint | number).toString())} AS ${t})`;
  }
}

/** DuckDB conditions on `alias`'s key columns `cols` for the range `(after, upTo]` (none for an open end). */
export function keyRangeSql(
  alias: string,
  cols: readonly LakeColumn[],
  range: { after?: KeyValues; upTo?: KeyValues },
): string[] {
  const lhs = cols.map((c) => `${alias}.${quoteIdent(c.name)}`);
  const values = (key: KeyValues) => cols.map((c, i) => keyLiteral(c, key[i] ?? null));
  return [
    ...(range.after ? [keyOrderSql(lhs, values(range.after), '>')] : []),
    ...(range.upTo ? [keyOrderSql(lhs, values(range.upTo), '<=')] : []),
  ];
}
