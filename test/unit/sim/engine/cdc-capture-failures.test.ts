/**
 * Issue 12 item 10: an ALTER COLUMN that narrows a captured column while wider values are still in the log
 * must not lose them, and a capture failure on one table must not stop the capture of the others.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SqlValue } from '../../../../sim/engine/api.js';
import { createEngine } from '../../../../sim/engine/index.js';
import { cdcAdmin } from '../../../../sim/engine/cdc/index.js';

async function cdcDatabase(tables: string[]) {
  const e = createEngine();
  e.admin.createDatabase('C');
  cdcAdmin(e).configure({ autoStart: false });
  const x = (sql: string) => e.admin.execute(sql, { database: 'C' });
  const rows = async (sql: string): Promise<SqlValue[][]> => (await x(sql)).resultSets[0]?.rows ?? [];
  for (const t of tables) await x(t);
  await x('EXEC sys.sp_cdc_enable_db');
  const enable = (name: string) =>
    x(`EXEC sys.sp_cdc_enable_table @source_schema = N'dbo', @source_name = N'${name}', @role_name = NULL`);
  const scan = () => x('EXEC sys.sp_cdc_scan');
  const maxLsn = async () => (await rows('SELECT sys.fn_cdc_get_max_lsn()'))[0]?.[0] as Buffer;
  /** (operation, captured columns…) of an instance's changes from its min LSN to `to` (default: max LSN). */
  const changes = async (ci: string, cols: string, to = 'sys.fn_cdc_get_max_lsn()') =>
    rows(
      `DECLARE @f binary(10) = sys.fn_cdc_get_min_lsn('${ci}'), @t binary(10) = ${to};
       SELECT __$operation, ${cols} FROM cdc.fn_cdc_get_all_changes_${ci}(@f, @t, N'all update old')
       ORDER BY __$start_lsn, __$seqval, __$operation`,
    );
  const errors = async () =>
    (
      await rows('SELECT session_id, error_number, error_message, start_lsn FROM sys.dm_cdc_errors ORDER BY session_id')
    ).map(([session, number, message, lsn]) => ({
      session: Number(session),
      number: Number(number),
      message: message as string,
      lsn: lsn as string,
    }));
  return { e, x, rows, enable, scan, maxLsn, changes, errors };
}

const lsnOf = (text: string): string => `0x${text.replace(/:/g, '')}`;

test('a capture failure on one table stops only that table: the others keep being captured and max LSN keeps moving', async () => {
  const db = await cdcDatabase([
    'CREATE TABLE dbo.A (id int NOT NULL PRIMARY KEY, code varchar(5) NULL)',
    'CREATE TABLE dbo.B (id int NOT NULL PRIMARY KEY, v int NULL)',
  ]);
  await db.enable('A');
  await db.enable('B');
  await db.x("INSERT INTO dbo.A VALUES (1, 'abc')");
  await db.scan();
  // The source column can become int once its data is numeric. The change table still holds 'abc', so the
  // capture cannot convert its column (22976) and it stays varchar(5) — too narrow for 123456 (2628).
  await db.x("UPDATE dbo.A SET code = '1' WHERE id = 1");
  await db.x('ALTER TABLE dbo.A ALTER COLUMN code int NULL');
  await db.x('INSERT INTO dbo.A VALUES (2, 123456)');
  await db.x('INSERT INTO dbo.B VALUES (1, 1)');
  const max0 = await db.maxLsn();
  await db.scan();

  // B's change arrived and the max LSN moved past it.
  assert.deepEqual(await db.changes('dbo_B', 'id, v'), [[2n, 1n, 1n]]);
  const max1 = await db.maxLsn();
  assert.ok(Buffer.compare(max1, max0) > 0);

  // A stopped at the transaction it could not harvest, with the error recorded.
  const errs = await db.errors();
  assert.deepEqual(
    errs.map((r) => r.number),
    [245, 22976, 2628],
  );
  const stall = errs[2];
  assert.ok(stall);
  // Its changes up to that transaction read as usual; a range reaching past it is refused (313), as for any
  // range the capture process has not processed yet — never an empty answer that would skip the stuck rows.
  assert.deepEqual(await db.changes('dbo_A', 'id, code', `sys.fn_cdc_decrement_lsn(${lsnOf(stall.lsn)})`), [
    [2n, 1n, 'abc'],
    [3n, 1n, 'abc'],
    [4n, 1n, '1'],
  ]);
  await assert.rejects(db.changes('dbo_A', 'id, code'), (err: { number?: number }) => err.number === 313);

  // B keeps going while A stays stopped; every scan records A's error again.
  await db.x('INSERT INTO dbo.B VALUES (2, 2)');
  await db.scan();
  assert.deepEqual(await db.changes('dbo_B', 'id, v'), [
    [2n, 1n, 1n],
    [2n, 2n, 2n],
  ]);
  assert.ok(Buffer.compare(await db.maxLsn(), max1) > 0);
  assert.equal((await db.errors()).filter((r) => r.number === 2628).length, 2);

  // Once the change table can hold the value, the next scan harvests A's backlog in log order, at the LSNs it
  // was logged with (below B's second row).
  await db.x('ALTER TABLE cdc.dbo_A_CT ALTER COLUMN code varchar(12) NULL');
  await db.scan();
  assert.deepEqual(await db.changes('dbo_A', 'id, code'), [
    [2n, 1n, 'abc'],
    [3n, 1n, 'abc'],
    [4n, 1n, '1'],
    [2n, 2n, '123456'],
  ]);
  const lsn = async (sql: string) => (await db.rows(sql))[0]?.[0] as Buffer;
  assert.ok(
    Buffer.compare(
      await lsn('SELECT __$start_lsn FROM cdc.dbo_A_CT WHERE id = 2'),
      await lsn('SELECT __$start_lsn FROM cdc.dbo_B_CT WHERE id = 2'),
    ) < 0,
  );
  assert.equal((await db.errors()).filter((r) => r.number === 2628).length, 2);
});

test('ALTER COLUMN int → smallint: the change table is narrowed when its data fits, else keeps int (22976) and every value', async () => {
  const db = await cdcDatabase([
    'CREATE TABLE dbo.Fits (id int NOT NULL PRIMARY KEY, qty int NULL)',
    'CREATE TABLE dbo.Wide (id int NOT NULL PRIMARY KEY, qty int NULL)',
  ]);
  await db.enable('Fits');
  await db.enable('Wide');
  await db.x('INSERT INTO dbo.Fits VALUES (1, 10)');
  await db.x('INSERT INTO dbo.Wide VALUES (1, 40000)');
  await db.x('UPDATE dbo.Wide SET qty = 7 WHERE id = 1');
  await db.x('ALTER TABLE dbo.Fits ALTER COLUMN qty smallint NULL');
  await db.x('ALTER TABLE dbo.Wide ALTER COLUMN qty smallint NULL');
  await db.x('INSERT INTO dbo.Fits VALUES (2, 20)');
  await db.x('INSERT INTO dbo.Wide VALUES (2, 123)');
  await db.scan();

  assert.deepEqual(await db.changes('dbo_Fits', 'id, qty'), [
    [2n, 1n, 10n],
    [2n, 2n, 20n],
  ]);
  assert.deepEqual(await db.changes('dbo_Wide', 'id, qty'), [
    [2n, 1n, 40000n],
    [3n, 1n, 40000n],
    [4n, 1n, 7n],
    [2n, 2n, 123n],
  ]);
  const shape = async (ci: string) =>
    db.rows(
      `SELECT t.name,
         (SELECT column_type FROM cdc.captured_columns cc
          WHERE cc.object_id = OBJECT_ID('cdc.${ci}_CT') AND cc.column_name = 'qty')
       FROM sys.columns c JOIN sys.types t ON t.user_type_id = c.user_type_id
       WHERE c.object_id = OBJECT_ID('cdc.${ci}_CT') AND c.name = 'qty'`,
    );
  const history = async (ci: string) =>
    (await db.rows(`EXEC sys.sp_cdc_get_ddl_history @capture_instance = N'${ci}'`)).map((r) => r[3]);
  assert.deepEqual(await shape('dbo_Fits'), [['smallint', 'smallint']]);
  assert.deepEqual(await history('dbo_Fits'), [true]);
  assert.deepEqual(await shape('dbo_Wide'), [['int', 'int']]);
  assert.deepEqual(await history('dbo_Wide'), [false]);
  const errs = await db.errors();
  assert.deepEqual(
    errs.map((r) => r.number),
    [220, 22976],
  );
  assert.match(errs[1]?.message ?? '', /Could not alter column 'qty' of change table 'cdc\.dbo_Wide_CT'/);
});
