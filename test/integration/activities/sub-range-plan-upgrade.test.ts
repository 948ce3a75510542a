/**
 * planWindow splits a window only for a workflow that reads sub-ranges with `extractSubRange` (issue 14, rolling
 * upgrades). During an upgrade, workflow code older than the patch 'sub-range-activity' still runs on the workers
 * not yet replaced; it would schedule a sub-range as `extractWindow`, which an older worker may take and read as a
 * window of its own. So a plan that does not say `subRangeActivity` is whole whatever its backlog — and a whole
 * read lands it exactly once — while one that does is split as before. Against the simulator and Azurite.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  buildDependencies,
  createActivities,
  type Activities,
  type ActivityDeps,
} from '../../../src/activities/index.js';
import type { TableRef } from '../../../src/domain/table.js';
import { createLogger } from '../../../src/util/logger.js';
import { verifyTable } from '../../../src/verify/verify-table.js';
import { pipelineConfig, startClaimsSource, type ClaimsSource } from '../../../scripts/demo/harness.js';
import { azuriteForTests } from '../../support/stack.js';
import { syncTableWithActivities } from '../../support/activity-sync.js';

const NOTES: TableRef = { id: 'Claims.dbo.NotesPlanUp', strategy: 'updated_at' };
const CHECKS: TableRef = { id: 'Claims.dbo.ChecksPlanUp', strategy: 'identity' };

let source: ClaimsSource;
let deps: ActivityDeps;
let acts: Activities;

before(async () => {
  source = await startClaimsSource({ workload: { rate: 0, longTransactionMs: 50, addColumnAt: [], widenAt: 1e6 } });
  await source.admin.request().batch(`ALTER DATABASE Claims SET ALLOW_SNAPSHOT_ISOLATION ON;
    CREATE TABLE dbo.NotesPlanUp (id int NOT NULL PRIMARY KEY, note varchar(20) NULL, updated_at datetime2(7) NOT NULL);
    CREATE INDEX IX_NotesPlanUp_updated_at ON dbo.NotesPlanUp (updated_at);
    CREATE TABLE dbo.ChecksPlanUp (id int IDENTITY(1,1) PRIMARY KEY, note varchar(20) NULL);`);
  const { config } = pipelineConfig({
    sourcePort: source.sim.port,
    azuriteConnectionString: await azuriteForTests(),
    temporalAddress: '127.0.0.1:1',
    taskQueue: 'unused',
    container: `plan-up-${randomBytes(4).toString('hex')}`,
    tables: [
      {
        name: 'dbo.NotesPlanUp',
        capture: '{ strategy: updated_at, column: updated_at, safetyLag: 1s }',
        limits: '{ subRangeRows: 1000 }',
      },
      { name: 'dbo.ChecksPlanUp', capture: '{ strategy: identity, column: id }', limits: '{ subRangeRows: 1000 }' },
    ],
  });
  deps = await buildDependencies(config, createLogger({ name: 'test', level: 'warn' }));
  acts = createActivities(deps);
});

after(async () => {
  await deps?.close();
  await source?.stop();
});

/** `n` rows per table, 500 to a statement (one SYSUTCDATETIME() per statement for the updated_at table). */
async function insert(from: number, n: number): Promise<void> {
  for (let i = 0; i < n; i += 500) {
    const ids = Array.from({ length: Math.min(500, n - i) }, (_v, k) => from + i + k);
    await source.admin.request().batch(
      `INSERT INTO dbo.NotesPlanUp (id, note, updated_at) VALUES ${ids.map((id) => `(${id}, 'n${id}', SYSUTCDATETIME())`).join(', ')};
         INSERT INTO dbo.ChecksPlanUp (note) VALUES ${ids.map(() => "('c')").join(', ')};`,
    );
  }
}

test('a backlog over subRangeRows is split only for a workflow that reads sub-ranges with extractSubRange; a whole plan lands once', async () => {
  await insert(1, 10);
  await sleep(1500); // past the safety lag, so the load's position is at or above the rows' stamps
  const synced = new Map<string, Awaited<ReturnType<typeof syncTableWithActivities>>>();
  for (const t of [NOTES, CHECKS]) synced.set(t.id, await syncTableWithActivities(acts, t));
  await insert(1001, 3000);
  await sleep(1500); // past the updated_at table's 1 s safety lag
  for (const table of [NOTES, CHECKS]) {
    const s = synced.get(table.id)!;
    const at = { table, lastPosition: s.position, seq: s.seq + 1 };
    const older = await acts.planWindow(at);
    assert.ok(older.window, `${table.id}: a window is planned`);
    assert.equal(
      older.window.subRanges,
      undefined,
      `${table.id}: planned whole for workflow code older than the patch`,
    );
    const current = await acts.planWindow({ ...at, subRangeActivity: true });
    assert.ok(
      (current.window?.subRanges?.length ?? 0) >= 3,
      `${table.id}: split for a workflow that reads sub-ranges with extractSubRange`,
    );
    // The whole plan, read and committed whole (as the older workflow code does), lands the backlog once.
    const whole = await syncTableWithActivities(acts, table, { resume: s, wholeWindows: true });
    assert.equal(whole.splitWindows, 0, `${table.id}: read whole`);
    const v = await verifyTable(deps, table);
    assert.deepEqual(
      [v.ok, v.sourceRows, v.missingInLake, v.extraInLake, v.different, v.duplicateEvents],
      [true, 3010, 0, 0, 0, 0],
      `${table.id}: lake == source, no duplicate (key, position)`,
    );
    synced.set(table.id, whole);
  }
});

test('the activities sync a backlog over subRangeRows as the workflow does: read in sub-ranges, landed once', async () => {
  await insert(5001, 3000);
  await sleep(1500); // past the updated_at table's 1 s safety lag
  for (const table of [NOTES, CHECKS]) {
    // Before (branch i14-tidy2): test/support/activity-sync.ts planned and read every window whole.
    const split = await syncTableWithActivities(acts, table);
    assert.equal(split.splitWindows, 1, `${table.id}: the backlog read in sub-ranges (extractSubRange)`);
    const v = await verifyTable(deps, table);
    assert.deepEqual(
      [v.ok, v.sourceRows, v.missingInLake, v.extraInLake, v.different, v.duplicateEvents],
      [true, 6010, 0, 0, 0, 0],
      `${table.id}: lake == source, no duplicate (key, position)`,
    );
  }
});
