/**
 * Conformance: Change Tracking (brief §B checklist). Runs against the simulator or a real SQL Server 2019
 * (TIDEMARK_CONFORMANCE_MSSQL, a sysadmin login). Each run uses its own database.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import sql from 'mssql';
import { startSqlTarget, uniqueName, type SqlTarget } from '../support/sql-target.js';

let target: SqlTarget;
let admin: sql.ConnectionPool;
let pool: sql.ConnectionPool;
let other: sql.ConnectionPool;
const database = uniqueName('conf_ct');

before(async () => {
  target = await startSqlTarget();
  admin = await target.connect({ database: 'master' });
  await admin.request().batch(`CREATE DATABASE [${database}]`);
  pool = await target.connect({ database });
  other = await target.connect({ database });
});

after(async () => {
  await pool?.close();
  await other?.close();
  if (admin) {
    await admin
      .request()
      .batch(`DROP DATABASE IF EXISTS [${database}]`)
      .catch(() => undefined);
    await admin.close();
  }
  await target?.stop();
});

async function errorOf(p: Promise<unknown>): Promise<{ number: number; message: string }> {
  try {
    await p;
  } catch (e) {
    const err = e as { number?: number; message: string; originalError?: { info?: { number: number } } };
    return { number: err.number ?? err.originalError?.info?.number ?? -1, message: err.message };
  }
  assert.fail('expected an error');
}

const one = async <T>(q: string, p: sql.ConnectionPool = pool): Promise<T> =>
  (await p.request().query(q)).recordset[0] as T;

let enabled = false;
async function enableDb(): Promise<void> {
  if (enabled) return;
  await pool
    .request()
    .batch(
      `ALTER DATABASE [${database}] SET CHANGE_TRACKING = ON (CHANGE_RETENTION = 2 DAYS, AUTO_CLEANUP = ON); ALTER DATABASE [${database}] SET ALLOW_SNAPSHOT_ISOLATION ON`,
    );
  enabled = true;
}

async function tracked(columnsUpdated = false): Promise<string> {
  await enableDb();
  const t = uniqueName('ct');
  await pool.request().batch(`CREATE TABLE dbo.${t} (id int NOT NULL PRIMARY KEY, a nvarchar(20) NULL, b int NULL)`);
  await pool
    .request()
    .batch(
      `ALTER TABLE dbo.${t} ENABLE CHANGE_TRACKING WITH (TRACK_COLUMNS_UPDATED = ${columnsUpdated ? 'ON' : 'OFF'})`,
    );
  return t;
}

type Change = {
  SYS_CHANGE_VERSION: string;
  SYS_CHANGE_OPERATION: string;
  SYS_CHANGE_COLUMNS: Buffer | null;
  SYS_CHANGE_CREATION_VERSION: string | null;
  id: number;
};

async function changes(t: string, since: number | string | null, p: sql.ConnectionPool | sql.Transaction = pool) {
  const r = await new sql.Request(p as sql.ConnectionPool)
    .input('v', sql.BigInt, since)
    .query(`SELECT c.* FROM CHANGETABLE(CHANGES dbo.${t}, @v) AS c ORDER BY c.id`);
  return r.recordset as Change[];
}

const current = async (): Promise<number> =>
  Number((await one<{ v: string | null }>('SELECT CHANGE_TRACKING_CURRENT_VERSION() AS v')).v);

test('CURRENT_VERSION is NULL before the database is enabled, then rises by one per committed transaction', async () => {
  if (!enabled) {
    const before = await one<{ v: string | null }>('SELECT CHANGE_TRACKING_CURRENT_VERSION() AS v');
    assert.equal(before.v, null);
  }
  const t = await tracked();
  const v0 = await current();
  await pool.request().batch(`INSERT INTO dbo.${t} VALUES (1, N'x', 1), (2, N'y', 2)`);
  await pool
    .request()
    .batch(`BEGIN TRAN; UPDATE dbo.${t} SET b = 3 WHERE id = 1; DELETE FROM dbo.${t} WHERE id = 2; COMMIT`);
  assert.equal(await current(), v0 + 2);
});

test('a table without a PK → 4997; CHANGETABLE on an untracked table → 22105; without an alias → 22104', async () => {
  await enableDb();
  const heap = uniqueName('ct_heap');
  await pool.request().batch(`CREATE TABLE dbo.${heap} (id int NOT NULL, v int NULL)`);
  assert.equal((await errorOf(pool.request().batch(`ALTER TABLE dbo.${heap} ENABLE CHANGE_TRACKING`))).number, 4997);
  const plain = uniqueName('ct_plain');
  await pool.request().batch(`CREATE TABLE dbo.${plain} (id int NOT NULL PRIMARY KEY)`);
  assert.equal(
    (await errorOf(pool.request().query(`SELECT * FROM CHANGETABLE(CHANGES dbo.${plain}, 0) AS c`))).number,
    22105,
  );
  const t = await tracked();
  assert.equal((await errorOf(pool.request().query(`SELECT * FROM CHANGETABLE(CHANGES dbo.${t}, 0)`))).number, 22104);
  assert.equal((await errorOf(pool.request().batch(`ALTER TABLE dbo.${t} ENABLE CHANGE_TRACKING`))).number, 4996);
  assert.equal((await errorOf(pool.request().batch(`ALTER TABLE dbo.${plain} DISABLE CHANGE_TRACKING`))).number, 4998);
});

test('net changes relative to the baseline: insert then update is I before the insert and U after it', async () => {
  const t = await tracked();
  const base = await current();
  await pool.request().batch(`INSERT INTO dbo.${t} VALUES (1, N'x', 1)`);
  const v1 = await current();
  await pool.request().batch(`UPDATE dbo.${t} SET a = N'z' WHERE id = 1`);
  const v2 = await current();
  const fromBase = await changes(t, base);
  assert.equal(fromBase.length, 1);
  assert.equal(fromBase[0]?.SYS_CHANGE_OPERATION, 'I');
  assert.equal(Number(fromBase[0]?.SYS_CHANGE_VERSION), v2);
  assert.equal(Number(fromBase[0]?.SYS_CHANGE_CREATION_VERSION), v1);
  const fromV1 = await changes(t, v1);
  assert.equal(fromV1[0]?.SYS_CHANGE_OPERATION, 'U');
  assert.equal((await changes(t, v2)).length, 0);
});

test('a PK update is D(old) + I(new); delete and re-insert of one key is U', async () => {
  const t = await tracked();
  await pool.request().batch(`INSERT INTO dbo.${t} VALUES (1, N'x', 1), (2, N'y', 2)`);
  const base = await current();
  await pool.request().batch(`UPDATE dbo.${t} SET id = 10 WHERE id = 1`);
  await pool.request().batch(`DELETE FROM dbo.${t} WHERE id = 2`);
  await pool.request().batch(`INSERT INTO dbo.${t} VALUES (2, N'again', 2)`);
  const c = await changes(t, base);
  assert.deepEqual(
    c.map((r) => [r.id, r.SYS_CHANGE_OPERATION]),
    [
      [1, 'D'],
      [2, 'U'],
      [10, 'I'],
    ],
  );
});

test('SYS_CHANGE_COLUMNS is NULL for I/D and with TRACK_COLUMNS_UPDATED = OFF; decodes with IS_COLUMN_IN_MASK', async () => {
  const off = await tracked(false);
  const on = await tracked(true);
  for (const t of [off, on]) await pool.request().batch(`INSERT INTO dbo.${t} VALUES (1, N'x', 1), (2, N'y', 2)`);
  const base = await current();
  for (const t of [off, on]) {
    await pool.request().batch(`UPDATE dbo.${t} SET b = 5 WHERE id = 1`);
    await pool.request().batch(`DELETE FROM dbo.${t} WHERE id = 2`);
    await pool.request().batch(`INSERT INTO dbo.${t} VALUES (3, N'n', 3)`);
  }
  for (const r of await changes(off, base)) assert.equal(r.SYS_CHANGE_COLUMNS, null);
  const onRows = await changes(on, base);
  assert.equal(onRows.find((r) => r.id === 2)?.SYS_CHANGE_COLUMNS, null);
  assert.equal(onRows.find((r) => r.id === 3)?.SYS_CHANGE_COLUMNS, null);
  const r = await pool
    .request()
    .input('v', sql.BigInt, base)
    .query(
      `SELECT CHANGE_TRACKING_IS_COLUMN_IN_MASK(COLUMNPROPERTY(OBJECT_ID('dbo.${on}'), 'b', 'ColumnId'), c.SYS_CHANGE_COLUMNS) AS b_changed,
              CHANGE_TRACKING_IS_COLUMN_IN_MASK(COLUMNPROPERTY(OBJECT_ID('dbo.${on}'), 'a', 'ColumnId'), c.SYS_CHANGE_COLUMNS) AS a_changed
       FROM CHANGETABLE(CHANGES dbo.${on}, @v) AS c WHERE c.id = 1`,
    );
  assert.deepEqual(r.recordset[0], { b_changed: true, a_changed: false });
});

test('cleanup after the retention and TRUNCATE raise MIN_VALID_VERSION above a stale baseline', async (t) => {
  const name = await tracked();
  const stale = await current();
  await pool.request().batch(`INSERT INTO dbo.${name} VALUES (1, N'x', 1)`);
  const min = async () =>
    Number((await one<{ v: string }>(`SELECT CHANGE_TRACKING_MIN_VALID_VERSION(OBJECT_ID('dbo.${name}')) AS v`)).v);
  if (target.kind === 'simulator') {
    await pool.request().batch(`EXEC sim.run_change_tracking_cleanup @retention_minutes = 0`);
    assert.ok((await min()) > stale);
  } else t.diagnostic('retention cleanup needs CHANGE_RETENTION to elapse on a real server: checked via TRUNCATE only');
  const beforeTruncate = await min();
  await pool.request().batch(`INSERT INTO dbo.${name} VALUES (2, N'y', 2)`);
  await pool.request().batch(`TRUNCATE TABLE dbo.${name}`);
  assert.ok((await min()) > beforeTruncate || (await min()) > stale);
});

test('SNAPSHOT without ALLOW_SNAPSHOT_ISOLATION → 3952; inside a snapshot later commits are invisible to CHANGETABLE', async () => {
  const t = await tracked();
  const base = await current();
  await pool.request().batch(`INSERT INTO dbo.${t} VALUES (1, N'x', 1)`);
  const tx = new sql.Transaction(pool);
  await tx.begin(sql.ISOLATION_LEVEL.SNAPSHOT);
  const cur = await new sql.Request(tx).query('SELECT CHANGE_TRACKING_CURRENT_VERSION() AS v');
  const next = Number((cur.recordset[0] as { v: string }).v);
  await other.request().batch(`INSERT INTO dbo.${t} VALUES (2, N'late', 2)`);
  const inside = await changes(t, base, tx);
  await tx.commit();
  assert.deepEqual(
    inside.map((r) => r.id),
    [1],
  );
  assert.ok(inside.every((r) => Number(r.SYS_CHANGE_VERSION) <= next));
  assert.equal((await changes(t, base)).length, 2);
  // A database without ALLOW_SNAPSHOT_ISOLATION.
  const db2 = uniqueName('conf_ct_nosnap');
  await admin.request().batch(`CREATE DATABASE [${db2}]`);
  const p2 = await target.connect({ database: db2 });
  try {
    await p2.request().batch(`CREATE TABLE dbo.x (id int NOT NULL PRIMARY KEY)`);
    const e = await errorOf(
      p2.request().batch(`SET TRANSACTION ISOLATION LEVEL SNAPSHOT; BEGIN TRAN; SELECT * FROM dbo.x; COMMIT`),
    );
    assert.equal(e.number, 3952);
  } finally {
    await p2.close();
    await admin.request().batch(`DROP DATABASE IF EXISTS [${db2}]`);
  }
});

test('CHANGETABLE(VERSION …) gives the last change version of one row, NULL for an unchanged row', async () => {
  const t = await tracked();
  await pool.request().batch(`ALTER TABLE dbo.${t} DISABLE CHANGE_TRACKING`);
  await pool.request().batch(`INSERT INTO dbo.${t} VALUES (1, N'x', 1), (2, N'y', 2)`);
  await pool.request().batch(`ALTER TABLE dbo.${t} ENABLE CHANGE_TRACKING`);
  await pool.request().batch(`UPDATE dbo.${t} SET b = 9 WHERE id = 2`);
  const v = await current();
  const r1 = await one<{ SYS_CHANGE_VERSION: string | null }>(
    `SELECT c.SYS_CHANGE_VERSION FROM CHANGETABLE(VERSION dbo.${t}, (id), (1)) AS c`,
  );
  assert.equal(r1.SYS_CHANGE_VERSION, null);
  const r2 = await one<{ SYS_CHANGE_VERSION: string }>(
    `SELECT c.SYS_CHANGE_VERSION FROM CHANGETABLE(VERSION dbo.${t}, (id), (2)) AS c`,
  );
  assert.equal(Number(r2.SYS_CHANGE_VERSION), v);
  const catalog = await one<{ n: number }>(
    `SELECT COUNT(*) AS n FROM sys.change_tracking_tables WHERE object_id = OBJECT_ID('dbo.${t}')`,
  );
  assert.equal(catalog.n, 1);
});
