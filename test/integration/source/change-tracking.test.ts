import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { discoverTable } from '../../../src/source/discovery.js';
import { ChangeTrackingStrategy } from '../../../src/source/strategies/change-tracking.js';
import { checkPrerequisites } from '../../../src/source/prerequisites.js';
import { ChangeLogGapError, PrerequisiteError, ReadableSecondaryError } from '../../../src/source/errors.js';
import sql from 'mssql';
import { SIM_CREDENTIALS, startSimulator } from '../../../sim/index.js';
import { SourceConnection } from '../../../src/source/connection.js';
import { collect, poll, startSourceSim, val, type SourceSim } from '../../support/source-sim.js';

let s: SourceSim;
let conn: SourceConnection;

before(async () => {
  s = await startSourceSim();
  await s.admin.request()
    .batch(`ALTER DATABASE Claims SET CHANGE_TRACKING = ON (CHANGE_RETENTION = 2 DAYS, AUTO_CLEANUP = ON);
    CREATE TABLE dbo.ct_t (id int NOT NULL PRIMARY KEY, note varchar(20) NULL);
    ALTER TABLE dbo.ct_t ENABLE CHANGE_TRACKING;`);
  conn = await s.connect();
});
after(() => s?.stop());

test('change tracking: snapshot isolation off is a prerequisite error with its fix', async () => {
  const d = await discoverTable(conn, 'dbo', 'ct_t');
  assert.equal(d.changeTracking.enabled, true);
  assert.equal(d.database.changeTracking?.retentionMinutes, 2880);
  const r = await checkPrerequisites(conn, 'dbo', 'ct_t', { strategy: 'change_tracking' });
  assert.ok(r.problems.some((p) => p.code === 'ct.snapshot_off' && /ALLOW_SNAPSHOT_ISOLATION ON/.test(p.fixSql)));
  const st = new ChangeTrackingStrategy(conn, d);
  await assert.rejects(st.planWindow(null), PrerequisiteError);
  await s.admin.request().batch('ALTER DATABASE Claims SET ALLOW_SNAPSHOT_ISOLATION ON');
});

test('change tracking: inserts, updates, deletes (key only), late update, in-flight commit — once each', async () => {
  const d = await discoverTable(conn, 'dbo', 'ct_t');
  const st = new ChangeTrackingStrategy(conn, d);
  const start = await st.planWindow(null);
  let pos = start.to;
  await s.admin.request().batch(`INSERT INTO dbo.ct_t VALUES (1, 'a'), (2, 'b'), (3, 'c')`);
  await s.admin.request().batch(`UPDATE dbo.ct_t SET note = 'b2' WHERE id = 2; DELETE FROM dbo.ct_t WHERE id = 3;`);
  const w1 = await poll(st, pos);
  // Net changes relative to the baseline: 1 and 2 inserted (2 with its final value); 3 inserted then deleted.
  const got = w1.rows
    .map((r) => [r.op, val(st, r, 'id'), val(st, r, 'note')])
    .sort((a, b) => Number(a[1]) - Number(b[1]));
  assert.deepEqual(got, [
    ['c', 1, 'a'],
    ['c', 2, 'b2'],
    ['d', 3, null],
  ]);
  assert.ok(w1.rows.every((r) => /^\d{20}$/.test(r.pos) && r.pos <= w1.window.to));
  pos = w1.position!;

  // A transaction that commits after planning lands in the next window, not lost and not twice.
  const a = await s.session();
  const tx = a.transaction();
  await tx.begin();
  await tx.request().query(`UPDATE dbo.ct_t SET note = 'late' WHERE id = 1`);
  const w2 = await st.planWindow(pos);
  assert.equal(w2.empty, true);
  await tx.commit();
  await s.admin.request().batch(`DELETE FROM dbo.ct_t WHERE id = 2`);
  const w3plan = await st.planWindow(pos);
  await s.admin.request().batch(`INSERT INTO dbo.ct_t VALUES (4, 'after plan')`);
  const w3 = await collect(st, w3plan);
  assert.deepEqual(
    w3.map((r) => [r.op, val(st, r, 'id'), val(st, r, 'note')]),
    [
      ['u', 1, 'late'],
      ['d', 2, null],
    ],
  );
  const w4 = await poll(st, w3plan.to);
  assert.deepEqual(
    w4.rows.map((r) => [r.op, val(st, r, 'id')]),
    [['c', 4]],
  );
  await a.close();
});

test('change tracking: retention past the watermark is a ChangeLogGapError', async () => {
  const d = await discoverTable(conn, 'dbo', 'ct_t');
  const st = new ChangeTrackingStrategy(conn, d);
  const w = await poll(st, null);
  await s.admin
    .request()
    .batch(`UPDATE dbo.ct_t SET note = 'x' WHERE id = 1; UPDATE dbo.ct_t SET note = 'y' WHERE id = 4;`);
  await s.admin.request().batch('EXEC sim.run_change_tracking_cleanup @retention_minutes = 0');
  await assert.rejects(st.planWindow(w.position ?? w.window.to), (e: unknown) => {
    assert.ok(e instanceof ChangeLogGapError, String(e));
    assert.equal(e.strategy, 'change_tracking');
    return true;
  });
});

test('change tracking: missing VIEW CHANGE TRACKING is a prerequisite error with its GRANT', async () => {
  const extractor = await s.connect({
    user: SIM_CREDENTIALS.extractor.user,
    password: SIM_CREDENTIALS.extractor.password,
  });
  const before = await checkPrerequisites(extractor, 'dbo', 'ct_t', { strategy: 'change_tracking' });
  const p = before.problems.find((x) => x.code === 'permission.view_change_tracking');
  assert.ok(p, JSON.stringify(before.problems));
  assert.equal(p.fixSql, 'GRANT VIEW CHANGE TRACKING ON [dbo].[ct_t] TO [tidemark_extractor];');
  await s.admin.request().batch(p.fixSql);
  const after = await checkPrerequisites(extractor, 'dbo', 'ct_t', { strategy: 'change_tracking' });
  assert.deepEqual(after.problems, []);
  assert.equal(after.ok, true);
});

// Last in the file: a second simulator in this process re-registers the simulator's CT catalog views (a
// module-level registry), after which the first simulator's sys.change_tracking_tables reads empty.
test('change tracking: a login routed to a readable secondary gets a clear ReadableSecondaryError (22117)', async () => {
  const d = await discoverTable(conn, 'dbo', 'ct_t');
  // Read intent: the listener routes the login to the readable secondary, where CT fails with 22117.
  const ag = await startSimulator({ port: 0, secondary: {} });
  try {
    await ag.engine.admin.execute(
      `ALTER DATABASE Claims SET ALLOW_SNAPSHOT_ISOLATION ON;
      ALTER DATABASE Claims SET CHANGE_TRACKING = ON (CHANGE_RETENTION = 2 DAYS, AUTO_CLEANUP = ON);
      CREATE TABLE dbo.ct_t (id int NOT NULL PRIMARY KEY, note varchar(20) NULL);
      ALTER TABLE dbo.ct_t ENABLE CHANGE_TRACKING;`,
      { database: 'Claims' },
    );
    const pool = await new sql.ConnectionPool({
      server: ag.host,
      port: ag.port,
      user: SIM_CREDENTIALS.extractor.user,
      password: SIM_CREDENTIALS.extractor.password,
      database: 'Claims',
      options: { encrypt: false, trustServerCertificate: true, readOnlyIntent: true, appName: 'tidemark' },
    }).connect();
    const onSecondary = new SourceConnection(pool, { maxConcurrentQueries: 2, maxRowsPerSecond: 1e9 });
    try {
      await assert.rejects(new ChangeTrackingStrategy(onSecondary, d).planWindow(null), (e: unknown) => {
        assert.ok(e instanceof ReadableSecondaryError, String(e));
        assert.match(e.message, /readOnlyIntent: false/);
        return true;
      });
    } finally {
      await onSecondary.close();
    }
  } finally {
    await ag.stop();
  }
});
