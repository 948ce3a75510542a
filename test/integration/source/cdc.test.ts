import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { discoverTable } from '../../../src/source/discovery.js';
import { CdcStrategy } from '../../../src/source/strategies/cdc.js';
import { CaptureInstanceDroppedError, ChangeLogGapError } from '../../../src/source/errors.js';
import type { SourceConnection } from '../../../src/source/connection.js';
import { SIM_CREDENTIALS } from '../../../sim/index.js';
import { checkPrerequisites } from '../../../src/source/prerequisites.js';
import { collect, poll, startSourceSim, type SourceSim } from '../../support/source-sim.js';

let s: SourceSim;
let conn: SourceConnection;
const scan = () => s.admin.request().batch('EXEC sys.sp_cdc_scan @maxtrans = 500, @maxscans = 10, @continuous = 0');

async function enable(table: string, instance?: string) {
  await s.admin
    .request()
    .batch(
      `EXEC sys.sp_cdc_enable_table @source_schema = N'dbo', @source_name = N'${table}', @role_name = NULL${
        instance ? `, @capture_instance = N'${instance}'` : ''
      }`,
    );
  await s.admin
    .request()
    .batch(`EXEC sys.sp_cdc_stop_job @job_type = N'capture'`)
    .catch(() => undefined);
}

before(async () => {
  s = await startSourceSim();
  await s.admin.request().batch('EXEC sys.sp_cdc_enable_db');
  conn = await s.connect();
});
after(() => s?.stop());

test('cdc: inserts, updates, deletes in LSN order; late update; discovery sees the instance', async () => {
  await s.admin
    .request()
    .batch(`CREATE TABLE dbo.cdc_a (id int NOT NULL PRIMARY KEY, amount decimal(18,2) NULL, note varchar(20) NULL)`);
  await enable('cdc_a');
  const d = await discoverTable(conn, 'dbo', 'cdc_a');
  assert.equal(d.cdc.tracked, true);
  assert.deepEqual(
    d.cdc.instances.map((i) => [i.name, i.columns]),
    [['dbo_cdc_a', ['id', 'amount', 'note']]],
  );
  const st = new CdcStrategy(conn, d);
  await scan();
  const w0 = await st.planWindow(null);
  let pos: string | null = w0.empty ? w0.to : w0.to;
  if (!w0.empty) await collect(st, w0);
  await s.admin.request().batch(`INSERT INTO dbo.cdc_a VALUES (1, 10.50, 'a'), (2, 20.00, 'b');
    UPDATE dbo.cdc_a SET amount = 11.25 WHERE id = 1; DELETE FROM dbo.cdc_a WHERE id = 2;`);
  const before = await poll(st, pos);
  assert.equal(before.window.empty, true, 'nothing visible before the capture scan');
  await scan();
  const w1 = await poll(st, pos);
  assert.deepEqual(
    w1.rows.map((r) => [r.op, r.values[0], r.values[1]]),
    [
      ['c', 1, '10.50'],
      ['c', 2, '20.00'],
      ['u', 1, '11.25'],
      ['d', 2, '20.00'],
    ],
  );
  const sorted = [...w1.rows.map((r) => r.pos)].sort();
  assert.deepEqual(
    w1.rows.map((r) => r.pos),
    sorted,
  );
  assert.ok(w1.rows.every((r) => /^[0-9a-f]{40}$/.test(r.pos) && typeof r.commitTs === 'bigint'));
  pos = w1.position;
  const idle = await poll(st, pos);
  assert.deepEqual(idle.rows, []);
  pos = idle.position;
  // A 30-day-late update of an old row is an ordinary change event.
  await s.admin.request().batch(`UPDATE dbo.cdc_a SET note = 'late' WHERE id = 1`);
  await scan();
  const w2 = await poll(st, pos);
  assert.deepEqual(
    w2.rows.map((r) => [r.op, r.values[0], r.values[2]]),
    [['u', 1, 'late']],
  );
  assert.ok(w2.rows[0]!.pos > w1.rows[2]!.pos);
});

test('cdc: a second capture instance after ADD COLUMN takes over at its start LSN', async () => {
  await s.admin.request().batch(`CREATE TABLE dbo.cdc_b (id int NOT NULL PRIMARY KEY, v int NULL)`);
  await enable('cdc_b', 'dbo_cdc_b_v1');
  const st0 = new CdcStrategy(conn, await discoverTable(conn, 'dbo', 'cdc_b'));
  await scan();
  const w0 = await st0.planWindow(null);
  let pos = w0.to;
  await s.admin.request().batch(`INSERT INTO dbo.cdc_b VALUES (1, 1)`);
  await scan();
  await s.admin.request().batch(`ALTER TABLE dbo.cdc_b ADD extra varchar(10) NULL`);
  await enable('cdc_b', 'dbo_cdc_b_v2');
  await s.admin
    .request()
    .batch(`INSERT INTO dbo.cdc_b VALUES (2, 2, 'x'); UPDATE dbo.cdc_b SET extra = 'y' WHERE id = 1`);
  await scan();
  const st = new CdcStrategy(conn, await discoverTable(conn, 'dbo', 'cdc_b'));
  const w = await st.planWindow(pos);
  const batches = [];
  for await (const b of st.readWindow(w)) batches.push(b);
  const events = batches.flatMap((b) => b.rows.map((r) => [b.columns.map((c) => c.name).join(','), r.op, ...r.values]));
  assert.deepEqual(events, [
    ['id,v', 'c', 1, 1],
    ['id,v,extra', 'c', 2, 2, 'x'],
    ['id,v,extra', 'u', 1, 1, 'y'],
  ]);
  assert.equal(st.lastReadStats?.extra.instanceSegments, 2);
  pos = w.to;
  assert.equal((await st.planWindow(pos)).empty, true);
});

test('cdc: cleanup past the watermark is a ChangeLogGapError; a dropped instance is reported', async () => {
  await s.admin.request().batch(`CREATE TABLE dbo.cdc_c (id int NOT NULL PRIMARY KEY, v int NULL)`);
  await enable('cdc_c');
  const st = new CdcStrategy(conn, await discoverTable(conn, 'dbo', 'cdc_c'));
  await s.admin.request().batch(`INSERT INTO dbo.cdc_c VALUES (1, 1)`);
  await scan();
  const w1 = await poll(st, null);
  assert.equal(w1.rows.length, 1);
  await s.admin.request().batch(`INSERT INTO dbo.cdc_c VALUES (2, 2)`);
  await scan();
  await s.admin.request().batch(`INSERT INTO dbo.cdc_c VALUES (3, 3)`);
  await scan();
  await s.admin.request().batch(`EXEC sim.run_cdc_cleanup @retention_minutes = 0`);
  await assert.rejects(st.planWindow(w1.position), (e: unknown) => {
    assert.ok(e instanceof ChangeLogGapError, String(e));
    assert.equal(e.name, 'ChangeLogGapError');
    assert.match(e.message, /re-seed/);
    return true;
  });
  await s.admin
    .request()
    .batch(
      `EXEC sys.sp_cdc_disable_table @source_schema = N'dbo', @source_name = N'cdc_c', @capture_instance = N'all'`,
    );
  await assert.rejects(st.planWindow(w1.position), CaptureInstanceDroppedError);
});

test('cdc prerequisites: capture job never ran; then clean for a least-privilege reader', async () => {
  const fresh = await startSourceSim();
  try {
    await fresh.admin.request().batch(`CREATE TABLE dbo.cdc_p (id int NOT NULL PRIMARY KEY, v int NULL);
      EXEC sys.sp_cdc_enable_db;
      EXEC sys.sp_cdc_enable_table @source_schema = N'dbo', @source_name = N'cdc_p', @role_name = NULL;
      EXEC sys.sp_cdc_stop_job @job_type = N'capture';`);
    const c = await fresh.connect({
      user: SIM_CREDENTIALS.extractor.user,
      password: SIM_CREDENTIALS.extractor.password,
    });
    const r = await checkPrerequisites(c, 'dbo', 'cdc_p', { strategy: 'cdc' });
    assert.deepEqual(
      r.problems.map((p) => p.code),
      ['cdc.capture_not_running'],
    );
    assert.match(r.problems[0]!.fixSql, /sp_cdc_start_job/);
    await fresh.admin.request().batch('EXEC sys.sp_cdc_scan @maxtrans = 500, @maxscans = 10, @continuous = 0');
    assert.deepEqual((await checkPrerequisites(c, 'dbo', 'cdc_p', { strategy: 'cdc' })).problems, []);
  } finally {
    await fresh.stop();
  }
});

test('cdc: _commit_ts is mapped once per transaction, not per change row, across LSN sub-ranges', async () => {
  await s.admin.request().batch(`CREATE TABLE dbo.cdc_t (id int NOT NULL PRIMARY KEY, v int NULL)`);
  await enable('cdc_t');
  const d = await discoverTable(conn, 'dbo', 'cdc_t');
  await scan();
  const w0 = await new CdcStrategy(conn, d).planWindow(null);
  // Five transactions of 40 rows each: 200 change rows, 5 commit LSNs.
  for (let t = 0; t < 5; t++)
    await s.admin
      .request()
      .batch(
        `INSERT INTO dbo.cdc_t (id, v) SELECT ${t * 40} + n, ${t} FROM (VALUES ${Array.from({ length: 40 }, (_, i) => `(${i})`).join(', ')}) AS x(n)`,
      );
  await scan();
  const mapped = await s.admin
    .request()
    .query<{ lsn: Buffer; t: Date }>(`SELECT start_lsn AS lsn, tran_end_time AS t FROM cdc.lsn_time_mapping`);
  const byLsn = new Map(mapped.recordset.map((m) => [m.lsn.toString('hex'), BigInt(m.t.getTime()) * 1_000_000n]));
  const check = (rows: Awaited<ReturnType<typeof collect>>) => {
    assert.deepEqual(
      rows.map((r) => r.values[0]),
      Array.from({ length: 200 }, (_, i) => i),
      'every change once, in LSN order',
    );
    assert.equal(new Set(rows.map((r) => r.pos.slice(0, 20))).size, 5);
    // Rows of one transaction carry its commit time, the source's own mapping.
    for (const r of rows) assert.equal(r.commitTs, byLsn.get(r.pos.slice(0, 20)), 'the transaction commit time');
  };
  const st = new CdcStrategy(conn, d);
  const w = await st.planWindow(w0.to);
  check(await collect(st, w));
  // The source did one lsn_time_mapping seek per transaction (SQL Server runs map_lsn_to_time as one), not per row.
  const seeks = await s.admin.request().query<{ n: number }>(
    `SELECT SUM(CAST(rows_read AS int)) AS n FROM sim.statement_stats
      WHERE table_name = 'lsn_time_mapping' AND sql_text LIKE '%fn_cdc_get_all_changes_dbo_cdc_t%'`,
  );
  assert.equal(seeks.recordset[0]?.n, 5);
  // Two transactions' times per query: the same window is read in three LSN sub-ranges, with the same result.
  check(await collect(new CdcStrategy(conn, d, { commitTimesPerQuery: 2 }), w));
});
