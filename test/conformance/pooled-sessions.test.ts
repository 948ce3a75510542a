/**
 * Conformance: what a connection pool relies on, as SQL Server 2019 does it.
 *
 * - The reset-connection flag (MS-TDS 2.2.3.1.2, status 0x08 on the first packet of a request) resets the
 *   session "back to the default environment setting, effectively simulating a logout and a subsequent login":
 *   an open transaction is rolled back, SET options and the database go back to the login's, #temp tables are
 *   dropped. The same section says "Distributed transactions and isolation levels are not reset" (SQL Server
 *   2014 RTM did reset the isolation level and CU6 took that back, KB3025845), so the isolation level stays.
 * - Transaction Manager requests (MS-TDS 2.2.6.9, what tedious's beginTransaction / saveTransaction /
 *   commitTransaction / rollbackTransaction send) behave as BEGIN / SAVE / COMMIT / ROLLBACK TRANSACTION: they
 *   nest with T-SQL transactions in @@TRANCOUNT, a rollback to a savepoint keeps the transaction open, and the
 *   descriptor of ENVCHANGE 8 is the one sys.dm_tran_session_transactions reports.
 * - @@OPTIONS carries the SET options in the bits of the `user options` server option (Microsoft Learn,
 *   "@@OPTIONS" and "Configure the user options Server Configuration Option").
 * - A NULL literal converts to every type (CAST(NULL AS uniqueidentifier) is NULL, not error 529).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type sql from 'mssql';
import { startSqlTarget, uniqueName, type SqlTarget } from '../support/sql-target.js';
import { tediousSession, type TediousSession } from './support/tedious-session.js';

let target: SqlTarget;
let observer: sql.ConnectionPool;
const table = uniqueName('conf_pool');

before(async () => {
  target = await startSqlTarget();
  observer = await target.connect();
  await observer.request().batch(`CREATE TABLE dbo.${table} (id int NOT NULL PRIMARY KEY, note varchar(20) NULL)`);
});

after(async () => {
  await observer?.request().batch(`DROP TABLE IF EXISTS dbo.${table}`);
  await observer?.close();
  await target?.stop();
});

/** Runs `fn` on the one tedious connection of a new pool (so no test sees another's session state). */
async function onSession(fn: (s: TediousSession) => Promise<void>): Promise<void> {
  const pool = await target.connect();
  const s = await tediousSession(pool);
  try {
    await fn(s);
  } finally {
    s.release();
    await pool.close();
  }
}

async function ids(): Promise<number[]> {
  const r = await observer.request().query(`SELECT id FROM dbo.${table} WITH (NOLOCK) ORDER BY id`);
  return (r.recordset as { id: number }[]).map((x) => x.id);
}

async function clear(): Promise<void> {
  await observer.request().batch(`DELETE FROM dbo.${table}`);
}

const SESSION_STATE = `SELECT @@TRANCOUNT AS trancount, @@OPTIONS AS options, @@LOCK_TIMEOUT AS lockTimeout,
  DB_NAME() AS db, OBJECT_ID('tempdb..#pooled') AS temp,
  (SELECT transaction_isolation_level FROM sys.dm_exec_sessions WHERE session_id = @@SPID) AS isolation`;

const NOCOUNT = 512;
const XACT_ABORT = 16384;

test('the reset-connection flag rolls back the open transaction, drops #temp tables, resets SET options and the database; the isolation level stays', async () => {
  await clear();
  await onSession(async (s) => {
    const fresh = await s.row(SESSION_STATE);
    assert.equal(fresh.trancount, 0);
    assert.equal((fresh.options as number) & (NOCOUNT | XACT_ABORT), 0, 'a fresh login has NOCOUNT and XACT_ABORT off');
    await s.batch(
      `SET NOCOUNT ON; SET XACT_ABORT ON; SET LOCK_TIMEOUT 1234;
       SET TRANSACTION ISOLATION LEVEL READ UNCOMMITTED;
       CREATE TABLE #pooled (x int);
       BEGIN TRANSACTION;
       INSERT INTO dbo.${table} (id) VALUES (1);
       USE master;`,
    );
    const dirty = await s.row(SESSION_STATE);
    assert.equal(dirty.trancount, 1);
    assert.equal(dirty.db, 'master');
    assert.notEqual(dirty.temp, null);
    assert.deepEqual(await ids(), [1], 'the uncommitted insert is there (read with NOLOCK)');

    s.connection.resetConnectionOnNextRequest = true;
    const reset = await s.row(SESSION_STATE);
    assert.equal(reset.trancount, 0, 'the open transaction is rolled back');
    // Only bits a login never turns on are compared: tedious logs in without the ODBC flag, so on SQL Server the
    // ANSI options go back to the server's `user options` until tedious's initial SET batch runs again (reset()).
    assert.equal((reset.options as number) & (NOCOUNT | XACT_ABORT), 0, 'SET NOCOUNT / XACT_ABORT back to the login');
    assert.equal(reset.lockTimeout, -1, 'LOCK_TIMEOUT back to the default');
    assert.equal(reset.db, fresh.db, 'the database of the login');
    assert.equal(reset.temp, null, '#temp tables are dropped');
    assert.equal(reset.isolation, 1, 'MS-TDS 2.2.3.1.2: isolation levels are not reset');
    assert.deepEqual(await ids(), [], 'the insert was rolled back');
    // Whether SQL Server announces that rollback with ENVCHANGE 10 is not documented (the simulator does, see
    // test/unit/sim/engine/session-reset.test.ts), so tedious's own view is not asserted here.
    // The flag applies to one request only.
    await s.batch('SET NOCOUNT ON');
    assert.equal(((await s.row('SELECT @@OPTIONS AS o')).o as number) & NOCOUNT, NOCOUNT);
  });
});

test('tedious reset() (the flag on its initial SET batch) gives the session of a fresh login', async () => {
  await onSession(async (s) => {
    await s.batch('SET TRANSACTION ISOLATION LEVEL READ COMMITTED');
    const fresh = await s.row(SESSION_STATE);
    await s.batch(
      `SET NOCOUNT ON; SET XACT_ABORT ON; SET TRANSACTION ISOLATION LEVEL SNAPSHOT; CREATE TABLE #pooled (x int)`,
    );
    await s.reset();
    const after = await s.row(SESSION_STATE);
    assert.deepEqual(after, fresh);
  });
});

test('Transaction Manager BEGIN and COMMIT nest with T-SQL transactions in @@TRANCOUNT; the descriptor is the session’s', async () => {
  await clear();
  await onSession(async (s) => {
    await s.begin('outer');
    assert.equal(s.inTransaction(), true);
    const d = s.descriptor();
    assert.notDeepEqual(d, Buffer.alloc(8), 'ENVCHANGE 8 carried a descriptor');
    const dmv = await s.row(
      'SELECT transaction_descriptor AS d FROM sys.dm_tran_session_transactions WHERE session_id = @@SPID',
    );
    assert.deepEqual(dmv.d, d, 'the descriptor is the one SQL Server reports for the session');
    await s.batch(
      `INSERT INTO dbo.${table} (id) VALUES (1); BEGIN TRANSACTION; INSERT INTO dbo.${table} (id) VALUES (2)`,
    );
    assert.equal((await s.row('SELECT @@TRANCOUNT AS n')).n, 2);
    await s.batch('COMMIT');
    assert.equal((await s.row('SELECT @@TRANCOUNT AS n')).n, 1, 'an inner COMMIT only decrements');
    assert.equal(s.inTransaction(), true, 'no ENVCHANGE 9 for an inner COMMIT');
    await s.batch('BEGIN TRANSACTION');
    await s.commit('outer');
    assert.equal((await s.row('SELECT @@TRANCOUNT AS n')).n, 1, 'a TM COMMIT at @@TRANCOUNT 2 decrements like COMMIT');
    assert.equal(s.inTransaction(), true);
    await s.commit('outer');
    assert.equal((await s.row('SELECT @@TRANCOUNT AS n')).n, 0);
    assert.equal(s.inTransaction(), false, 'ENVCHANGE 9 ended it');
    assert.deepEqual(s.descriptor(), Buffer.alloc(8));
  });
  assert.deepEqual(await ids(), [1, 2]);
});

test('Transaction Manager savepoints: ROLLBACK to a savepoint undoes only what followed it and keeps the transaction open', async () => {
  await clear();
  await onSession(async (s) => {
    await s.begin('work');
    await s.batch(`INSERT INTO dbo.${table} (id) VALUES (1)`);
    await s.save('sp1');
    await s.batch(`INSERT INTO dbo.${table} (id) VALUES (2)`);
    await s.save('sp2');
    await s.batch(`INSERT INTO dbo.${table} (id) VALUES (3)`);
    await s.rollback('sp2');
    assert.equal(s.inTransaction(), true, 'no ENVCHANGE 10 for a savepoint rollback');
    assert.equal((await s.row('SELECT @@TRANCOUNT AS n')).n, 1);
    await s.rollback('sp1');
    assert.equal((await s.row('SELECT COUNT(*) AS n FROM dbo.' + table)).n, 1, 'the session sees only row 1');
    await s.batch(`INSERT INTO dbo.${table} (id) VALUES (4)`);
    await s.commit('work');
    assert.equal(s.inTransaction(), false);
  });
  assert.deepEqual(await ids(), [1, 4]);
});

test('ROLLBACK of a name that is neither the transaction nor a savepoint is 6401 and leaves the transaction open; ROLLBACK of the transaction’s name ends it', async () => {
  await clear();
  await onSession(async (s) => {
    await s.begin('named');
    await s.batch(`INSERT INTO dbo.${table} (id) VALUES (1)`);
    await assert.rejects(s.batch('ROLLBACK TRANSACTION nosuch'), (e: { number?: number }) => e.number === 6401);
    assert.equal((await s.row('SELECT @@TRANCOUNT AS n')).n, 1);
    await assert.rejects(s.rollback('nosuch'), (e: { number?: number }) => e.number === 6401);
    assert.equal(s.inTransaction(), true);
    await s.rollback('named');
    assert.equal(s.inTransaction(), false);
    assert.equal((await s.row('SELECT @@TRANCOUNT AS n')).n, 0);
  });
  assert.deepEqual(await ids(), []);
});

test('@@OPTIONS reflects SET options (the user options bits)', async () => {
  await onSession(async (s) => {
    const base = (await s.row('SELECT @@OPTIONS AS o')).o as number;
    // What tedious's initial SET batch turns on: ANSI_WARNINGS 8, ANSI_PADDING 16, ANSI_NULLS 32, ARITHABORT 64,
    // QUOTED_IDENTIFIER 256, ANSI_NULL_DFLT_ON 1024, CONCAT_NULL_YIELDS_NULL 4096; and off: IMPLICIT_TRANSACTIONS 2,
    // NOCOUNT 512, NUMERIC_ROUNDABORT 8192, XACT_ABORT 16384.
    assert.equal(base & (8 | 16 | 32 | 64 | 256 | 1024 | 4096), 8 | 16 | 32 | 64 | 256 | 1024 | 4096);
    assert.equal(base & (2 | 512 | 8192 | 16384), 0);
    const after = async (set: string) => {
      await s.batch(set);
      return (await s.row('SELECT @@OPTIONS AS o')).o as number;
    };
    assert.equal(await after('SET NOCOUNT ON'), base | 512);
    assert.equal(await after('SET XACT_ABORT ON'), base | 512 | 16384);
    assert.equal(await after('SET ARITHABORT OFF'), (base | 512 | 16384) & ~64);
    assert.equal(await after('SET CURSOR_CLOSE_ON_COMMIT ON'), ((base | 512 | 16384) & ~64) | 4);
    assert.equal(
      await after('SET NOCOUNT OFF; SET XACT_ABORT OFF; SET ARITHABORT ON; SET CURSOR_CLOSE_ON_COMMIT OFF'),
      base,
    );
  });
});

test('a NULL literal converts to every type: CAST(NULL AS uniqueidentifier) is NULL', async () => {
  const r = await observer.request().query(
    `SELECT CAST(NULL AS uniqueidentifier) AS g, CONVERT(uniqueidentifier, NULL) AS g2, TRY_CAST(NULL AS uniqueidentifier) AS g3,
       CAST(NULL AS int) AS i, CAST(NULL AS bigint) AS bi, CAST(NULL AS decimal(19,4)) AS d, CAST(NULL AS money) AS m,
       CAST(NULL AS float) AS f, CAST(NULL AS bit) AS b, CAST(NULL AS nvarchar(max)) AS s, CAST(NULL AS varbinary(10)) AS vb,
       CAST(NULL AS binary(8)) AS bin, CAST(NULL AS date) AS dt, CAST(NULL AS time(7)) AS tm, CAST(NULL AS datetime) AS dtm,
       CAST(NULL AS datetime2(7)) AS dt2, CAST(NULL AS datetimeoffset(7)) AS dto, CAST(NULL AS smalldatetime) AS sdt,
       CASE WHEN CAST(NULL AS uniqueidentifier) IS NULL THEN 1 ELSE 0 END AS isNull`,
  );
  const row = r.recordset[0] as Record<string, unknown>;
  for (const [k, v] of Object.entries(row)) if (k !== 'isNull') assert.equal(v, null, k);
  assert.equal(row.isNull, 1);
  const t = uniqueName('conf_guid');
  await observer.request().batch(`CREATE TABLE dbo.${t} (id int NOT NULL PRIMARY KEY, g uniqueidentifier NULL)`);
  try {
    await observer.request().batch(`INSERT INTO dbo.${t} (id, g) VALUES (1, CAST(NULL AS uniqueidentifier))`);
    const g = await observer.request().query(`SELECT g FROM dbo.${t}`);
    assert.equal((g.recordset[0] as { g: unknown }).g, null);
  } finally {
    await observer.request().batch(`DROP TABLE dbo.${t}`);
  }
});
