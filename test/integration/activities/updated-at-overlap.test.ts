/**
 * updated_at's overlap re-read, against the simulator and Azurite: every window reads `lookback` before its
 * lower bound again, so a row stamped in the past but committed late (clock skew, a long transaction) is still
 * found; the rows of the overlap that the lake already holds are dropped by their (key, content hash), asking the
 * lake — so a second worker, or the same one after a restart, drops exactly the same rows and the lake never
 * holds an event twice. A row found that way, stamped below what the lake already holds, is placed at its
 * window's bound, so the lake's latest state is the source's even when a row's `updated_at` moves backwards.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { randomBytes } from 'node:crypto';
import { createActivities, buildDependencies, type ActivityDeps } from '../../../src/activities/index.js';
import type { TableRef } from '../../../src/domain/table.js';
import { verifyTable } from '../../../src/verify/verify-table.js';
import { LakeReader } from '../../../src/lake/reader.js';
import { tableContext } from '../../../src/capture/table-context.js';
import { ticksToText } from '../../../src/source/ticks.js';
import { createLogger } from '../../../src/util/logger.js';
import { azuriteForTests } from '../../support/stack.js';
import { runJob, syncTableWithActivities } from '../../support/activity-sync.js';
import { pipelineConfig, startClaimsSource, type ClaimsSource } from '../../../scripts/demo/harness.js';

const table: TableRef = { id: 'Claims.dbo.ProviderNotes', strategy: 'updated_at' };
/** Small tables of their own for the tests that move a row's updated_at backwards. */
const lateNotes: TableRef = { id: 'Claims.dbo.LateNotes', strategy: 'updated_at' };
const sweptNotes: TableRef = { id: 'Claims.dbo.SweptNotes', strategy: 'updated_at' };
const CAPTURE = '{ strategy: updated_at, column: UpdatedAt, lookback: 10m, safetyLag: 1s }';
/** 100 ns ticks from 0001-01-01 to 1970-01-01 (the updated_at position's origin). */
const EPOCH_TICKS = 621_355_968_000_000_000n;

let source: ClaimsSource;
let deps: ActivityDeps;

before(async () => {
  source = await startClaimsSource({ workload: { rate: 0, longTransactionMs: 50, addColumnAt: [], widenAt: 100_000 } });
  for (const name of ['LateNotes', 'SweptNotes'])
    await source.admin.request().batch(`
      CREATE TABLE dbo.${name} (NoteId int NOT NULL PRIMARY KEY, NoteText nvarchar(100) NOT NULL, UpdatedAt datetime2(7) NOT NULL);
      CREATE INDEX IX_${name}_UpdatedAt ON dbo.${name} (UpdatedAt);`);
  const { config } = pipelineConfig({
    sourcePort: source.sim.port,
    azuriteConnectionString: await azuriteForTests(),
    temporalAddress: '127.0.0.1:1',
    taskQueue: 'unused',
    container: `ovl-${randomBytes(4).toString('hex')}`,
    tables: [
      { name: 'dbo.ProviderNotes', capture: CAPTURE },
      { name: 'dbo.LateNotes', capture: CAPTURE },
      { name: 'dbo.SweptNotes', capture: CAPTURE },
    ],
  });
  deps = await buildDependencies(config, createLogger({ name: 'test', level: 'warn' }), { partRows: 40 });
});

after(async () => {
  await deps?.close();
  await source?.stop();
});

test('the overlap drops what the lake holds, for any worker; a row stamped in the past but committed late is found', async () => {
  await source.workload.run({ operations: 150 });
  await source.workload.drain();
  const loaded = await syncTableWithActivities(createActivities(deps), table, { initialLoad: 'window' });

  // More changes, all inside the next window's overlap, then a "late" row: stamped 1 s before the last window's
  // upper bound (so a plain `updated_at > from` misses it) but committed only now.
  await new Promise((r) => setTimeout(r, 1500));
  await source.workload.run({ operations: 60 });
  await source.workload.drain();
  assert.ok(loaded.position);
  const ms = Number((BigInt(loaded.position.slice(0, 20)) - EPOCH_TICKS) / 10_000n) - 1000;
  const stamp = new Date(ms).toISOString().replace('Z', '');
  const late = await source.admin.request().query(
    `UPDATE dbo.ProviderNotes SET NoteText = N'late repricing note', UpdatedAt = CAST('${stamp}' AS datetime2(7))
        WHERE NoteId = (SELECT MIN(NoteId) FROM dbo.ProviderNotes)`,
  );
  assert.equal(late.rowsAffected[0], 1);
  await new Promise((r) => setTimeout(r, 1500));

  // A second "worker": a fresh set of activities over the same lake and source.
  await syncTableWithActivities(createActivities(deps), table, { resume: loaded });
  const v = await verifyTable(deps, table);
  assert.ok(v.sourceRows > 0);
  assert.deepEqual(
    { missing: v.missingInLake, extra: v.extraInLake, different: v.different, dups: v.duplicateEvents },
    { missing: 0, extra: 0, different: 0, dups: 0 },
  );
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const exec = async (text: string) => {
  await source.admin.request().batch(text);
};

/** The lake's events per key, and the latest note text per key (last event by `_pos`). */
async function lakeNotes(ref: TableRef): Promise<{ events: Record<number, number>; latest: Record<number, string> }> {
  const reader = await LakeReader.open({ lake: (await tableContext(deps, ref)).lake });
  try {
    const rows = await reader.scalars(
      `SELECT "NoteId"::INT AS id, count(*)::INT AS n, arg_max("NoteText", _pos) AS latest FROM changes GROUP BY 1 ORDER BY 1`,
    );
    const events: Record<number, number> = {};
    const latest: Record<number, string> = {};
    for (const r of rows) {
      events[Number(r.id)] = Number(r.n);
      latest[Number(r.id)] = String(r.latest);
    }
    return { events, latest };
  } finally {
    await reader.close();
  }
}

async function assertVerified(ref: TableRef): Promise<void> {
  const v = await verifyTable(deps, ref);
  assert.deepEqual(
    { missing: v.missingInLake, extra: v.extraInLake, different: v.different, dups: v.duplicateEvents },
    { missing: 0, extra: 0, different: 0, dups: 0 },
  );
}

test("a row whose updated_at moves backwards between two windows: the lake's latest state is the source's; unchanged re-reads are still dropped", async () => {
  await exec(`INSERT INTO dbo.LateNotes VALUES
    (1, N'late note', DATEADD(millisecond, -2000, SYSUTCDATETIME())),
    (2, N'steady note', DATEADD(millisecond, -2000, SYSUTCDATETIME()))`);
  await sleep(1500);
  const w1 = await syncTableWithActivities(createActivities(deps), lateNotes, { initialLoad: 'window' });

  // A writer whose clock runs slow edits note 1: its updated_at goes 3 s back, below the last window's bound
  // (found only through the overlap). Note 3 is new, so the next window is not empty.
  await exec(`UPDATE dbo.LateNotes SET NoteText = N'late note (edited)', UpdatedAt = DATEADD(second, -3, UpdatedAt)
      WHERE NoteId = 1;
    INSERT INTO dbo.LateNotes VALUES (3, N'fresh note', SYSUTCDATETIME());`);
  await sleep(1500);
  const w2 = await syncTableWithActivities(createActivities(deps), lateNotes, { resume: w1 });
  await assertVerified(lateNotes);
  let lake = await lakeNotes(lateNotes);
  assert.deepEqual(lake.latest, { 1: 'late note (edited)', 2: 'steady note', 3: 'fresh note' });
  // Note 2 was re-read in the overlap, unchanged: dropped, not landed again.
  assert.deepEqual(lake.events, { 1: 2, 2: 1, 3: 1 });

  // One more window: the edit of note 1 (landed at window 2's bound, not at its own updated_at) and note 2 are
  // re-read in the overlap again, and still dropped.
  await exec(`INSERT INTO dbo.LateNotes VALUES (4, N'another note', SYSUTCDATETIME())`);
  await sleep(1500);
  await syncTableWithActivities(createActivities(deps), lateNotes, { resume: w2 });
  await assertVerified(lateNotes);
  lake = await lakeNotes(lateNotes);
  assert.deepEqual(lake.events, { 1: 2, 2: 1, 3: 1, 4: 1 });
  assert.equal(lake.latest[1], 'late note (edited)');
});

test('a sweep between two windows: an edit stamped below the sweep position still ends as the latest version', async () => {
  await exec(`INSERT INTO dbo.SweptNotes VALUES
    (1, N'first', DATEADD(millisecond, -2000, SYSUTCDATETIME())),
    (2, N'second', DATEADD(millisecond, -2000, SYSUTCDATETIME()))`);
  await sleep(1500);
  const w1 = await syncTableWithActivities(createActivities(deps), sweptNotes, { initialLoad: 'window' });
  assert.ok(w1.position);

  // Both rows change out of the windows' sight (stamped before any overlap): the nightly sweep lands them, as
  // `r` rows at its position J (source clock − safety lag).
  await exec(`UPDATE dbo.SweptNotes SET NoteText = N'swept', UpdatedAt = DATEADD(minute, -20, SYSUTCDATETIME())`);
  await sleep(1500);
  const sweep = await runJob(createActivities(deps), sweptNotes, { kind: 'sweep', days: 30 });
  assert.equal(sweep.reextracted, 1);
  const j = BigInt(sweep.position.slice(0, 20));
  const p1 = BigInt(w1.position.slice(0, 20));
  assert.ok(j - p1 > 10_000_000n, 'the sweep position is more than 1 s after the last window bound');

  // Then a writer with a slow clock edits both: note 1 stamped between the last window's bound and J (a window
  // sees it as new), note 2 stamped below the last window's bound (only the overlap finds it).
  await exec(`UPDATE dbo.SweptNotes SET NoteText = N'edited after the sweep',
      UpdatedAt = CAST('${ticksToText(j - 5_000_000n)}' AS datetime2(7)) WHERE NoteId = 1;
    UPDATE dbo.SweptNotes SET NoteText = N'edited after the sweep',
      UpdatedAt = CAST('${ticksToText(p1 - 5_000_000n)}' AS datetime2(7)) WHERE NoteId = 2;`);
  await sleep(1500);
  await syncTableWithActivities(createActivities(deps), sweptNotes, {
    resume: { seq: sweep.lastSeq, position: w1.position },
  });
  await assertVerified(sweptNotes);
  const lake = await lakeNotes(sweptNotes);
  assert.deepEqual(lake.latest, { 1: 'edited after the sweep', 2: 'edited after the sweep' });
  assert.deepEqual(lake.events, { 1: 3, 2: 3 });
});
