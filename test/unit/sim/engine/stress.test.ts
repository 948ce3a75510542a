/**
 * A seeded random workload over several sessions (transactions that commit or roll back, updates that move
 * secondary-index keys, deletes and re-inserts) checked against a model of the committed state; a snapshot
 * reader must see the same rows throughout its transaction while version pruning runs underneath.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IsolationLevel, engineWithClaims, connect, run, collect } from './helpers.js';
import { prng } from '../../../../sim/seed.js';
import type { SqlValue } from '../../../../sim/engine/api.js';

test('random transactions keep storage, indexes and snapshots consistent', async () => {
  const e = engineWithClaims();
  const admin = await connect(e);
  await run(
    admin,
    `ALTER DATABASE Claims SET ALLOW_SNAPSHOT_ISOLATION ON;
     CREATE TABLE dbo.S (id int PRIMARY KEY, grp int NOT NULL, v int NOT NULL, rv rowversion);
     CREATE INDEX IX_S_grp ON dbo.S (grp);
     CREATE INDEX IX_S_rv ON dbo.S (rv);`,
  );
  const rnd = prng(1234);
  const model = new Map<number, { grp: number; v: number }>();
  const sessions = await Promise.all([connect(e), connect(e), connect(e)]);
  const snap = await connect(e);
  await collect(snap.beginTransaction(IsolationLevel.Snapshot, ''));
  const snapRows = async (): Promise<string> => {
    const r = await run(snap, 'SELECT id, grp, v FROM dbo.S ORDER BY id');
    return JSON.stringify(r.sets[0], (_k, x: unknown) => (typeof x === 'bigint' ? Number(x) : x));
  };
  const snapshotAtStart = await snapRows();
  for (let round = 0; round < 60; round++) {
    const s = sessions[round % sessions.length] as (typeof sessions)[number];
    const pending = new Map(model);
    const stmts: string[] = ['BEGIN TRAN'];
    for (let k = 0; k < 5; k++) {
      const id = Math.floor(rnd() * 40);
      const op = rnd();
      if (op < 0.4 && !pending.has(id)) {
        const grp = Math.floor(rnd() * 5);
        stmts.push(`INSERT INTO dbo.S (id, grp, v) VALUES (${id}, ${grp}, ${k})`);
        pending.set(id, { grp, v: k });
      } else if (op < 0.8 && pending.has(id)) {
        const grp = Math.floor(rnd() * 5);
        stmts.push(`UPDATE dbo.S SET grp = ${grp}, v = v + 1 WHERE id = ${id}`);
        const cur = pending.get(id) as { grp: number; v: number };
        pending.set(id, { grp, v: cur.v + 1 });
      } else if (pending.has(id)) {
        stmts.push(`DELETE FROM dbo.S WHERE id = ${id}`);
        pending.delete(id);
      }
    }
    const commit = rnd() < 0.7;
    stmts.push(commit ? 'COMMIT' : 'ROLLBACK');
    const r = await run(s, stmts.join('; '));
    assert.deepEqual(r.errors, [], stmts.join('; '));
    if (commit) {
      model.clear();
      for (const [k, v] of pending) model.set(k, v);
    }
    // Every access path agrees with the model.
    const expected = [...model.entries()].sort((a, b) => a[0] - b[0]).map(([id, x]) => [id, x.grp, x.v]);
    const toNums = (rows: SqlValue[][] | undefined) => (rows ?? []).map((row) => row.map((x) => Number(x)));
    const byPk = toNums((await run(admin, 'SELECT id, grp, v FROM dbo.S ORDER BY id')).sets[0]);
    assert.deepEqual(byPk, expected);
    for (let g = 0; g < 5; g++) {
      const byGrp = toNums((await run(admin, `SELECT id, grp, v FROM dbo.S WHERE grp = ${g} ORDER BY id`)).sets[0]);
      assert.deepEqual(
        byGrp,
        expected.filter((x) => x[1] === g),
        `grp ${g}`,
      );
    }
    const byRv = await run(admin, 'SELECT COUNT(*) FROM dbo.S WHERE rv > 0x0000000000000000');
    assert.equal(Number(byRv.sets[0]?.[0]?.[0]), expected.length);
    assert.equal(await snapRows(), snapshotAtStart, 'the snapshot is stable');
  }
  await collect(snap.endTransaction(true, ''));
  assert.notEqual(await snapRows(), snapshotAtStart);
});

test('concurrent writers with lock waits and deadlocks leave every access path in agreement', async () => {
  const e = engineWithClaims();
  const admin = await connect(e);
  await run(
    admin,
    'CREATE TABLE dbo.C (id int PRIMARY KEY, grp int NOT NULL, v int NOT NULL); CREATE INDEX IX_C_grp ON dbo.C (grp, v);',
  );
  const allowed = new Set([2627, 1205]);
  const worker = async (seed: number): Promise<number[]> => {
    const s = await connect(e);
    const rnd = prng(seed);
    const seen: number[] = [];
    for (let t = 0; t < 40; t++) {
      const ops: string[] = ['BEGIN TRAN'];
      for (let k = 0; k < 4; k++) {
        const id = Math.floor(rnd() * 12);
        const r = rnd();
        if (r < 0.35) ops.push(`INSERT INTO dbo.C (id, grp, v) VALUES (${id}, ${Math.floor(rnd() * 3)}, 0)`);
        else if (r < 0.8) ops.push(`UPDATE dbo.C SET grp = ${Math.floor(rnd() * 3)}, v = v + 1 WHERE id = ${id}`);
        else ops.push(`DELETE FROM dbo.C WHERE id = ${id}`);
      }
      ops.push(rnd() < 0.8 ? 'COMMIT' : 'ROLLBACK');
      const out = await run(s, ops.join('; '));
      for (const err of out.errors) {
        seen.push(err.number);
        assert.ok(allowed.has(err.number), `${err.number}: ${err.message}`);
      }
      // A statement error (2627) leaves the transaction open: end it like a client would.
      await run(s, 'IF @@TRANCOUNT > 0 ROLLBACK');
    }
    return seen;
  };
  const errors = (await Promise.all([worker(11), worker(12), worker(13)])).flat();
  const toNums = (rows: SqlValue[][] | undefined) => (rows ?? []).map((row) => row.map((x) => Number(x)));
  const byPk = toNums((await run(admin, 'SELECT id, grp, v FROM dbo.C ORDER BY id')).sets[0]);
  const viaIndex = [];
  for (let g = 0; g < 3; g++)
    viaIndex.push(...toNums((await run(admin, `SELECT id, grp, v FROM dbo.C WHERE grp = ${g}`)).sets[0]));
  viaIndex.sort((a, b) => (a[0] ?? 0) - (b[0] ?? 0));
  assert.deepEqual(viaIndex, byPk);
  assert.equal(e.admin.sessions().filter((x) => x.txn).length, 0, 'no transaction left open');
  assert.ok(errors.includes(2627), 'the workload collides on keys');
});
