/**
 * An idle CDC table over many cadences, with the real activities against the simulator and Azurite, its sync on
 * the time-skipping server (so 25 cadences take seconds). The simulator's capture job writes a placeholder to
 * cdc.lsn_time_mapping on every idle cycle, as SQL Server's does, so the max LSN moves while the table is idle:
 * before the fix every cadence committed an empty manifest (11 of 12 manifests empty on an idle table).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { randomBytes } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { buildDependencies, createActivities, type ActivityDeps } from '../../../src/activities/index.js';
import type { TableRef } from '../../../src/domain/table.js';
import { tableContext } from '../../../src/capture/table-context.js';
import { committedSequences, readManifest } from '../../../src/lake/manifest.js';
import type { TableSyncStatus } from '../../../src/state/table-sync-state.js';
import { createLogger } from '../../../src/util/logger.js';
import { verifyTable } from '../../../src/verify/verify-table.js';
import { statusQuery } from '../../../src/workflows/messages.js';
import { tableSyncWorkflow, tableSyncWorkflowId } from '../../../src/workflows/index.js';
import { azuriteForTests } from '../../support/stack.js';
import { timeSkippingEnv, WORKFLOWS_PATH } from '../../support/temporal.js';
import { pipelineConfig, startClaimsSource, type ClaimsSource } from '../../../scripts/demo/harness.js';
import { eventually } from '../../support/eventually.js';

const QUIET: TableRef = { id: 'Claims.dbo.Quiet', strategy: 'cdc' };
const taskQueue = `idle-cdc-${randomBytes(4).toString('hex')}`;
let source: ClaimsSource;
let deps: ActivityDeps;
let env: TestWorkflowEnvironment;
let worker: Worker;
let running: Promise<void>;

before(async () => {
  source = await startClaimsSource({
    cdcPollMs: 100,
    workload: { rate: 0, longTransactionMs: 50, addColumnAt: [], widenAt: 1_000_000 },
  });
  await source.admin.request().batch(`
    CREATE TABLE dbo.Quiet (id int NOT NULL PRIMARY KEY, note varchar(20) NULL);
    INSERT INTO dbo.Quiet VALUES (1, 'a'), (2, 'b');
    EXEC sys.sp_cdc_enable_table @source_schema = N'dbo', @source_name = N'Quiet', @role_name = NULL;`);
  const { config } = pipelineConfig({
    sourcePort: source.sim.port,
    azuriteConnectionString: await azuriteForTests(),
    temporalAddress: '127.0.0.1:1',
    taskQueue,
    container: `idle-cdc-${randomBytes(4).toString('hex')}`,
    tables: [{ name: 'dbo.Quiet', capture: '{ strategy: cdc }' }],
  });
  deps = await buildDependencies(config, createLogger({ name: 'test', level: 'warn' }));
  env = await timeSkippingEnv();
  worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowsPath: WORKFLOWS_PATH,
    activities: createActivities(deps),
  });
  running = worker.run();
});

after(async () => {
  worker?.shutdown();
  await running;
  await env?.teardown();
  await deps?.close();
  await source?.stop();
});

const maxLsn = async (): Promise<string> => {
  const r = await source.admin.request().query<{ mx: Buffer }>('SELECT sys.fn_cdc_get_max_lsn() AS mx');
  return r.recordset[0]!.mx.toString('hex');
};

test(
  'an idle CDC table commits at most one empty window per idle-commit interval and shows it is caught up; a later change lands',
  { timeout: 300_000 },
  async () => {
    const handle = await env.client.workflow.start(tableSyncWorkflow, {
      taskQueue,
      workflowId: tableSyncWorkflowId(QUIET.id),
      args: [{ table: QUIET, cadenceSeconds: 60, idleCommitSeconds: 600 }],
    });
    const status = (): Promise<TableSyncStatus> => handle.query(statusQuery);
    await eventually(async () => assert.notEqual((await status()).position, null), 60_000);
    const lake = (await tableContext(deps, QUIET)).lake;
    const loaded = (await committedSequences(lake)).length;

    // 25 cadences of 60 s; before each the capture job has moved the max LSN (placeholders), not the table.
    for (let cadence = 1; cadence <= 25; cadence++) {
      const before = await maxLsn();
      await eventually(async () => assert.notEqual(await maxLsn(), before));
      const mx = await maxLsn();
      await env.sleep(61_000);
      // Caught up to at least that max LSN: recorded as such, or committed in an (empty) window.
      await eventually(async () => {
        const s = await status();
        assert.ok((s.caughtUpTo ?? s.position ?? '') >= mx, `cadence ${cadence}`);
      });
    }
    const sequences = await committedSequences(lake);
    const idle = await Promise.all(sequences.slice(loaded).map(async (seq) => (await readManifest(lake, seq))!));
    assert.ok(
      idle.every((m) => m.controlTotals.rows === 0),
      'nothing changed in the table',
    );
    // 25 idle minutes, 10-minute interval: 2 empty windows (before: 25, one per cadence).
    assert.ok(idle.length >= 1 && idle.length <= 3, `${idle.length} empty windows in 25 idle cadences`);
    const s = await status();
    // Caught up: its lag is only what the capture job has not harvested yet (its polling interval, longer
    // under load), never a position behind.
    assert.equal(s.lagSeconds, s.captureLatencySeconds, 'an idle table is caught up');
    assert.notEqual(s.caughtUpTo ?? null, null);

    // A change after idling lands, in a window starting where the last committed one ended.
    await source.admin.request().batch(`UPDATE dbo.Quiet SET note = 'b2' WHERE id = 2`);
    const changed = await maxLsn();
    await eventually(async () => assert.notEqual(await maxLsn(), changed));
    await env.sleep(61_000);
    await eventually(async () => {
      const v = await verifyTable(deps, QUIET);
      assert.deepEqual([v.ok, v.sourceRows, v.different], [true, 2, 0]);
    });
    assert.equal((await status()).caughtUpTo, null, 'a committed window with rows ends the idle record');
    const chain = await Promise.all(
      (await committedSequences(lake)).map(async (seq) => (await readManifest(lake, seq))!),
    );
    for (let i = loaded; i < chain.length; i++) {
      const prev = chain[i - 1]!.window;
      assert.equal(chain[i]!.window.from, prev.resume ?? prev.to, `window ${i + 1} starts where window ${i} ended`);
    }
    await handle.terminate();
  },
);
