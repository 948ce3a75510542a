import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { discoverTable } from '../../../src/source/discovery.js';
import { identityPositioner } from '../../../src/source/strategies/identity.js';
import { readChunk } from '../../../src/source/chunks.js';
import { IdentityStrategy, parseIdentityPosition } from '../../../src/source/strategies/identity.js';
import { InMemorySeenEvents, UpdatedAtStrategy } from '../../../src/source/strategies/updated-at.js';
import type { SourceConnection } from '../../../src/source/connection.js';
import type { ChangeRow } from '../../../src/source/strategies/types.js';
import { collectWithResume, poll, startSourceSim, val, type SourceSim } from '../../support/source-sim.js';

let s: SourceSim;
let conn: SourceConnection;

before(async () => {
  s = await startSourceSim();
  await s.admin.request().batch(`ALTER DATABASE Claims SET ALLOW_SNAPSHOT_ISOLATION ON;
    CREATE TABLE dbo.id_t (id bigint IDENTITY(1,1) PRIMARY KEY, note varchar(20) NULL);
    CREATE TABLE dbo.id_retry (id bigint IDENTITY(1,1) PRIMARY KEY, note varchar(20) NULL);
    CREATE TABLE dbo.id_cap (id int IDENTITY(10,5) PRIMARY KEY, note varchar(20) NULL);
    CREATE TABLE dbo.ua_t (id int NOT NULL PRIMARY KEY, note varchar(20) NULL, updated_at datetime2(7) NOT NULL);
    CREATE INDEX IX_ua_t_updated_at ON dbo.ua_t (updated_at);`);
  conn = await s.connect();
});
after(() => s?.stop());

test('identity: new rows once each; an uncommitted lower id is fenced, a rolled-back one ages out', async () => {
  const d = await discoverTable(conn, 'dbo', 'id_t');
  const st = new IdentityStrategy(conn, d, 'id', { gapTimeoutMs: 3_600_000 });
  await s.admin.request().batch(`INSERT INTO dbo.id_t (note) VALUES ('a'), ('b')`);
  const w1 = await poll(st, null);
  assert.deepEqual(
    w1.rows.map((r) => val(st, r, 'id')),
    [1n, 2n],
  );
  assert.ok(w1.rows.every((r) => r.op === 'c'));

  // Session A takes id 3 and stays open; B inserts 4 and commits; C takes 5 and rolls back; D inserts 6.
  const a = await s.session();
  const txA = a.transaction();
  await txA.begin();
  await txA.request().query(`INSERT INTO dbo.id_t (note) VALUES ('in-flight')`);
  await s.admin.request().batch(`INSERT INTO dbo.id_t (note) VALUES ('four')`);
  const c = await s.session();
  const txC = c.transaction();
  await txC.begin();
  await txC.request().query(`INSERT INTO dbo.id_t (note) VALUES ('rolled back')`);
  await txC.rollback();
  await s.admin.request().batch(`INSERT INTO dbo.id_t (note) VALUES ('six')`);

  const w2 = await poll(st, w1.position);
  assert.deepEqual(
    w2.rows.map((r) => val(st, r, 'id')),
    [4n, 6n],
  );
  const p2 = parseIdentityPosition(w2.position!);
  assert.equal(p2.highWater, 6n);
  assert.deepEqual(
    p2.gaps.map((g) => [g.lo, g.hi]),
    [
      [3n, 3n],
      [5n, 5n],
    ],
  );

  await txA.commit();
  const w3 = await poll(st, w2.position);
  assert.deepEqual(
    w3.rows.map((r) => val(st, r, 'id')),
    [3n],
    'the late commit arrives once',
  );
  assert.deepEqual(
    parseIdentityPosition(w3.position!).gaps.map((g) => [g.lo, g.hi]),
    [[5n, 5n]],
  );
  const w4 = await poll(st, w3.position);
  assert.equal(w4.window.empty, true);

  // The rolled-back id 5 is abandoned once older than the gap timeout.
  const aged = new IdentityStrategy(conn, d, 'id', { gapTimeoutMs: 0 });
  const old = w3.position!.replace(/@(\d+)/, (_m, t: string) => `@${Number(t) - 10}`);
  const w5 = await poll(aged, old);
  assert.equal(w5.window.empty, false, 'an aged gap makes a window, so the position moves past it');
  assert.equal(aged.lastReadStats?.extra.gapsAbandoned, 1);
  assert.equal(parseIdentityPosition(w5.position!).gaps.length, 0);
  assert.deepEqual(w5.rows, []);
  await a.close();
  await c.close();
});

test('updated_at: overlap finds a late commit stamped in the past; overlap re-reads are de-duplicated', async () => {
  const d = await discoverTable(conn, 'dbo', 'ua_t');
  const seen = new InMemorySeenEvents();
  const st = new UpdatedAtStrategy(conn, d, 'updated_at', { lookbackMs: 15 * 60_000, safetyLagMs: 0, seen });
  const remember = (rows: ChangeRow[]) => rows.forEach((r) => seen.add(st.keyOf(r.values), r.pos));
  await s.admin
    .request()
    .batch(
      `INSERT INTO dbo.ua_t VALUES (1, 'a', DATEADD(second, -5, SYSUTCDATETIME())), (2, 'b', DATEADD(second, -5, SYSUTCDATETIME()))`,
    );
  const w1 = await poll(st, null);
  assert.deepEqual(w1.rows.map((r) => val(st, r, 'id')).sort(), [1, 2]);
  remember(w1.rows);

  // A transaction stamps updated_at before the window's bound but commits after it was read.
  const a = await s.session();
  const tx = a.transaction();
  await tx.begin();
  await tx.request().query(`INSERT INTO dbo.ua_t VALUES (3, 'late', DATEADD(second, -2, SYSUTCDATETIME()))`);
  await s.admin.request().batch(`UPDATE dbo.ua_t SET note = 'b2', updated_at = SYSUTCDATETIME() WHERE id = 2`);
  await new Promise((r) => setTimeout(r, 20));
  const w2 = await poll(st, w1.position);
  assert.deepEqual(
    w2.rows.map((r) => [val(st, r, 'id'), val(st, r, 'note')]),
    [[2, 'b2']],
  );
  remember(w2.rows);
  await tx.commit();
  // A 30-day-late update: an old row touched today.
  await s.admin.request().batch(`INSERT INTO dbo.ua_t VALUES (4, 'old', DATEADD(day, -30, SYSUTCDATETIME()));
     UPDATE dbo.ua_t SET note = 'old2', updated_at = SYSUTCDATETIME() WHERE id = 4`);
  await new Promise((r) => setTimeout(r, 20));
  const w3 = await poll(st, w2.position);
  assert.deepEqual(w3.rows.map((r) => [val(st, r, 'id'), val(st, r, 'note')]).sort(), [
    [3, 'late'],
    [4, 'old2'],
  ]);
  assert.ok((st.lastReadStats?.duplicatesDropped ?? 0) >= 1, 'row 2 was re-read in the overlap and dropped');
  await a.close();
});

test('identity snapshot reads sort after every insert event of their keys; positions are lake-valid hex', async () => {
  const d = await discoverTable(conn, 'dbo', 'id_t');
  const rows: ChangeRow[] = [];
  for await (const b of readChunk(conn, d, {
    limit: 100,
    positioner: identityPositioner('[dbo].[id_t]', 'id'),
  }))
    rows.push(...b.rows);
  assert.ok(rows.length > 0);
  for (const r of rows) assert.match(r.pos, /^[0-9a-f]{40}$/);
  const st = new IdentityStrategy(conn, d, 'id');
  const ids = rows.map((r) => r.values[st.columns.findIndex((c) => c.name === 'id')] as bigint);
  rows.forEach((r, i) => assert.ok(r.pos > ids[i]!.toString().padStart(20, '0')));
});

test('identity: a retried read that sees a late commit emits it or lists it as a gap, never both, never neither', async () => {
  const d = await discoverTable(conn, 'dbo', 'id_retry');
  const st = new IdentityStrategy(conn, d, 'id');
  await s.admin.request().batch(`INSERT INTO dbo.id_retry (note) VALUES ('a'), ('b')`);
  const w1 = await poll(st, null);
  // Session A holds id 3 open; 4 and 5 commit. The plan fixes the bound at 5 with one seek.
  const a = await s.session();
  const txA = a.transaction();
  await txA.begin();
  await txA.request().query(`INSERT INTO dbo.id_retry (note) VALUES ('late')`);
  await s.admin.request().batch(`INSERT INTO dbo.id_retry (note) VALUES ('four'), ('five')`);
  const w2 = await st.planWindow(w1.position);
  assert.equal(parseIdentityPosition(w2.to).highWater, 5n);
  const before = await collectWithResume(st, w2);
  await txA.commit();
  const retried = await collectWithResume(st, w2);
  await a.close();
  const ids = (rows: ChangeRow[]) => rows.map((r) => val(st, r, 'id'));
  assert.deepEqual(ids(before.rows), [4n, 5n]);
  assert.deepEqual(
    parseIdentityPosition(before.resumePosition).gaps.map((g) => [g.lo, g.hi]),
    [[3n, 3n]],
  );
  assert.deepEqual(ids(retried.rows), [3n, 4n, 5n]);
  assert.equal(retried.resumePosition, '00000000000000000005');
  // Whichever attempt's files commit, the next window continues from that attempt's position: id 3 exactly once.
  const afterFirst = await poll(st, before.resumePosition);
  assert.deepEqual(ids(afterFirst.rows), [3n]);
  assert.equal(afterFirst.position, '00000000000000000005');
  const afterRetry = await poll(st, retried.resumePosition);
  assert.equal(afterRetry.window.empty, true);
});

test('identity: a window is capped at maxRowsPerWindow ids and says there is more; the increment is honoured', async () => {
  const d = await discoverTable(conn, 'dbo', 'id_cap');
  await s.admin.request().batch(`INSERT INTO dbo.id_cap (note) VALUES ('a'), ('b'), ('c'), ('d'), ('e')`);
  const st = new IdentityStrategy(conn, d, 'id', { maxRowsPerWindow: 2 });
  const seen: unknown[] = [];
  const mores: boolean[] = [];
  // From the id before the seed (10, step 5), as after a load that ended there (planWindow(null) is a full
  // load's start: uncapped).
  let position: string | null = '00000000000000000005';
  for (let i = 0; i < 5; i++) {
    const w = await poll(st, position);
    if (w.window.empty) break;
    mores.push(w.window.more === true);
    seen.push(...w.rows.map((r) => val(st, r, 'id')));
    position = w.position;
    assert.equal(parseIdentityPosition(position!).gaps.length, 0, 'ids 10, 15, 20 … have no gaps');
  }
  assert.deepEqual(seen, [10, 15, 20, 25, 30]);
  assert.deepEqual(mores, [true, true, false]);
  assert.equal(seen.length, 5);
});
