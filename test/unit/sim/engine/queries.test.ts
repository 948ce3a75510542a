import { test } from 'node:test';
import assert from 'node:assert/strict';
import { engineWithClaims, connect, run, scalar } from './helpers.js';
import type { SqlValue } from '../../../../sim/engine/api.js';
import { textOf } from '../../../../sim/engine/values.js';

const rows = (sets: SqlValue[][][], i = 0): string[][] =>
  (sets[i] ?? []).map((r) => r.map((v) => (v === null ? 'NULL' : textOf(v))));

async function setup() {
  const s = await connect(engineWithClaims());
  const r = await run(
    s,
    `CREATE TABLE dbo.Claims (claim_id int PRIMARY KEY, member varchar(10) NOT NULL, total decimal(10,2) NOT NULL);
     CREATE TABLE dbo.Lines (claim_id int NOT NULL, line_no int NOT NULL, amt decimal(10,2) NOT NULL, CONSTRAINT PK_Lines PRIMARY KEY (claim_id, line_no));
     INSERT INTO dbo.Claims VALUES (1, 'ann', 30.00), (2, 'bob', 5.50), (3, 'cy', 0);
     INSERT INTO dbo.Lines VALUES (1, 1, 10.00), (1, 2, 20.00), (2, 1, 5.50);`,
  );
  assert.deepEqual(r.errors, []);
  return s;
}

test('inner and left joins on keys', async () => {
  const s = await setup();
  const r = await run(
    s,
    'SELECT c.claim_id, l.line_no, l.amt FROM dbo.Claims c INNER JOIN dbo.Lines l ON l.claim_id = c.claim_id ORDER BY c.claim_id, l.line_no',
  );
  assert.deepEqual(rows(r.sets), [
    ['1', '1', '10.00'],
    ['1', '2', '20.00'],
    ['2', '1', '5.50'],
  ]);
  const l = await run(
    s,
    'SELECT c.claim_id, l.line_no FROM dbo.Claims AS c LEFT JOIN dbo.Lines AS l ON l.claim_id = c.claim_id WHERE c.claim_id >= 2 ORDER BY 1, 2',
  );
  assert.deepEqual(rows(l.sets), [
    ['2', '1'],
    ['3', 'NULL'],
  ]);
});

test('GROUP BY with COUNT/SUM/MIN/MAX and HAVING', async () => {
  const s = await setup();
  const r = await run(
    s,
    'SELECT claim_id, COUNT(*) AS n, SUM(amt) AS s, MIN(line_no), MAX(amt) FROM dbo.Lines GROUP BY claim_id HAVING SUM(amt) > 6 ORDER BY s DESC',
  );
  assert.deepEqual(rows(r.sets), [['1', '2', '30.00', '1', '20.00']]);
  assert.equal(await scalar(s, 'SELECT COUNT(*) FROM dbo.Lines WHERE amt > 100'), 0n);
  assert.equal(await scalar(s, 'SELECT SUM(amt) FROM dbo.Lines WHERE amt > 100'), null);
  const e = await run(s, 'SELECT claim_id, amt FROM dbo.Lines GROUP BY claim_id');
  assert.equal(e.errors[0]?.number, 8120);
});

test('subqueries: IN, EXISTS, scalar, correlated', async () => {
  const s = await setup();
  assert.deepEqual(
    rows(
      (
        await run(
          s,
          'SELECT claim_id FROM dbo.Claims WHERE claim_id IN (SELECT claim_id FROM dbo.Lines) ORDER BY claim_id',
        )
      ).sets,
    ),
    [['1'], ['2']],
  );
  assert.deepEqual(
    rows(
      (
        await run(
          s,
          'SELECT c.claim_id FROM dbo.Claims c WHERE NOT EXISTS (SELECT 1 FROM dbo.Lines l WHERE l.claim_id = c.claim_id)',
        )
      ).sets,
    ),
    [['3']],
  );
  assert.deepEqual(
    rows(
      (
        await run(
          s,
          'SELECT c.claim_id, (SELECT SUM(l.amt) FROM dbo.Lines l WHERE l.claim_id = c.claim_id) AS s FROM dbo.Claims c ORDER BY 1',
        )
      ).sets,
    ),
    [
      ['1', '30.00'],
      ['2', '5.50'],
      ['3', 'NULL'],
    ],
  );
});

test('TOP, OFFSET/FETCH, DISTINCT, CASE, COALESCE, CONCAT', async () => {
  const s = await setup();
  assert.deepEqual(rows((await run(s, 'SELECT TOP (2) claim_id FROM dbo.Claims ORDER BY claim_id DESC')).sets), [
    ['3'],
    ['2'],
  ]);
  assert.deepEqual(
    rows((await run(s, 'SELECT claim_id FROM dbo.Claims ORDER BY claim_id OFFSET 1 ROWS FETCH NEXT 1 ROWS ONLY')).sets),
    [['2']],
  );
  assert.deepEqual(rows((await run(s, 'SELECT DISTINCT claim_id FROM dbo.Lines ORDER BY claim_id')).sets), [
    ['1'],
    ['2'],
  ]);
  assert.equal(await scalar(s, "SELECT CONCAT('a', NULL, 1, N'b')"), 'a1b');
  assert.equal(await scalar(s, "SELECT COALESCE(NULL, NULL, 'x')"), 'x');
  assert.equal(await scalar(s, "SELECT CASE WHEN 1 = 2 THEN 'no' WHEN 2 = 2 THEN 'yes' END"), 'yes');
});

test('variables, DECLARE/SET/SELECT @v =, IF and WHILE', async () => {
  const s = await setup();
  const r = await run(
    s,
    'DECLARE @n int = 0, @t decimal(10,2); SELECT @t = SUM(amt) FROM dbo.Lines; WHILE @n < 3 SET @n += 1; IF @n = 3 SELECT @n AS n, @t AS t;',
  );
  assert.deepEqual(rows(r.sets), [['3', '35.50']]);
  assert.equal((await run(s, 'SELECT @undeclared')).errors[0]?.number, 137);
});

test('catalog views describe tables, columns, keys and identity', async () => {
  const s = await setup();
  await run(
    s,
    "CREATE TABLE dbo.Idn (id bigint IDENTITY(10,5) PRIMARY KEY, rv rowversion, name nvarchar(20) NULL); INSERT INTO dbo.Idn (name) VALUES (N'x')",
  );
  const cols = await run(
    s,
    "SELECT c.name, t.name AS type_name, c.max_length, c.is_nullable, c.is_identity FROM sys.columns c JOIN sys.types t ON t.user_type_id = c.user_type_id WHERE c.object_id = OBJECT_ID('dbo.Idn') ORDER BY c.column_id",
  );
  assert.deepEqual(rows(cols.sets), [
    ['id', 'bigint', '8', '0', '1'],
    ['rv', 'timestamp', '8', '0', '0'],
    ['name', 'nvarchar', '40', '1', '0'],
  ]);
  const pk = await run(
    s,
    "SELECT COLUMN_NAME, ORDINAL_POSITION FROM INFORMATION_SCHEMA.KEY_COLUMN_USAGE WHERE TABLE_NAME = 'Lines' ORDER BY ORDINAL_POSITION",
  );
  assert.deepEqual(rows(pk.sets), [
    ['claim_id', '1'],
    ['line_no', '2'],
  ]);
  const idc = await run(
    s,
    "SELECT seed_value, increment_value, last_value FROM sys.identity_columns WHERE object_id = OBJECT_ID('dbo.Idn')",
  );
  assert.deepEqual(rows(idc.sets), [['10', '5', '10']]);
  const ix = await run(
    s,
    "SELECT i.name, i.type_desc, ic.key_ordinal FROM sys.indexes i JOIN sys.index_columns ic ON ic.object_id = i.object_id AND ic.index_id = i.index_id WHERE i.object_id = OBJECT_ID('dbo.Lines') ORDER BY ic.key_ordinal",
  );
  assert.deepEqual(rows(ix.sets), [
    ['PK_Lines', 'CLUSTERED', '1'],
    ['PK_Lines', 'CLUSTERED', '2'],
  ]);
});

test('ALTER TABLE ADD, ALTER COLUMN, DROP COLUMN keep existing rows', async () => {
  const s = await setup();
  const r = await run(
    s,
    `ALTER TABLE dbo.Claims ADD status tinyint NOT NULL CONSTRAINT DF_status DEFAULT 1, note varchar(10) NULL;
     ALTER TABLE dbo.Claims ALTER COLUMN member varchar(40) NOT NULL;
     ALTER TABLE dbo.Claims DROP COLUMN note;
     SELECT claim_id, member, status FROM dbo.Claims ORDER BY claim_id;`,
  );
  assert.deepEqual(r.errors, []);
  assert.deepEqual(rows(r.sets), [
    ['1', 'ann', '1'],
    ['2', 'bob', '1'],
    ['3', 'cy', '1'],
  ]);
  const e = await run(s, 'ALTER TABLE dbo.Claims ADD must int NOT NULL');
  assert.equal(e.errors[0]?.number, 4901);
  assert.equal((await run(s, 'ALTER TABLE dbo.Claims DROP COLUMN status')).errors[0]?.number, 5074);
});

test('unsupported syntax fails loudly instead of answering wrongly', async () => {
  const s = await setup();
  assert.equal((await run(s, 'SELECT ROW_NUMBER() OVER (ORDER BY claim_id) FROM dbo.Claims')).errors[0]?.number, 40517);
  assert.equal((await run(s, 'WITH x AS (SELECT 1 AS a) SELECT a FROM x')).errors[0]?.number, 40517);
  assert.equal((await run(s, 'SELECT * FROM dbo.Claims FULL JOIN dbo.Lines ON 1 = 1')).errors[0]?.number, 40517);
});

test('table value constructors and INSERT … SELECT from them', async () => {
  const s = await setup();
  const r = await run(
    s,
    `INSERT INTO dbo.Lines (claim_id, line_no, amt) SELECT c.claim_id, v.n, v.n * 1.5 FROM dbo.Claims c CROSS JOIN (VALUES (7), (8)) AS v(n) WHERE c.claim_id = 3;
     SELECT line_no, amt FROM dbo.Lines WHERE claim_id = 3 ORDER BY line_no;`,
  );
  assert.deepEqual(r.errors, []);
  assert.deepEqual(rows(r.sets), [
    ['7', '10.50'],
    ['8', '12.00'],
  ]);
});

test('UPDATE … FROM and DELETE … FROM with joins', async () => {
  const s = await setup();
  const u = await run(
    s,
    "UPDATE l SET amt = l.amt + c.total FROM dbo.Lines AS l INNER JOIN dbo.Claims AS c ON c.claim_id = l.claim_id WHERE c.member = 'ann'",
  );
  assert.deepEqual(u.errors, []);
  assert.deepEqual(u.counts, [2n]);
  assert.deepEqual(
    rows((await run(s, 'SELECT claim_id, line_no, amt FROM dbo.Lines ORDER BY claim_id, line_no')).sets),
    [
      ['1', '1', '40.00'],
      ['1', '2', '50.00'],
      ['2', '1', '5.50'],
    ],
  );
  const d = await run(
    s,
    "DELETE l FROM dbo.Lines l JOIN dbo.Claims c ON c.claim_id = l.claim_id WHERE c.member = 'bob'",
  );
  assert.deepEqual(d.counts, [1n]);
  assert.equal(await scalar(s, 'SELECT COUNT(*) FROM dbo.Lines'), 2n);
});
