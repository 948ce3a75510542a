/**
 * The binder's evaluators (and the write path's undo steps) are object methods, not arrow functions in a property
 * (`eval(row, ctx) { … }`, not `eval: (row, ctx) => …`). The simulator runs from sources under tsx, whose esbuild
 * transform keeps function names (keepNames): it wraps every arrow function written as a property value in a
 * `__name` helper that calls `Object.defineProperty` each time the closure is created — ~0.5 µs, once per literal,
 * function call and cast bound. A 20-claim INSERT … VALUES binds ~2,000 of them; that was ~10% of the simulator's
 * CPU under the claims workload (docs/performance.md, "The simulator's write path"). Methods keep their names
 * without the helper. The helper's calls cannot be counted from a test (each module holds its own reference to
 * `Object.defineProperty`), so this checks the sources, with the transform tsx uses, and the values still come out.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { transformSync } from 'esbuild';
import { connect, engineWithClaims, run } from './helpers.js';

const FILES = [
  'sim/engine/binder.ts',
  'sim/engine/coercion.ts',
  'sim/engine/functions.ts',
  'sim/engine/table-store.ts',
  'sim/engine/dml.ts',
];

test('the write path binds and undoes without a named-closure helper per value (esbuild keepNames, as tsx runs it)', () => {
  for (const file of FILES) {
    const { code } = transformSync(readFileSync(file, 'utf8'), { loader: 'ts', keepNames: true, format: 'esm' });
    // A property whose value is a wrapped closure: `eval: /* @__PURE__ */ __name((row, ctx) => …, "eval")`.
    const wrapped = [...code.matchAll(/\w+:\s*(?:\/\* @__PURE__ \*\/\s*)?__name\(/g)].map((m) => m[0]);
    assert.deepEqual(wrapped, [], `${file}: arrow functions in properties wrapped in __name (write them as methods)`);
  }
});

test('a multi-row INSERT of literals, casts and date functions stores the values it was given', async () => {
  const s = await connect(engineWithClaims());
  const r = await run(
    s,
    `CREATE TABLE dbo.T (id int NOT NULL PRIMARY KEY, a decimal(9,2) NULL, b nvarchar(20) NULL, d date NULL, n bigint NULL);
     INSERT INTO dbo.T (id, a, b, d, n) VALUES
       (1, 12.50, N'x''y', CAST(DATEADD(day, -1, '2026-03-02') AS date), -5),
       (2, NULL, 'plain', CAST('2026-01-31' AS date), 2147483648),
       (3, 1 + 2.25, NULL, NULL, CAST(7 AS bigint) * 3);
     SELECT id, CAST(a AS varchar(12)), b, CONVERT(varchar(10), d, 23), n FROM dbo.T ORDER BY id`,
  );
  assert.deepEqual(r.errors, []);
  assert.deepEqual(r.sets.at(-1), [
    [1n, '12.50', "x'y", '2026-03-01', -5n],
    [2n, null, 'plain', '2026-01-31', 2147483648n],
    [3n, '3.25', null, null, 21n],
  ]);
});

test('INSERT … VALUES maps values to columns by the column list: DEFAULT, omitted columns, identity, rowversion', async () => {
  // The insert path takes literals without binding them and finds each column's value by its position in the
  // column list, once per statement (it built a map per row).
  const s = await connect(engineWithClaims());
  const r = await run(
    s,
    `CREATE TABLE dbo.T (id bigint IDENTITY(1,1) NOT NULL PRIMARY KEY, a int NOT NULL DEFAULT 7, b varchar(5) NULL,
       c nvarchar(5) NOT NULL DEFAULT N'd', rv rowversion);
     INSERT INTO dbo.T (c, b, a) VALUES (N'x', 'y', 1), (DEFAULT, NULL, DEFAULT), (N'z', 'w', 2 + 3);
     INSERT INTO dbo.T (b) VALUES ('only');
     INSERT INTO dbo.T (a, rv) VALUES (9, NULL);
     SELECT id, a, b, c, CASE WHEN rv IS NULL THEN 0 ELSE 1 END FROM dbo.T ORDER BY id`,
  );
  assert.deepEqual(r.errors, []);
  assert.deepEqual(r.sets.at(-1), [
    [1n, 1n, 'y', 'x', 1n],
    [2n, 7n, null, 'd', 1n],
    [3n, 5n, 'w', 'z', 1n],
    [4n, 7n, 'only', 'd', 1n],
    [5n, 9n, null, 'd', 1n],
  ]);
  const bad = await run(s, `INSERT INTO dbo.T (a, rv) VALUES (1, 0x01)`);
  assert.equal(bad.errors[0]?.number, 273);
});
