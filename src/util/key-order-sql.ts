/**
 * The one builder of key-order comparisons in SQL, for SQL Server (keyset chunk reads, with parameters) and
 * DuckDB (the lake side of sweeps and reconciliations, with literals or joined columns) alike: composite keys
 * compare in lexicographic order, written as an OR-expansion that both engines can seek on:
 * `(k1, k2) > (v1, v2)` ⇔ `(k1 > v1) OR (k1 = v1 AND k2 > v2)`.
 */

/** A key-order comparison operator: `(k…) op (v…)` in lexicographic order. */
export type KeyOrderOp = '>' | '<' | '<=';

/**
 * `(lhs…) op (rhs…)` as a parenthesised OR-expansion; `lhs` and `rhs` are SQL expressions (quoted columns,
 * parameters, literals), one per key column, in key order.
 */
export function keyOrderSql(lhs: readonly string[], rhs: readonly string[], op: KeyOrderOp): string {
  const strict = op === '<=' ? '<' : op;
  const terms = lhs.map((l, i) => {
    const eqs = lhs.slice(0, i).map((x, j) => `${x} = ${rhs[j]}`);
    return `(${[...eqs, `${l} ${i === lhs.length - 1 ? op : strict} ${rhs[i]}`].join(' AND ')})`;
  });
  return `(${terms.join(' OR ')})`;
}
