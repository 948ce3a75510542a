/**
 * The one key-order SQL builder (src/util/key-order-sql.ts) that keyset chunk reads (SQL Server), the sweep's
 * key range and reconciliation's tombstone ranges (DuckDB) share: lexicographic order of composite keys.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { keyOrderSql } from '../../../src/util/key-order-sql.js';

test('a composite key compares lexicographically: strict on every column but the last, which takes the operator', () => {
  assert.equal(keyOrderSql(['a', 'b'], ['@p0', '@p1'], '>'), '((a > @p0) OR (a = @p0 AND b > @p1))');
  assert.equal(keyOrderSql(['a', 'b'], ['1', '2'], '<='), '((a < 1) OR (a = 1 AND b <= 2))');
  assert.equal(
    keyOrderSql(['a', 'b', 'c'], ['x', 'y', 'z'], '<'),
    '((a < x) OR (a = x AND b < y) OR (a = x AND b = y AND c < z))',
  );
});

test('a one-column key is a plain comparison', () => {
  assert.equal(keyOrderSql(['"id"'], ['5'], '<='), '(("id" <= 5))');
});
