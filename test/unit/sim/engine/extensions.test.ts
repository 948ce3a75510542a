/**
 * The extension points part 2 (CDC, Change Tracking, security) builds on, exercised the way it will use them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { engineWithClaims, connect, run } from './helpers.js';
import { literal } from '../../../../sim/engine/coercion.js';
import { SqlError, type SqlValue } from '../../../../sim/engine/api.js';

test('procedures, functions and table functions registered by an extension are callable from T-SQL and RPC', async () => {
  const e = engineWithClaims();
  const calls: SqlValue[][] = [];
  e.admin.registerProcedure('sys.sp_cdc_enable_db', async function* (_session, args) {
    await Promise.resolve();
    calls.push(args.map((a) => a.value));
    yield { kind: 'message', error: new SqlError(22905, 10, 1, 'Database already enabled.') };
    yield { kind: 'done' };
    return 0;
  });
  e.admin.registerFunction('SYS.FN_CDC_GET_MAX_LSN', {
    arity: [0, 0],
    bind: () => literal(Buffer.alloc(10, 1), { name: 'binary', length: 10 }),
  });
  e.admin.registerTableFunction((parts) => {
    const name = parts[parts.length - 1]?.toLowerCase() ?? '';
    if (!name.startsWith('fn_cdc_get_all_changes_')) return undefined;
    return {
      name,
      columns: [{ name: '__$operation', type: { name: 'int' }, nullable: false }],
      rows: (_rt, args) => [[BigInt(args.length)]],
    };
  });
  const s = await connect(e);
  const r = await run(
    s,
    "EXEC sys.sp_cdc_enable_db; SELECT sys.fn_cdc_get_max_lsn(); SELECT [__$operation] FROM cdc.fn_cdc_get_all_changes_dbo_T(0x00, 0x01, N'all') AS c;",
  );
  assert.deepEqual(r.errors, []);
  assert.equal(calls.length, 1);
  assert.deepEqual(r.sets[0], [[Buffer.alloc(10, 1)]]);
  assert.deepEqual(r.sets[1], [[3n]]);
  const rpc = await run(s, 'SELECT 1'); // sanity: session still usable
  assert.equal(rpc.sets.length, 1);
});

test('DDL listeners and ALTER DATABASE / ALTER TABLE option handlers', async () => {
  const e = engineWithClaims();
  const ddl: string[] = [];
  e.admin.onDdl('Claims', (ev) => ddl.push(`${ev.statement.kind}:${ev.table.name}`));
  const words: string[] = [];
  e.admin.registerProcedure('__statement_alter_database', async function* (_s, args) {
    await Promise.resolve();
    words.push(args[1]?.value as string);
    yield* [];
  });
  const s = await connect(e);
  const r = await run(
    s,
    'CREATE TABLE dbo.T (id int PRIMARY KEY); ALTER TABLE dbo.T ADD v int NULL; TRUNCATE TABLE dbo.T; ALTER DATABASE Claims SET CHANGE_TRACKING = ON (CHANGE_RETENTION = 2 DAYS, AUTO_CLEANUP = ON)',
  );
  assert.deepEqual(r.errors, []);
  assert.deepEqual(ddl, ['createTable:T', 'alterTable:T', 'truncateTable:T']);
  assert.deepEqual(words, ['SET CHANGE_TRACKING = ON ( CHANGE_RETENTION = 2 DAYS , AUTO_CLEANUP = ON )']);
  // ENABLE CHANGE_TRACKING is handled by the Change Tracking extension (sim/engine/change-tracking); an option no
  // extension implements still fails loudly.
  const unhandled = await run(s, 'ALTER TABLE dbo.T SET (LOCK_ESCALATION = AUTO)');
  assert.equal(unhandled.errors[0]?.number, 40517);
});
