/**
 * The engine's parsed-statement cache (sim/engine/statement-cache.ts): a text sent again is not parsed again, a
 * parameterised statement run with other values returns its own rows, and no cached parse survives a schema
 * change — after ALTER TABLE or DROP/CREATE, the same text sees the new columns.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RpcParam, Session, SqlValue } from '../../../../sim/engine/api.js';
import type { SimEngine } from '../../../../sim/engine/index.js';
import type { ParsedStatementCache } from '../../../../sim/engine/statement-cache.js';
import { collect, connect, engineWithClaims, run } from './helpers.js';

/** The engine's cache (not part of the SimEngine API: read here to count hits). */
const cacheOf = (e: SimEngine) => (e as unknown as { statementCache: ParsedStatementCache }).statementCache;

const TEXT = 'SELECT * FROM dbo.T WHERE id >= @lo ORDER BY id';

/** `TEXT` by sp_executesql with @lo = lo, as mssql sends `request.input('lo', sql.Int, lo)`. */
async function select(s: Session, lo: number): Promise<{ columns: string[]; rows: SqlValue[][] }> {
  const params: RpcParam[] = [
    { name: '@statement', type: { name: 'nvarchar', length: -1 }, value: TEXT, output: false },
    { name: '@params', type: { name: 'nvarchar', length: -1 }, value: '@lo int', output: false },
    { name: '@lo', type: { name: 'int' }, value: BigInt(lo), output: false },
  ];
  const r = await collect(s.executeRpc('sp_executesql', params, new AbortController().signal));
  assert.deepEqual(r.errors, []);
  const set = r.events.find((ev) => ev.kind === 'resultSet');
  assert.ok(set && set.kind === 'resultSet');
  return { columns: set.columns.map((c) => c.name), rows: r.sets[0] ?? [] };
}

test('the same parameterised text with other values is parsed once and returns its own rows', async () => {
  const e = engineWithClaims();
  const s = await connect(e);
  await run(s, 'CREATE TABLE dbo.T (id int NOT NULL PRIMARY KEY, v varchar(10) NOT NULL)');
  await run(s, "INSERT INTO dbo.T (id, v) VALUES (1, 'a'), (2, 'b'), (3, 'c')");
  const cache = cacheOf(e);
  const misses = cache.misses;
  assert.deepEqual((await select(s, 2)).rows, [
    [2n, 'b'],
    [3n, 'c'],
  ]);
  const hits = cache.hits;
  assert.deepEqual((await select(s, 3)).rows, [[3n, 'c']]);
  assert.deepEqual((await select(s, 1)).rows.length, 3);
  const other = await connect(e); // another session shares the parse
  assert.deepEqual((await select(other, 2)).rows.length, 2);
  assert.equal(cache.misses, misses + 1, 'parsed once');
  assert.equal(cache.hits, hits + 3, 'then taken from the cache');
});

test('a schema change empties the cache: the same text binds to the new columns', async () => {
  const e = engineWithClaims();
  const s = await connect(e);
  await run(s, 'CREATE TABLE dbo.T (id int NOT NULL PRIMARY KEY, v varchar(10) NOT NULL)');
  await run(s, "INSERT INTO dbo.T (id, v) VALUES (1, 'a')");
  assert.deepEqual((await select(s, 1)).columns, ['id', 'v']);
  assert.ok(cacheOf(e).size > 0);

  await run(s, 'ALTER TABLE dbo.T ADD w int NULL');
  assert.equal(cacheOf(e).size, 0, 'ALTER TABLE emptied the cache');
  assert.deepEqual(await select(s, 1), { columns: ['id', 'v', 'w'], rows: [[1n, 'a', null]] });

  // Dropped and created again with another shape, inside one batch and from another session.
  const other = await connect(e);
  const r = await run(
    other,
    "DROP TABLE dbo.T; CREATE TABLE dbo.T (id int NOT NULL PRIMARY KEY, z nvarchar(5) NULL); INSERT INTO dbo.T VALUES (7, N'x')",
  );
  assert.deepEqual(r.errors, []);
  assert.deepEqual(await select(s, 1), { columns: ['id', 'z'], rows: [[7n, 'x']] });

  // A batch text is cached too: the same batch after DROP fails as a missing table, not with the old plan.
  assert.deepEqual((await run(s, 'SELECT COUNT(*) FROM dbo.T')).sets, [[[1n]]]);
  await run(s, 'DROP TABLE dbo.T');
  assert.equal((await run(s, 'SELECT COUNT(*) FROM dbo.T')).errors[0]?.number, 208);
});

test('a text that fails to parse is not cached, and long texts are parsed without caching', async () => {
  const e = engineWithClaims();
  const s = await connect(e);
  const before = cacheOf(e).size;
  assert.equal((await run(s, 'SELEC 1')).errors[0]?.number, 102);
  assert.equal(cacheOf(e).size, before);
  const long = `SELECT 1 AS x${' '.repeat(20_000)}`;
  assert.deepEqual((await run(s, long)).sets, [[[1n]]]);
  assert.equal(cacheOf(e).size, before);
});

test('an INSERT of literal rows is not kept (its text is unique); a parameterised one, or one row, still is', async () => {
  const e = engineWithClaims();
  const s = await connect(e);
  await run(s, 'CREATE TABLE dbo.T (id int NOT NULL PRIMARY KEY, v varchar(10) NULL, n int NULL)');
  const cache = cacheOf(e);
  const before = cache.size;
  // bench:load's shape: every INSERT carries its own values, so no text is ever sent twice.
  for (let i = 0; i < 50; i++) {
    const r = await run(
      s,
      `INSERT INTO dbo.T (id, v, n) VALUES (${2 * i}, 'a${i}', -${i}), (${2 * i + 1}, CASE WHEN ${i} > 1 THEN 'b' END, ${i} + 1)`,
    );
    assert.deepEqual(r.errors, []);
  }
  assert.equal(cache.size, before, 'no literal multi-row INSERT kept');
  assert.deepEqual((await run(s, 'SELECT COUNT(*), SUM(n) FROM dbo.T')).sets, [[[100n, 50n]]]);

  // Texts that are sent again stay cached: a parameterised multi-row INSERT (a variable anywhere in its rows,
  // even inside a CASE) and a one-row INSERT.
  const again = [
    'DECLARE @x int = 7; INSERT INTO dbo.T (id, v, n) VALUES (1000 + @x, NULL, 1), (2000, NULL, CASE WHEN 1 = 1 THEN @x END)',
    "INSERT INTO dbo.T (id, v, n) VALUES (3000, 'c', 3)",
  ];
  const size = cache.size;
  for (const text of again) assert.deepEqual((await run(s, text)).errors, []);
  assert.equal(cache.size, size + 2);
  await run(s, 'DELETE FROM dbo.T WHERE id >= 1000');
  const misses = cache.misses;
  for (const text of again) assert.deepEqual((await run(s, text)).errors, []);
  assert.equal(cache.misses, misses, 'both taken from the cache');
});
