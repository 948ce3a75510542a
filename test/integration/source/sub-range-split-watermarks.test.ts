/**
 * Sub-ranges of the watermark strategies (issue 14) against the simulator over TCP: an updated_at window cut at
 * timestamps and an identity window cut at ids, each read sub-range by sub-range with the window's bounds
 * (`partOf`, as the capture engine passes them), give the events of the whole read — the same (key, position)
 * pairs, each once — and, applied on what the lake held before, the source's rows.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { discoverTable } from '../../../src/source/discovery.js';
import { InMemorySeenEvents, UpdatedAtStrategy } from '../../../src/source/strategies/updated-at.js';
import { IdentityStrategy, parseIdentityPosition } from '../../../src/source/strategies/identity.js';
import { textToTicks, ticksToText } from '../../../src/source/ticks.js';
import type { SourceConnection } from '../../../src/source/connection.js';
import type { ChangeRow, SourceWindow } from '../../../src/source/index.js';
import type { SubRange } from '../../../src/domain/window.js';
import { coversWindow } from '../../../src/domain/sub-ranges.js';
import { collect, collectWithResume, startSourceSim, type SourceSim } from '../../support/source-sim.js';

let s: SourceSim;
let conn: SourceConnection;

before(async () => {
  s = await startSourceSim();
  await s.admin.request().batch(`ALTER DATABASE Claims SET ALLOW_SNAPSHOT_ISOLATION ON;
    CREATE TABLE dbo.ua_split (id int NOT NULL PRIMARY KEY, note varchar(20) NULL, updated_at datetime2(7) NOT NULL);
    CREATE INDEX IX_ua_split_updated_at ON dbo.ua_split (updated_at);
    CREATE TABLE dbo.id_split (id int IDENTITY(1,1) PRIMARY KEY, note varchar(20) NULL);`);
  conn = await s.connect();
});
after(() => s?.stop());

/** Each sub-range read as the capture engine reads it: its own bounds, and the window's as `partOf`. */
async function readParts(
  read: (w: SourceWindow) => Promise<ChangeRow[]>,
  w: SourceWindow,
  ranges: readonly SubRange[],
): Promise<ChangeRow[][]> {
  const parts: ChangeRow[][] = [];
  for (const r of ranges) parts.push(await read({ ...w, from: r.from, to: r.to, partOf: { from: w.from, to: w.to } }));
  return parts;
}

const keyPos = (rows: readonly ChangeRow[]) => rows.map((r) => `${r.values[0] as number}@${r.pos}`).sort();

/** The latest event per key by position (what every reader of the lake takes), as `id → note`. */
function latest(rows: readonly ChangeRow[]): Map<number, unknown> {
  const best = new Map<number, ChangeRow>();
  for (const r of rows) {
    const id = r.values[0] as number;
    const b = best.get(id);
    if (!b || r.pos > b.pos) best.set(id, r);
  }
  return new Map([...best].map(([id, r]) => [id, r.values[1]]));
}

async function insertStamped(rows: readonly { id: number; note: string; ticks: bigint }[]): Promise<void> {
  for (let i = 0; i < rows.length; i += 500) {
    const values = rows
      .slice(i, i + 500)
      .map((r) => `(${r.id}, '${r.note}', '${ticksToText(r.ticks)}')`)
      .join(', ');
    await s.admin.request().batch(`INSERT INTO dbo.ua_split (id, note, updated_at) VALUES ${values}`);
  }
}

test('updated_at: a window cut at timestamps reads every row version once, ties at a cut in one sub-range, the overlap de-duplicated across sub-ranges', async () => {
  const d = await discoverTable(conn, 'dbo', 'ua_split');
  const seen = new InMemorySeenEvents();
  const st = new UpdatedAtStrategy(conn, d, 'updated_at', { lookbackMs: 15 * 60_000, safetyLagMs: 0, seen });
  const now = async () =>
    textToTicks(
      (await s.admin.request().query<{ t: string }>('SELECT CONVERT(varchar(27), SYSUTCDATETIME(), 121) AS t'))
        .recordset[0]!.t,
    );
  // Window 1: ten rows stamped a minute ago; the lake holds them (the de-duplication index remembers them).
  const t0 = await now();
  await insertStamped(Array.from({ length: 10 }, (_v, i) => ({ id: i + 1, note: 'first', ticks: t0 - 600_000_000n })));
  const w1 = await st.planWindow(null);
  const lake = await collect(st, w1);
  assert.equal(lake.length, 10);
  lake.forEach((r) => seen.add(st.keyOf(r.values), r.pos));

  // Window 2's backlog, all stamped after window 1's bound: key 1 updated first; 800 rows; 700 rows sharing ONE
  // timestamp (the threshold's 1,000th row falls among them: a cut at that timestamp); 2,200 rows after them.
  // Then a late commit: a new key stamped 10 s before window 1's bound (in window 2's overlap).
  await sleep(5);
  const base = await now();
  await s.admin
    .request()
    .batch(`UPDATE dbo.ua_split SET note = 'updated', updated_at = '${ticksToText(base + 5n)}' WHERE id = 1`);
  const tie = base + 10_000n;
  await insertStamped([
    ...Array.from({ length: 800 }, (_v, i) => ({ id: 1001 + i, note: 'before', ticks: base + 10n + BigInt(i) * 10n })),
    ...Array.from({ length: 700 }, (_v, i) => ({ id: 2001 + i, note: 'tie', ticks: tie })),
    ...Array.from({ length: 2200 }, (_v, i) => ({ id: 3001 + i, note: 'after', ticks: tie + 10n + BigInt(i) * 10n })),
  ]);
  const w1To = BigInt(w1.to.slice(0, 20));
  await insertStamped([{ id: 9999, note: 'late', ticks: w1To - 100_000_000n }]);
  await sleep(20);

  const w2 = await st.planWindow(w1.to);
  assert.equal(w2.empty, false);
  const whole = await collect(st, w2);
  const wholeDropped = st.lastReadStats!.duplicatesDropped;
  assert.equal(whole.length, 3702, 'the backlog, key 1 updated and the late row (the overlap re-reads dropped)');
  assert.equal(wholeDropped, 9, "window 1's rows 2–10, re-read by the overlap, dropped");
  assert.equal(await st.planSubRanges(w2, 3701, 32), undefined, 'at the threshold: read whole');

  const ranges = await st.planSubRanges(w2, 1000, 32);
  assert.ok(ranges, 'the window is split');
  assert.equal(ranges.length, 4, `${ranges.length} sub-ranges`);
  assert.ok(coversWindow(w2.from, w2.to, ranges), 'contiguous, from the window start to its end');
  assert.equal(ranges[0]!.to, tie.toString().padStart(20, '0'), 'the first cut falls on the tied timestamp');
  let dropped = 0;
  const parts = await readParts(
    async (w) => {
      const rows = await collect(st, w);
      dropped += st.lastReadStats!.duplicatesDropped;
      return rows;
    },
    w2,
    ranges,
  );
  const split = parts.flat();
  assert.deepEqual(keyPos(split), keyPos(whole), 'the same (key, position) events as the whole read');
  assert.equal(new Set(keyPos(split)).size, split.length, 'no duplicate (key, position)');
  assert.equal(dropped, wholeDropped, 'the overlap re-reads dropped once, by the first sub-range');
  const tied = parts.map((p) => p.filter((r) => r.values[1] === 'tie').length);
  assert.deepEqual(tied, [700, 0, 0, 0], 'every row of the tied timestamp in the sub-range the cut closes');
  const late = split.find((r) => r.values[0] === 9999);
  assert.ok(late?.pos.startsWith(w2.to), "the late commit placed at the window's bound, as the whole read places it");

  // The lake (window 1, then window 2 read in sub-ranges) equals the source.
  const source = await s.admin.request().query<{ id: number; note: string }>('SELECT id, note FROM dbo.ua_split');
  assert.deepEqual(
    [...latest([...lake, ...split])].sort((a, b) => a[0] - b[0]),
    source.recordset.map((r) => [r.id, r.note]).sort((a, b) => (a[0] as number) - (b[0] as number)),
  );
});

test('identity: a window cut at ids fixes its end and gaps at plan time; an id committing after the plan lands once, in the next window', async () => {
  const d = await discoverTable(conn, 'dbo', 'id_split');
  const st = new IdentityStrategy(conn, d, 'id', { gapTimeoutMs: 3_600_000 });
  const insert = async (n: number) => {
    for (let i = 0; i < n; i += 500)
      await s.admin
        .request()
        .batch(
          `INSERT INTO dbo.id_split (note) VALUES ${Array.from({ length: Math.min(500, n - i) }, () => "('n')").join(', ')}`,
        );
  };
  const held = async () => {
    const session = await s.session();
    const tx = session.transaction();
    await tx.begin();
    await tx.request().query(`INSERT INTO dbo.id_split (note) VALUES ('held')`);
    return { tx, session };
  };
  await insert(10);
  const w1 = await st.planWindow(null);
  assert.equal(await st.planSubRanges(w1, 1, 32), undefined, 'a window from nothing is read whole');
  const r1 = await collectWithResume(st, w1);
  assert.equal(r1.rows.length, 10);

  // Id 11 held open by A; 12–1011 committed; 1012 rolled back; 1013 held open by B; 1014–3013 committed.
  const a = await held();
  await insert(1000);
  const c = await held();
  await c.tx.rollback();
  const b = await held();
  await insert(2000);

  const w2 = await st.planWindow(r1.resumePosition);
  assert.equal(parseIdentityPosition(w2.to).highWater, 3013n);
  assert.equal(await st.planSubRanges(w2, 3001, 32), undefined, 'span within the threshold: read whole');
  const ranges = await st.planSubRanges(w2, 1000, 32);
  assert.ok(ranges, 'the window is split');
  assert.equal(ranges.length, 3, `${ranges.length} sub-ranges`);
  const two = await st.planSubRanges(w2, 1000, 2);
  assert.equal(two?.length, 2, 'at most maxSubRanges: every other cut kept');
  assert.equal(two[0]!.to, ranges[1]!.to, 'cut at the second of the cuts');
  const end = ranges[ranges.length - 1]!.to;
  assert.ok(coversWindow(w2.from, end, ranges), 'contiguous, from the window start to its end');
  const fixed = parseIdentityPosition(end);
  assert.equal(fixed.highWater, 3013n, "the end's high-water is the plan's bound");
  assert.deepEqual(
    fixed.gaps.map((g) => [g.lo, g.hi]),
    [
      [11n, 11n],
      [1012n, 1013n],
    ],
    "the ids not committed at plan time are the end's gaps",
  );

  // B commits after the plan, before the sub-ranges are read: its id is in the end's gaps, left to the next window.
  await b.tx.commit();
  let left = 0;
  const parts = await readParts(
    async (w) => {
      const rows = await collect(st, w);
      left += st.lastReadStats!.extra.gapRowsLeft ?? 0;
      return rows;
    },
    { ...w2, to: end },
    ranges,
  );
  assert.ok(
    parts.every((p) => p.length > 0),
    `every sub-range reads rows: ${parts.map((p) => p.length).join(', ')}`,
  );
  const split = parts.flat();
  assert.equal(split.length, 3000, 'the ids committed at plan time');
  assert.equal(left, 1, "B's id, committed after the plan, left to the next window");

  // A commits; the next window starts at the fixed end and reads its gaps.
  await a.tx.commit();
  const w3 = await st.planWindow(end);
  assert.equal(w3.empty, false);
  const r3 = await collectWithResume(st, w3);
  assert.deepEqual(
    r3.rows.map((r) => r.values[0]),
    [11, 1013],
  );
  assert.deepEqual(
    parseIdentityPosition(r3.resumePosition).gaps.map((g) => [g.lo, g.hi]),
    [[1012n, 1012n]],
  );

  // The lake: every source row once, at its id.
  const all = [...r1.rows, ...split, ...r3.rows];
  assert.equal(new Set(keyPos(all)).size, all.length, 'no duplicate (key, position)');
  const source = await s.admin.request().query<{ id: number; note: string }>('SELECT id, note FROM dbo.id_split');
  assert.deepEqual(
    [...latest(all)].sort((x, y) => x[0] - y[0]),
    source.recordset.map((r) => [r.id, r.note]).sort((x, y) => (x[0] as number) - (y[0] as number)),
  );
  await a.session.close();
  await b.session.close();
  await c.session.close();
});
