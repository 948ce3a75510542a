/**
 * Columns are found by name through an index (sim/engine/catalog.ts `Table.column`), which DDL can make stale:
 * a dropped column must not be found, a column added under a dropped column's name must be the new one, and
 * statements after each change must read and write the right slots.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { engineWithClaims, connect, run } from './helpers.js';

test('after DROP COLUMN and ADD of the same name, statements use the new column and never the dropped one', async () => {
  const e = engineWithClaims();
  const s = await connect(e);
  await run(s, 'CREATE TABLE dbo.T (id int NOT NULL PRIMARY KEY, a int NULL, b nvarchar(10) NULL, c int NULL)');
  await run(s, "INSERT INTO dbo.T (id, a, b, c) VALUES (1, 10, N'x', 100)");
  const table = e.admin.database('Claims')?.schema('dbo')?.tables.get('t');
  assert.ok(table);
  assert.equal(table.column('B')?.name, 'b'); // builds the index

  await run(s, 'ALTER TABLE dbo.T DROP COLUMN b');
  assert.equal(table.column('b'), undefined);
  const dropped = await run(s, "UPDATE dbo.T SET b = N'y' WHERE id = 1");
  assert.deepEqual(
    dropped.errors.map((x) => x.number),
    [207],
  );

  // Same count of columns as before the drop, a new one under the dropped name: the index must not answer the
  // dropped column's slot.
  await run(s, 'ALTER TABLE dbo.T ADD b int NULL');
  assert.equal(table.column('b')?.type.name, 'int');
  const ins = await run(s, 'INSERT INTO dbo.T (id, a, b, c) VALUES (2, 20, 7, 200)');
  assert.deepEqual(ins.errors, []);
  await run(s, 'UPDATE dbo.T SET b = b + 1, c = c + 1 WHERE id = 2');
  const rows = await run(s, 'SELECT id, a, b, c FROM dbo.T ORDER BY id');
  assert.deepEqual(rows.sets[0], [
    [1n, 10n, null, 100n],
    [2n, 20n, 8n, 201n],
  ]);
});
