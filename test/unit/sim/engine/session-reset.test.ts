/**
 * Session.reset (the RESETCONNECTION / RESETCONNECTIONSKIPTRAN flags, MS-TDS 2.2.3.1.2) at the engine contract:
 * SKIPTRAN keeps the transaction, both reset the rest. The TDS bits and the mssql-visible effects are covered by
 * test/integration/sim/tds/raw-protocol.test.ts and test/conformance/pooled-sessions.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, engineWithClaims, run, scalar } from './helpers.js';

const STATE = `SELECT @@TRANCOUNT, @@OPTIONS & (512 | 16384), @@LOCK_TIMEOUT, DB_NAME(), OBJECT_ID('tempdb..#t'),
  (SELECT transaction_isolation_level FROM sys.dm_exec_sessions WHERE session_id = @@SPID)`;

test('reset(keepTransaction) keeps the open transaction and its work; reset() rolls it back with ENVCHANGE 10', async () => {
  const e = engineWithClaims();
  const s = await connect(e);
  await run(s, 'CREATE TABLE dbo.r (id int NOT NULL PRIMARY KEY)');
  const dirty = `SET NOCOUNT ON; SET XACT_ABORT ON; SET LOCK_TIMEOUT 5; SET TRANSACTION ISOLATION LEVEL READ UNCOMMITTED;
    CREATE TABLE #t (x int); BEGIN TRAN; INSERT INTO dbo.r VALUES (1); USE master;`;
  await run(s, dirty);
  const descriptor = s.transactionDescriptor;
  assert.deepEqual(s.reset(true), [], 'SKIPTRAN: nothing rolled back');
  const kept = (await run(s, STATE)).sets[0]?.[0];
  assert.deepEqual(kept, [1n, 0n, -1n, 'Claims', null, 1n]);
  assert.deepEqual(s.transactionDescriptor, descriptor, 'the same transaction goes on');
  assert.equal(await scalar(s, 'SELECT COUNT(*) FROM dbo.r'), 1n);

  await run(s, 'SET NOCOUNT ON; CREATE TABLE #t (x int)');
  assert.deepEqual(s.reset(false), [{ kind: 'envChange', change: { type: 'rollbackTransaction', descriptor } }]);
  assert.deepEqual((await run(s, STATE)).sets[0]?.[0], [0n, 0n, -1n, 'Claims', null, 1n]);
  assert.equal(await scalar(s, 'SELECT COUNT(*) FROM dbo.r'), 0n);
  assert.deepEqual(s.reset(false), [], 'no transaction, nothing to announce');
});
