/**
 * updated_at's overlap re-read, against the simulator and Azurite: every window reads `lookback` before its
 * lower bound again, so a row stamped in the past but committed late (clock skew, a long transaction) is still
 * found; the rows of the overlap that the lake already holds are dropped by their (key, `_pos`), asking the lake —
 * so a second worker, or the same one after a restart, drops exactly the same rows and the lake never holds an
 * event twice.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { randomBytes } from 'node:crypto';
import { createActivities, buildDependencies, type ActivityDeps } from '../../../src/activities/index.js';
import type { TableRef } from '../../../src/activities/contracts.js';
import { verifyTable } from '../../../src/verify/verify-table.js';
import { createLogger } from '../../../src/util/logger.js';
import { azuriteForTests } from '../../support/stack.js';
import { syncTableWithActivities } from '../../support/activity-sync.js';
import { pipelineConfig, startClaimsSource, type ClaimsSource } from '../../../scripts/demo/harness.js';

const table: TableRef = { id: 'Claims.dbo.ProviderNotes', strategy: 'updated_at' };
/** 100 ns ticks from 0001-01-01 to 1970-01-01 (the updated_at position's origin). */
const EPOCH_TICKS = 621_355_968_000_000_000n;

let source: ClaimsSource;
let deps: ActivityDeps;

before(async () => {
  source = await startClaimsSource({ workload: { rate: 0, longTransactionMs: 50, addColumnAt: [], widenAt: 100_000 } });
  const { config } = pipelineConfig({
    sourcePort: source.sim.port,
    azuriteConnectionString: await azuriteForTests(),
    temporalAddress: '127.0.0.1:1',
    taskQueue: 'unused',
    container: `ovl-${randomBytes(4).toString('hex')}`,
    tables: [
      {
        name: 'dbo.ProviderNotes',
        capture: '{ strategy: updated_at, column: UpdatedAt, lookback: 10m, safetyLag: 1s }',
      },
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
