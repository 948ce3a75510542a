/**
 * Packed rows live in shared slabs (sim/engine/row-slabs.ts): after deletes and updates leave most slab bytes
 * dead, the table's live rows are copied into fresh slabs, and every access path still reads the right values.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { engineWithClaims, connect, run } from './helpers.js';

test('deletes and updates compact the slabs, and the surviving rows read back exactly', async () => {
  const e = engineWithClaims();
  const s = await connect(e);
  await run(s, 'CREATE TABLE dbo.Wide (id int PRIMARY KEY, grp int NOT NULL, pad nvarchar(4000) NOT NULL)');
  await run(s, 'CREATE INDEX IX_Wide_grp ON dbo.Wide (grp)');
  const pad = (i: number, tag: string): string => `${tag}${i}:`.padEnd(3990, tag);
  const n = 3000; // ~8 KB per row: ~24 MB of packed rows
  await e.admin.bulkInsert(
    'Claims',
    'dbo.Wide',
    ['id', 'grp', 'pad'],
    Array.from({ length: n }, (_, i) => [BigInt(i), BigInt(i % 7), pad(i, 'a')]),
  );
  const table = e.admin.database('Claims')?.schema('dbo')?.tables.get('wide');
  assert.ok(table);
  const slabs = (): number => table.codec.slabs.allocatedBytes;
  const loaded = slabs();
  assert.ok(loaded >= n * 8000, `${loaded}`);

  // Two rows of three leave: their bytes are dead, spread over every slab, so only a compaction frees them.
  await run(s, 'DELETE FROM dbo.Wide WHERE id % 3 <> 0');
  assert.ok(slabs() < loaded * 0.5, `after delete: ${slabs()} of ${loaded}`);
  // Rewriting the survivors frees their old bytes and packs the new ones.
  const updated = await run(s, "UPDATE dbo.Wide SET pad = REPLICATE(N'b', 10) + pad WHERE id % 2 = 0");
  assert.deepEqual(updated.errors, []);

  const expected = (i: number): string => (i % 2 === 0 ? 'b'.repeat(10) : '') + pad(i, 'a');
  const ids = Array.from({ length: n }, (_, i) => i).filter((i) => i % 3 === 0);
  const all = (await run(s, 'SELECT id, grp, pad FROM dbo.Wide ORDER BY id')).sets[0] ?? [];
  // Compared row by row so a failure names the rows instead of printing megabytes.
  assert.deepEqual(
    all.map((r) => r[0]),
    ids.map((i) => BigInt(i)),
  );
  const wrong = ids.filter((i, k) => {
    const r = all[k] ?? [];
    return r[1] !== BigInt(i % 7) || r[2] !== expected(i);
  });
  assert.deepEqual(wrong, []);
  // The nonclustered index and single-row seeks reach the same rows.
  const byGrp = await run(s, 'SELECT id FROM dbo.Wide WITH (INDEX(IX_Wide_grp)) WHERE grp = 3 ORDER BY id');
  assert.deepEqual(
    byGrp.sets[0],
    ids.filter((i) => i % 7 === 3).map((i) => [BigInt(i)]),
  );
  const one = await run(s, 'SELECT pad FROM dbo.Wide WHERE id = 2997');
  assert.deepEqual(one.sets[0], [[expected(2997)]]);
  assert.ok(slabs() < loaded * 0.6, `at the end: ${slabs()} of ${loaded}`);
});
