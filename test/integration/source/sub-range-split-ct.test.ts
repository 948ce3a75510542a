/**
 * Change Tracking sub-ranges (issue 14) against the simulator over TCP: a window of inserts, updates and deletes
 * split at change versions reads, over its sub-ranges, every key of the whole read once, at the same position and
 * with the same values; the one difference is the documented one — a key inserted before a sub-range's lower
 * bound and updated within it is `u` where the whole window says `c` (its operation is relative to the read's
 * lower bound, as at any window boundary).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { discoverTable } from '../../../src/source/discovery.js';
import { ChangeTrackingStrategy } from '../../../src/source/strategies/change-tracking.js';
import type { SourceConnection } from '../../../src/source/connection.js';
import type { ChangeRow } from '../../../src/source/index.js';
import { coversWindow } from '../../../src/domain/sub-ranges.js';
import { collect, startSourceSim, type SourceSim } from '../../support/source-sim.js';

let s: SourceSim;
let conn: SourceConnection;

before(async () => {
  s = await startSourceSim();
  await s.admin.request()
    .batch(`ALTER DATABASE Claims SET CHANGE_TRACKING = ON (CHANGE_RETENTION = 2 DAYS, AUTO_CLEANUP = ON);
    ALTER DATABASE Claims SET ALLOW_SNAPSHOT_ISOLATION ON;
    CREATE TABLE dbo.ct_split (id int NOT NULL PRIMARY KEY, note varchar(20) NULL);
    ALTER TABLE dbo.ct_split ENABLE CHANGE_TRACKING;`);
  conn = await s.connect();
});
after(() => s?.stop());

/** The simulator's last statement id (its accounting, `sim.statement_stats`). */
async function lastStatement(): Promise<number> {
  const r = await s.admin
    .request()
    .query<{ m: number | null }>('SELECT MAX(statement_id) AS m FROM sim.statement_stats');
  return Number(r.recordset[0]?.m ?? 0);
}

/** How many statements of the extractor's connection read the change table since `mark`. */
async function changeTableQueriesSince(mark: number): Promise<number> {
  const r = await s.admin
    .request()
    .query<{ sql_text: string }>(
      `SELECT DISTINCT statement_id, sql_text FROM sim.statement_stats WHERE statement_id > ${mark}`,
    );
  return r.recordset.filter((x) => /CHANGETABLE\s*\(\s*CHANGES/i.test(x.sql_text)).length;
}

const byKey = (rows: ChangeRow[]) => new Map(rows.map((r) => [String(r.values[0] as number), r]));

test('change tracking: a window split at change versions reads every key once, at its position and state', async () => {
  const st = new ChangeTrackingStrategy(conn, await discoverTable(conn, 'dbo', 'ct_split'));
  const start = await st.planWindow(null);
  // 3,000 keys inserted in transactions of 100 (one version each); then keys 1–50 updated and 2,951–3,000
  // deleted, each in one transaction at the window's end.
  for (let i = 0; i < 3000; i += 100) {
    const ids = Array.from({ length: 100 }, (_v, k) => i + k + 1);
    await s.admin
      .request()
      .batch(`INSERT INTO dbo.ct_split (id, note) VALUES ${ids.map((id) => `(${id}, 'new')`).join(', ')}`);
  }
  await s.admin.request().batch(`UPDATE dbo.ct_split SET note = 'changed' WHERE id <= 50`);
  await s.admin.request().batch(`DELETE FROM dbo.ct_split WHERE id > 2950`);
  const w = await st.planWindow(start.to);
  assert.equal(w.empty, false);
  const whole = await collect(st, w);
  assert.equal(whole.length, 3000, 'one row per changed key');
  assert.equal(await st.planSubRanges(w, whole.length, 32), undefined, 'at the threshold: read whole');

  const mark = await lastStatement();
  const ranges = await st.planSubRanges(w, 1000, 32);
  assert.ok(ranges, 'the window is split');
  // Before (branch i14-tidy2): the capped count, the window's count and the cuts — three reads of the change table.
  assert.equal(await changeTableQueriesSince(mark), 2, 'the capped count and the cuts');
  assert.ok(ranges.length >= 3, `${ranges.length} sub-ranges`);
  assert.ok(coversWindow(w.from, w.to, ranges), 'contiguous, from the window start to its end');
  const parts: ChangeRow[][] = [];
  for (const r of ranges) parts.push(await collect(st, { ...w, from: r.from, to: r.to }));
  const split = parts.flat();
  assert.equal(split.length, whole.length, 'every key once over the sub-ranges');

  const a = byKey(whole);
  const b = byKey(split);
  assert.equal(b.size, a.size, 'no key twice');
  const relabelled: string[] = [];
  for (const [key, w1] of a) {
    const s1 = b.get(key);
    assert.ok(s1, `key ${key} read`);
    assert.equal(s1.pos, w1.pos, `key ${key}: same position`);
    assert.deepEqual(s1.values, w1.values, `key ${key}: same state`);
    if (s1.op !== w1.op) {
      assert.deepEqual([w1.op, s1.op], ['c', 'u'], `key ${key}: only c → u differs`);
      relabelled.push(key);
    }
  }
  // Keys 1–50: inserted in the first transaction, updated in the last sub-range: `c` whole, `u` split. The
  // deletes are `d` either way; every other key is `c` either way.
  assert.deepEqual(
    relabelled.map(Number).sort((x, y) => x - y),
    Array.from({ length: 50 }, (_v, i) => i + 1),
  );
  assert.equal(split.filter((r) => r.op === 'd').length, whole.filter((r) => r.op === 'd').length);
  // A window needing more than the most sub-ranges (30 of 100 keys, at most 8): every k-th cut is kept, and the
  // sub-ranges still read every key once.
  const capped = await st.planSubRanges(w, 100, 8);
  assert.ok(capped && capped.length <= 8 && capped.length >= 4, `${capped?.length} sub-ranges (at most 8)`);
  assert.ok(coversWindow(w.from, w.to, capped), 'contiguous, from the window start to its end');
  let keys = 0;
  for (const r of capped) keys += (await collect(st, { ...w, from: r.from, to: r.to })).length;
  assert.equal(keys, whole.length, 'every key once over the capped sub-ranges');
  // Each version (one transaction) lies in one sub-range.
  const versionPart = new Map<string, number>();
  parts.forEach((p, k) =>
    p.forEach((r) => {
      assert.equal(versionPart.get(r.pos) ?? k, k, `version ${r.pos} split between sub-ranges`);
      versionPart.set(r.pos, k);
    }),
  );
});
