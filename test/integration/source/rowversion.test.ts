import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { discoverTable } from '../../../src/source/discovery.js';
import { RowversionStrategy } from '../../../src/source/strategies/rowversion.js';
import { SourceThrottle } from '../../../src/source/throttle.js';
import type { SourceConnection } from '../../../src/source/connection.js';
import { poll, startSourceSim, val, type SourceSim } from '../../support/source-sim.js';

let s: SourceSim;
let conn: SourceConnection;

before(async () => {
  s = await startSourceSim();
  await s.admin.request().batch(`ALTER DATABASE Claims SET ALLOW_SNAPSHOT_ISOLATION ON;
    CREATE TABLE dbo.rv_t (id int NOT NULL PRIMARY KEY, note varchar(20) NULL, rv rowversion NOT NULL);
    CREATE INDEX IX_rv_t_rv ON dbo.rv_t (rv);`);
  conn = await s.connect();
});
after(() => s?.stop());

test('rowversion: inserts, updates and a 30-day-late update; nothing lost or duplicated', async () => {
  const d = await discoverTable(conn, 'dbo', 'rv_t');
  const st = new RowversionStrategy(conn, d, 'rv');
  assert.ok(st.indexed);
  await s.admin.request().batch(`INSERT INTO dbo.rv_t (id, note) VALUES (1, 'a'), (2, 'b'), (3, 'c')`);
  const w1 = await poll(st, null);
  assert.deepEqual(w1.rows.map((r) => val(st, r, 'id')).sort(), [1, 2, 3]);
  assert.ok(w1.rows.every((r) => r.op === 'u' && /^[0-9a-f]{16}$/.test(r.pos)));
  const empty = await poll(st, w1.position);
  assert.equal(empty.window.empty, true);
  await s.admin.request().batch(`UPDATE dbo.rv_t SET note = 'late' WHERE id = 1`);
  const w2 = await poll(st, w1.position);
  assert.deepEqual(
    w2.rows.map((r) => [val(st, r, 'id'), val(st, r, 'note')]),
    [[1, 'late']],
  );
  assert.ok(w2.rows[0]!.pos > w1.rows.find((r) => val(st, r, 'id') === 1)!.pos, 'later version orders later');
});

test('rowversion: an uncommitted lower rowversion is not passed over (MIN_ACTIVE_ROWVERSION fence)', async () => {
  const d = await discoverTable(conn, 'dbo', 'rv_t');
  const st = new RowversionStrategy(conn, d, 'rv');
  const start = await st.planWindow(null);
  let pos: string | null = start.empty ? null : start.to;
  const oltp = await s.session();
  const tx = oltp.transaction();
  await tx.begin();
  await tx.request().query(`INSERT INTO dbo.rv_t (id, note) VALUES (100, 'in-flight')`);
  await s.admin.request().batch(`INSERT INTO dbo.rv_t (id, note) VALUES (101, 'committed')`);
  const w = await poll(st, pos);
  assert.deepEqual(
    w.rows.map((r) => val(st, r, 'id')),
    [],
    'nothing at or after the open transaction',
  );
  pos = w.position;
  await tx.commit();
  const w2 = await poll(st, pos);
  assert.deepEqual(w2.rows.map((r) => val(st, r, 'id')).sort(), [100, 101]);
  const w3 = await poll(st, w2.position);
  assert.equal(w3.window.empty, true, 'no duplicates');
  await oltp.close();
});

test('rowversion: the table rows/s cap slows the read and reports it; queries carry MAXDOP 1', async () => {
  await s.admin.request().batch(`DECLARE @i int = 1000;
    WHILE @i < 4000 BEGIN INSERT INTO dbo.rv_t (id, note) VALUES (@i, 'bulk'); SET @i += 1; END`);
  const d = await discoverTable(conn, 'dbo', 'rv_t');
  const limiter = new SourceThrottle({ maxConcurrentQueries: 1, maxRowsPerSecond: 1000 });
  const st = new RowversionStrategy(conn, d, 'rv', { rowLimiter: limiter, batchRows: 500 });
  const w = await poll(st, null);
  assert.ok(w.rows.length >= 3000);
  assert.equal(limiter.stats.rows, w.rows.length);
  assert.ok(limiter.stats.rateWaitMs > 0, 'the cap made the read wait');
  const texts = s.sim.engine.admin
    .statementStats()
    .map((x) => x.text)
    .filter((t) => t.includes('FROM [dbo].[rv_t]'));
  assert.ok(texts.length > 0 && texts.every((t) => /OPTION \(MAXDOP 1\)/.test(t) && !/NOLOCK|READPAST/i.test(t)));
});
