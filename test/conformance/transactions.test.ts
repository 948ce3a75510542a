/**
 * Conformance: transactions, isolation between sessions, rowversion and identity allocation, cancel and timeout.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import sql from 'mssql';
import { startSqlTarget, uniqueName, type SqlTarget } from '../support/sql-target.js';

let target: SqlTarget;
let a: sql.ConnectionPool;
let b: sql.ConnectionPool;
const table = uniqueName('conf_tx');

before(async () => {
  target = await startSqlTarget();
  a = await target.connect();
  b = await target.connect();
  await a
    .request()
    .batch(
      `CREATE TABLE dbo.${table} (id int IDENTITY(1,1) NOT NULL PRIMARY KEY, v int NOT NULL, rv rowversion NOT NULL)`,
    );
});

after(async () => {
  await a?.request().batch(`DROP TABLE IF EXISTS dbo.${table}`);
  await a?.close();
  await b?.close();
  await target?.stop();
});

async function count(pool: sql.ConnectionPool | sql.Transaction, where = '1 = 1'): Promise<number> {
  const r = await new sql.Request(pool as sql.ConnectionPool).query(
    `SELECT COUNT(*) AS n FROM dbo.${table} WHERE ${where}`,
  );
  return (r.recordset[0] as { n: number }).n;
}

test('mssql transactions commit and roll back', async () => {
  const tx = new sql.Transaction(a);
  await tx.begin();
  await new sql.Request(tx).query(`INSERT INTO dbo.${table} (v) VALUES (100)`);
  assert.equal(await count(tx, 'v = 100'), 1);
  await tx.rollback();
  assert.equal(await count(a, 'v = 100'), 0);
  const tx2 = new sql.Transaction(a);
  await tx2.begin();
  await new sql.Request(tx2).query(`INSERT INTO dbo.${table} (v) VALUES (101)`);
  await tx2.commit();
  assert.equal(await count(a, 'v = 101'), 1);
});

test('T-SQL BEGIN TRAN / COMMIT nest with @@TRANCOUNT', async () => {
  const r = await a
    .request()
    .batch(
      `BEGIN TRAN; BEGIN TRAN; SELECT @@TRANCOUNT AS n; COMMIT; SELECT @@TRANCOUNT AS n; COMMIT; SELECT @@TRANCOUNT AS n;`,
    );
  const sets = r.recordsets as unknown as { n: number }[][];
  assert.deepEqual(
    sets.map((s) => s[0]?.n),
    [2, 1, 0],
  );
  const err = await a
    .request()
    .batch('COMMIT')
    .then(
      () => undefined,
      (e: { number?: number }) => e,
    );
  assert.equal(err?.number, 3902);
});

test('an identity value taken by a rolled-back insert is never reused', async () => {
  const t = uniqueName('conf_ident');
  await a.request().batch(`CREATE TABLE dbo.${t} (id int IDENTITY(1,1) PRIMARY KEY, v int)`);
  try {
    await a.request().batch(`BEGIN TRAN; INSERT INTO dbo.${t} (v) VALUES (1); ROLLBACK;`);
    await a.request().batch(`INSERT INTO dbo.${t} (v) VALUES (2)`);
    const r = await a.request().query(`SELECT id, v FROM dbo.${t}`);
    assert.deepEqual(r.recordset, [{ id: 2, v: 2 }]);
  } finally {
    await a.request().batch(`DROP TABLE dbo.${t}`);
  }
});

test('an uncommitted insert is invisible to another session under READ COMMITTED, visible with NOLOCK, skipped by READPAST', async () => {
  const tx = new sql.Transaction(a);
  await tx.begin();
  try {
    await new sql.Request(tx).query(`INSERT INTO dbo.${table} (v) VALUES (200)`);
    // A locking server blocks (here: 1222 after the lock timeout); a versioning one returns the committed state.
    const rc = await b
      .request()
      .batch(`SET LOCK_TIMEOUT 1000; SELECT COUNT(*) AS n FROM dbo.${table} WHERE v = 200;`)
      .then(
        (r) => ({ n: (r.recordset[0] as { n: number }).n }),
        (e: { number?: number }) => ({ error: e.number }),
      );
    assert.ok('error' in rc ? rc.error === 1222 : rc.n === 0, JSON.stringify(rc));
    const dirty = await b.request().query(`SELECT COUNT(*) AS n FROM dbo.${table} WITH (NOLOCK) WHERE v = 200`);
    assert.equal((dirty.recordset[0] as { n: number }).n, 1);
    const past = await b.request().query(`SELECT COUNT(*) AS n FROM dbo.${table} WITH (READPAST) WHERE v = 200`);
    assert.equal((past.recordset[0] as { n: number }).n, 0);
  } finally {
    await b.request().batch('SET LOCK_TIMEOUT -1');
    await tx.rollback();
  }
});

test('a writer waits for another writer of the same row until it commits', async () => {
  await a.request().batch(`INSERT INTO dbo.${table} (v) VALUES (300)`);
  const tx = new sql.Transaction(a);
  await tx.begin();
  await new sql.Request(tx).query(`UPDATE dbo.${table} SET v = 301 WHERE v = 300`);
  let done = false;
  const blocked = b
    .request()
    .query(`UPDATE dbo.${table} SET v = v + 1000 WHERE v IN (300, 301)`)
    .then((r) => {
      done = true;
      return r.rowsAffected[0];
    });
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(done, false, 'the second writer is blocked');
  await tx.commit();
  assert.equal(await blocked, 1);
  assert.equal(await count(a, 'v = 1301'), 1);
});

test('a lock wait beyond LOCK_TIMEOUT is error 1222', async () => {
  await a.request().batch(`INSERT INTO dbo.${table} (v) VALUES (400)`);
  const tx = new sql.Transaction(a);
  await tx.begin();
  try {
    await new sql.Request(tx).query(`UPDATE dbo.${table} SET v = 401 WHERE v = 400`);
    const err = await b
      .request()
      .batch(`SET LOCK_TIMEOUT 200; UPDATE dbo.${table} SET v = 402 WHERE v IN (400, 401);`)
      .then(
        () => undefined,
        (e: { number?: number; class?: number }) => e,
      );
    assert.equal(err?.number, 1222);
    assert.equal(err?.class, 16);
  } finally {
    await b.request().batch('SET LOCK_TIMEOUT -1');
    await tx.rollback();
  }
});

test('SNAPSHOT fails with 3952 when not allowed, and sees a stable view when allowed', async () => {
  await a.request().batch('ALTER DATABASE CURRENT SET ALLOW_SNAPSHOT_ISOLATION OFF');
  const tx = new sql.Transaction(b);
  await tx.begin(sql.ISOLATION_LEVEL.SNAPSHOT);
  const err = await new sql.Request(tx).query(`SELECT COUNT(*) AS n FROM dbo.${table}`).then(
    () => undefined,
    (e: { number?: number; class?: number }) => e,
  );
  assert.equal(err?.number, 3952);
  assert.equal(err?.class, 16);
  await tx.rollback().catch(() => undefined);

  await a.request().batch('ALTER DATABASE CURRENT SET ALLOW_SNAPSHOT_ISOLATION ON');
  const snap = new sql.Transaction(b);
  await snap.begin(sql.ISOLATION_LEVEL.SNAPSHOT);
  const before = await count(snap);
  await a.request().batch(`INSERT INTO dbo.${table} (v) VALUES (500)`);
  assert.equal(await count(snap), before, 'a snapshot does not see later commits');
  await snap.commit();
  assert.equal(await count(b), before + 1);
});

test('@@DBTS and MIN_ACTIVE_ROWVERSION with an open transaction', async () => {
  const tx = new sql.Transaction(a);
  await tx.begin();
  try {
    await new sql.Request(tx).query(`INSERT INTO dbo.${table} (v) VALUES (600)`);
    const mine = (await new sql.Request(tx).query(`SELECT rv FROM dbo.${table} WHERE v = 600`)).recordset[0] as {
      rv: Buffer;
    };
    await b.request().query(`INSERT INTO dbo.${table} (v) VALUES (601)`);
    const other = (await b.request().query(`SELECT rv FROM dbo.${table} WHERE v = 601`)).recordset[0] as { rv: Buffer };
    assert.ok(Buffer.compare(other.rv, mine.rv) > 0);
    const r = await b.request().query('SELECT @@DBTS AS dbts, MIN_ACTIVE_ROWVERSION() AS mar');
    const { dbts, mar } = r.recordset[0] as { dbts: Buffer; mar: Buffer };
    assert.equal(mar.length, 8);
    assert.ok(Buffer.compare(dbts, other.rv) >= 0, '@@DBTS covers uncommitted and committed writes');
    assert.ok(Buffer.compare(mar, mine.rv) <= 0, 'MIN_ACTIVE_ROWVERSION stops at the open transaction');
  } finally {
    await tx.commit();
  }
  const r = await b.request().query('SELECT @@DBTS AS dbts, MIN_ACTIVE_ROWVERSION() AS mar');
  const { dbts, mar } = r.recordset[0] as { dbts: Buffer; mar: Buffer };
  assert.equal(mar.readBigUInt64BE() - dbts.readBigUInt64BE(), 1n, 'no open transaction: @@DBTS + 1');
});

test('cancel and timeout leave the connection usable and the transaction state intact', async () => {
  const req = a.request();
  const p = req.query("WAITFOR DELAY '00:00:10'; SELECT 1 AS x");
  setTimeout(() => req.cancel(), 200);
  const err = await p.then(
    () => undefined,
    (e: { code?: string }) => e,
  );
  assert.equal(err?.code, 'ECANCEL');
  assert.equal(((await a.request().query('SELECT 7 AS x')).recordset[0] as { x: number }).x, 7);

  const short = await target.connect({ requestTimeout: 300 });
  try {
    const t = await short
      .request()
      .query("WAITFOR DELAY '00:00:10'")
      .then(
        () => undefined,
        (e: { code?: string }) => e,
      );
    assert.equal(t?.code, 'ETIMEOUT');
    assert.equal(((await short.request().query('SELECT 8 AS x')).recordset[0] as { x: number }).x, 8);
  } finally {
    await short.close();
  }
});
