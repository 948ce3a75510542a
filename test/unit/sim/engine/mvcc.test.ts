import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IsolationLevel, engineWithClaims, connect, run, scalar, collect } from './helpers.js';
import { OrderedIndex } from '../../../../sim/engine/ordered-index.js';
import type { SqlValue } from '../../../../sim/engine/api.js';
import { textOf as valueText } from '../../../../sim/engine/values.js';

test('ordered index: appends, random inserts, ranges, and iteration that survives changes', () => {
  const ix = new OrderedIndex<{ k: bigint }>((e) => [e.k]);
  for (let i = 0; i < 5000; i++) ix.insert({ k: BigInt(i * 2) });
  for (let i = 0; i < 5000; i++) ix.insert({ k: BigInt(i * 2 + 1) });
  assert.equal(ix.size, 10000);
  const got = [...ix.range({ key: [100n], inclusive: false }, { key: [105n], inclusive: true })].map((e) => e.k);
  assert.deepEqual(got, [101n, 102n, 103n, 104n, 105n]);
  const rev = [...ix.range({ key: [10n], inclusive: true }, { key: [13n], inclusive: false }, true)].map((e) => e.k);
  assert.deepEqual(rev, [12n, 11n, 10n]);
  // Insert and delete while iterating: no entry is returned twice or skipped.
  const seen: bigint[] = [];
  let n = 0;
  for (const e of ix.range({ key: [9000n], inclusive: true })) {
    seen.push(e.k);
    if (n++ === 3) {
      ix.insert({ k: 9001n * 10n });
      ix.remove([...ix.equal([9000n])][0] as { k: bigint });
    }
  }
  assert.equal(new Set(seen).size, seen.length);
  assert.ok(seen.includes(90010n));
  const sorted = [...seen].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  assert.deepEqual(seen, sorted);
});

test('uncommitted writes are invisible to other sessions, visible to the writer, gone after rollback', async () => {
  const e = engineWithClaims();
  const a = await connect(e);
  const b = await connect(e);
  await run(a, 'CREATE TABLE dbo.T (id int PRIMARY KEY, v int)');
  await run(a, 'BEGIN TRAN; INSERT INTO dbo.T VALUES (1, 10);');
  assert.equal(await scalar(a, 'SELECT COUNT(*) FROM dbo.T'), 1n);
  assert.equal(await scalar(b, 'SELECT COUNT(*) FROM dbo.T'), 0n);
  assert.equal(await scalar(b, 'SELECT COUNT(*) FROM dbo.T WITH (NOLOCK)'), 1n);
  await run(a, 'ROLLBACK');
  assert.equal(await scalar(a, 'SELECT COUNT(*) FROM dbo.T'), 0n);
});

test('a statement error rolls back only that statement; XACT_ABORT dooms the transaction', async () => {
  const e = engineWithClaims();
  const a = await connect(e);
  await run(a, 'CREATE TABLE dbo.T (id int PRIMARY KEY, v int NOT NULL)');
  const r = await run(
    a,
    'BEGIN TRAN; INSERT INTO dbo.T VALUES (1, 1); INSERT INTO dbo.T VALUES (2, 2), (1, 3); INSERT INTO dbo.T VALUES (3, 3); COMMIT;',
  );
  assert.equal(r.errors[0]?.number, 2627);
  assert.deepEqual(
    (await run(a, 'SELECT id FROM dbo.T ORDER BY id')).sets[0]?.map((x: SqlValue[]) => x[0]),
    [1n, 3n],
  );
  const x = await run(
    a,
    'SET XACT_ABORT ON; BEGIN TRAN; INSERT INTO dbo.T VALUES (4, 4); INSERT INTO dbo.T VALUES (1, 1); COMMIT;',
  );
  assert.equal(x.errors[0]?.number, 2627);
  assert.ok(x.events.some((ev) => ev.kind === 'envChange' && ev.change.type === 'rollbackTransaction'));
  assert.equal(await scalar(a, 'SELECT COUNT(*) FROM dbo.T WHERE id = 4'), 0n);
});

test('deadlock: the second waiter in a cycle gets 1205 and its transaction is rolled back', async () => {
  const e = engineWithClaims();
  const a = await connect(e);
  const b = await connect(e);
  await run(a, 'CREATE TABLE dbo.T (id int PRIMARY KEY, v int); INSERT INTO dbo.T VALUES (1, 0), (2, 0);');
  await run(a, 'BEGIN TRAN; UPDATE dbo.T SET v = 1 WHERE id = 1;');
  await run(b, 'BEGIN TRAN; UPDATE dbo.T SET v = 2 WHERE id = 2;');
  const aWaits = run(a, 'UPDATE dbo.T SET v = 1 WHERE id = 2;');
  await new Promise((r) => setTimeout(r, 20));
  const bDeadlocks = await run(b, 'UPDATE dbo.T SET v = 2 WHERE id = 1;');
  assert.equal(bDeadlocks.errors[0]?.number, 1205);
  assert.equal(bDeadlocks.errors[0]?.severity, 13);
  const aDone = await aWaits;
  assert.deepEqual(aDone.errors, []);
  await run(a, 'COMMIT');
  assert.deepEqual((await run(a, 'SELECT v FROM dbo.T ORDER BY id')).sets[0], [[1n], [1n]]);
});

test('snapshot transactions: stable reads and update conflicts (3960)', async () => {
  const e = engineWithClaims();
  const a = await connect(e);
  const b = await connect(e);
  await run(
    a,
    'ALTER DATABASE Claims SET ALLOW_SNAPSHOT_ISOLATION ON; CREATE TABLE dbo.T (id int PRIMARY KEY, v int); INSERT INTO dbo.T VALUES (1, 0);',
  );
  await collect(b.beginTransaction(IsolationLevel.Snapshot, ''));
  assert.equal(await scalar(b, 'SELECT v FROM dbo.T WHERE id = 1'), 0n);
  await run(a, 'UPDATE dbo.T SET v = 5 WHERE id = 1');
  assert.equal(await scalar(b, 'SELECT v FROM dbo.T WHERE id = 1'), 0n);
  const c = await run(b, 'UPDATE dbo.T SET v = 6 WHERE id = 1');
  assert.equal(c.errors[0]?.number, 3960);
  assert.equal(b.transactionDescriptor.equals(Buffer.alloc(8)), true, 'the transaction was rolled back');
});

test('rowversion: one database counter, MIN_ACTIVE_ROWVERSION fences open transactions', async () => {
  const e = engineWithClaims();
  const a = await connect(e);
  const b = await connect(e);
  await run(a, 'CREATE TABLE dbo.T (id int PRIMARY KEY, rv rowversion)');
  const dbts0 = ((await scalar(a, 'SELECT @@DBTS')) as Buffer).readBigUInt64BE();
  await run(a, 'BEGIN TRAN; INSERT INTO dbo.T (id) VALUES (1);');
  await run(b, 'INSERT INTO dbo.T (id) VALUES (2)');
  assert.equal(((await scalar(b, 'SELECT @@DBTS')) as Buffer).readBigUInt64BE(), dbts0 + 2n);
  assert.equal(((await scalar(b, 'SELECT MIN_ACTIVE_ROWVERSION()')) as Buffer).readBigUInt64BE(), dbts0 + 1n);
  await run(a, 'COMMIT');
  assert.equal(((await scalar(b, 'SELECT MIN_ACTIVE_ROWVERSION()')) as Buffer).readBigUInt64BE(), dbts0 + 3n);
  await run(b, 'UPDATE dbo.T SET id = id WHERE id = 2');
  assert.equal(
    ((await scalar(b, 'SELECT rv FROM dbo.T WHERE id = 2')) as Buffer).readBigUInt64BE(),
    dbts0 + 3n,
    'a no-op update still bumps rv',
  );
});

test('commit log: one entry per committed transaction with before/after images in order', async () => {
  const e = engineWithClaims();
  const a = await connect(e);
  await run(a, 'CREATE TABLE dbo.T (id int PRIMARY KEY, v int)');
  const seen: { lsn: bigint; ops: string[] }[] = [];
  e.admin.onCommit('Claims', (t) =>
    seen.push({ lsn: t.lsn, ops: t.changes.map((c) => `${c.op}:${textOf(c.before)}>${textOf(c.after)}`) }),
  );
  await run(
    a,
    'BEGIN TRAN; INSERT INTO dbo.T VALUES (1, 1); UPDATE dbo.T SET v = 2 WHERE id = 1; COMMIT; DELETE FROM dbo.T;',
  );
  await run(a, 'BEGIN TRAN; INSERT INTO dbo.T VALUES (9, 9); ROLLBACK;');
  assert.equal(seen.length, 2);
  assert.ok((seen[0]?.lsn ?? 0n) < (seen[1]?.lsn ?? 0n));
  assert.deepEqual(seen[0]?.ops, ['insert:-> 1,1', 'update: 1,1> 1,2']);
  assert.deepEqual(seen[1]?.ops, ['delete: 1,2>-']);
});

function textOf(v: SqlValue[] | null): string {
  return v ? ' ' + v.map((x) => valueText(x)).join(',') : '-';
}

test('REPEATABLE READ, SERIALIZABLE and blocking read hints are refused rather than silently weakened', async () => {
  const e = engineWithClaims();
  const a = await connect(e);
  await run(a, 'CREATE TABLE dbo.T (id int PRIMARY KEY)');
  assert.equal((await run(a, 'SET TRANSACTION ISOLATION LEVEL SERIALIZABLE')).errors[0]?.number, 40517);
  assert.equal((await run(a, 'SELECT * FROM dbo.T WITH (UPDLOCK)')).errors[0]?.number, 40517);
  assert.equal((await collect(a.beginTransaction(IsolationLevel.RepeatableRead, ''))).errors[0]?.number, 40517);
  assert.deepEqual((await run(a, 'SELECT * FROM dbo.T WITH (NOLOCK, ROWLOCK)')).errors, []);
});

test('TRY/CATCH: the error goes to CATCH with ERROR_NUMBER() etc.; THROW; re-raises it', async () => {
  const e = engineWithClaims();
  const a = await connect(e);
  await run(a, 'CREATE TABLE dbo.T (id int PRIMARY KEY)');
  const r = await run(
    a,
    `BEGIN TRY
       INSERT INTO dbo.T VALUES (1);
       INSERT INTO dbo.T VALUES (1);
       SELECT 'not reached';
     END TRY
     BEGIN CATCH
       SELECT ERROR_NUMBER() AS n, ERROR_SEVERITY() AS sev, ERROR_STATE() AS st, LEFT(ERROR_MESSAGE(), 28) AS msg;
     END CATCH;
     SELECT ERROR_NUMBER(), COUNT(*) FROM dbo.T;`,
  );
  assert.deepEqual(r.errors, []);
  assert.deepEqual(r.sets, [[[2627n, 14n, 1n, 'Violation of PRIMARY KEY con']], [[null, 1n]]]);
  const t = await run(a, 'BEGIN TRY SELECT 1 / 0; END TRY BEGIN CATCH THROW; END CATCH');
  assert.equal(t.errors[0]?.number, 8134);
  assert.equal((await run(a, 'THROW')).errors[0]?.number, 10704);
  const custom = await run(
    a,
    "BEGIN TRY THROW 50001, N'custom', 3; END TRY BEGIN CATCH SELECT ERROR_NUMBER(), ERROR_MESSAGE(), ERROR_STATE(); END CATCH",
  );
  assert.deepEqual(custom.sets[0], [[50001n, 'custom', 3n]]);
});

test('XACT_ABORT ON inside TRY dooms the transaction: XACT_STATE() = -1, writes fail with 3930, the batch end rolls back (3998)', async () => {
  const e = engineWithClaims();
  const a = await connect(e);
  await run(a, 'CREATE TABLE dbo.T (id int PRIMARY KEY)');
  const r = await run(
    a,
    `SET XACT_ABORT ON; BEGIN TRAN; INSERT INTO dbo.T VALUES (1);
     BEGIN TRY INSERT INTO dbo.T VALUES (1); END TRY
     BEGIN CATCH SELECT XACT_STATE(); END CATCH;
     INSERT INTO dbo.T VALUES (2);`,
  );
  assert.deepEqual(r.sets[0], [[-1n]]);
  assert.deepEqual(
    r.errors.map((x) => x.number),
    [3930],
  );
  const end = await run(a, 'SELECT @@TRANCOUNT, (SELECT COUNT(*) FROM dbo.T)');
  assert.deepEqual(end.sets[0], [[0n, 0n]]);
});
