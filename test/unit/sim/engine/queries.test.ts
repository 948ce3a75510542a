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
  assert.equal((await run(s, 'SELECT SUM(total) OVER (ORDER BY claim_id) FROM dbo.Claims')).errors[0]?.number, 40517);
  assert.equal((await run(s, 'WITH x AS (SELECT 1 AS a) DELETE FROM dbo.Lines')).errors[0]?.number, 40517);
  assert.equal(
    (await run(s, 'WITH r AS (SELECT 1 AS n UNION ALL SELECT n + 1 FROM r) SELECT n FROM r')).errors[0]?.number,
    40517,
  );
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

test('#temp tables are private to the session and dropped when it closes; anyone may create them', async () => {
  const e = engineWithClaims();
  e.admin.createLogin({
    name: 'reader',
    password: 'pw',
    defaultDatabase: 'Claims',
    databases: [{ name: 'Claims', roles: ['db_datareader'] }],
  });
  const a = await connect(e);
  const b = await connect(e);
  const r = await run(
    a,
    'CREATE TABLE #k (id int PRIMARY KEY); INSERT INTO #k VALUES (1), (2); SELECT #k.id FROM #k ORDER BY id;',
  );
  assert.deepEqual(r.errors, []);
  assert.deepEqual(rows(r.sets), [['1'], ['2']]);
  assert.equal((await run(b, 'SELECT * FROM #k')).errors[0]?.number, 208);
  await run(b, "CREATE TABLE #k (x varchar(3)); INSERT INTO #k VALUES ('b')");
  assert.equal(await scalar(a, 'SELECT COUNT(*) FROM #k'), 2n);
  a.close();
  const a2 = await connect(e);
  assert.equal((await run(a2, 'SELECT * FROM #k')).errors[0]?.number, 208);
  const login = await e.login({
    userName: 'reader',
    password: 'pw',
    database: 'Claims',
    appName: '',
    hostName: '',
    readOnlyIntent: false,
    clientProcessId: 0,
  });
  if (login.kind !== 'session') throw new Error('login');
  const rr = await run(
    login.session,
    'CREATE TABLE #mine (id int); INSERT INTO #mine VALUES (5); SELECT id FROM #mine; DROP TABLE #mine;',
  );
  assert.deepEqual(rr.errors, []);
  assert.deepEqual(rows(rr.sets), [['5']]);
});

test('SELECT … INTO creates the table; rowversion values are copied, so they can repeat', async () => {
  const s = await setup();
  await run(s, 'CREATE TABLE dbo.R (id int PRIMARY KEY, rv rowversion); INSERT INTO dbo.R (id) VALUES (1), (2);');
  const r = await run(
    s,
    'SELECT id, rv INTO #copy FROM dbo.R; SELECT COUNT(*) FROM #copy c JOIN dbo.R r ON r.rv = c.rv;',
  );
  assert.deepEqual(r.errors, []);
  assert.deepEqual(r.counts.slice(0, 1), [2n]);
  assert.deepEqual(rows(r.sets), [['2']]);
  const c = await run(
    s,
    'SELECT claim_id, SUM(amt) AS total INTO dbo.Totals FROM dbo.Lines GROUP BY claim_id; SELECT claim_id, total FROM dbo.Totals ORDER BY claim_id',
  );
  assert.deepEqual(rows(c.sets), [
    ['1', '30.00'],
    ['2', '5.50'],
  ]);
  assert.equal((await run(s, 'SELECT 1 INTO #noname')).errors[0]?.number, 1038);
});

test('common table expressions (non-recursive), with column lists, in SELECT and INSERT … SELECT', async () => {
  const s = await setup();
  const r = await run(
    s,
    `WITH totals (claim_id, s) AS (SELECT claim_id, SUM(amt) FROM dbo.Lines GROUP BY claim_id),
          big AS (SELECT claim_id FROM totals WHERE s > 10)
     SELECT c.member, t.s FROM dbo.Claims c JOIN totals t ON t.claim_id = c.claim_id WHERE c.claim_id IN (SELECT claim_id FROM big)`,
  );
  assert.deepEqual(r.errors, []);
  assert.deepEqual(rows(r.sets), [['ann', '30.00']]);
  const i = await run(
    s,
    "WITH x AS (SELECT 9 AS claim_id) INSERT INTO dbo.Claims (claim_id, member, total) SELECT claim_id, 'zed', 0 FROM x; SELECT member FROM dbo.Claims WHERE claim_id = 9",
  );
  assert.deepEqual(rows(i.sets), [['zed']]);
});

test('ranking functions: ROW_NUMBER, RANK, DENSE_RANK, NTILE with PARTITION BY', async () => {
  const s = await setup();
  await run(s, 'INSERT INTO dbo.Lines VALUES (2, 2, 5.50), (2, 3, 1.00), (3, 1, 7.00)');
  const r = await run(
    s,
    `SELECT claim_id, line_no,
            ROW_NUMBER() OVER (PARTITION BY claim_id ORDER BY amt DESC, line_no) AS rn,
            RANK() OVER (ORDER BY amt DESC) AS rk,
            DENSE_RANK() OVER (ORDER BY amt DESC) AS drk,
            NTILE(4) OVER (ORDER BY claim_id, line_no) AS tile
     FROM dbo.Lines ORDER BY claim_id, line_no`,
  );
  assert.deepEqual(r.errors, []);
  assert.deepEqual(rows(r.sets), [
    ['1', '1', '2', '2', '2', '1'],
    ['1', '2', '1', '1', '1', '1'],
    ['2', '1', '1', '4', '4', '2'],
    ['2', '2', '2', '4', '4', '2'],
    ['2', '3', '3', '6', '5', '3'],
    ['3', '1', '1', '3', '3', '4'],
  ]);
  const latest = await run(
    s,
    'SELECT claim_id, line_no FROM (SELECT claim_id, line_no, ROW_NUMBER() OVER (PARTITION BY claim_id ORDER BY line_no DESC) AS rn FROM dbo.Lines) x WHERE rn = 1 ORDER BY claim_id',
  );
  assert.deepEqual(rows(latest.sets), [
    ['1', '2'],
    ['2', '3'],
    ['3', '1'],
  ]);
  assert.equal(
    (await run(s, 'SELECT claim_id FROM dbo.Lines WHERE ROW_NUMBER() OVER (ORDER BY claim_id) = 1')).errors[0]?.number,
    4108,
  );
});

test('OUTPUT inserted / deleted returns the affected rows as a result set', async () => {
  const s = await setup();
  await run(s, 'CREATE TABLE dbo.O (id int IDENTITY(100, 1) PRIMARY KEY, v varchar(5) NOT NULL, rv rowversion)');
  const i = await run(s, "INSERT INTO dbo.O (v) OUTPUT inserted.id, inserted.v VALUES ('a'), ('b')");
  assert.deepEqual(i.errors, []);
  assert.deepEqual(rows(i.sets), [
    ['100', 'a'],
    ['101', 'b'],
  ]);
  assert.deepEqual(i.counts, [2n]);
  const u = await run(s, "UPDATE dbo.O SET v = 'z' OUTPUT deleted.v AS old_v, inserted.v AS new_v WHERE id = 101");
  assert.deepEqual(rows(u.sets), [['b', 'z']]);
  const d = await run(s, 'DELETE FROM dbo.O OUTPUT deleted.id WHERE id = 100');
  assert.deepEqual(rows(d.sets), [['100']]);
  assert.equal((await run(s, 'DELETE FROM dbo.O OUTPUT deleted.id INTO #x WHERE id = 1')).errors[0]?.number, 40517);
});
