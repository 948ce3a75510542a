/**
 * Records the workflow histories the replay tests check determinism against:
 *   node --import tsx test/replay/record-histories.ts
 * Run it when a workflow changes on purpose (and keep the old files while old runs may still be open:
 * a change that breaks replay of a recorded history needs `patched()`).
 */
import { writeFileSync } from 'node:fs';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { Worker } from '@temporalio/worker';
import { tableSyncWorkflow, tableSyncWorkflowId } from '../../src/workflows/index.js';
import { pauseSignal, resumeSignal, statusQuery } from '../../src/workflows/messages.js';
import { fakeActivities, positionOf, type FakeLake, type FakeSource } from '../workflows/fake-table-activities.js';
import { timeSkippingEnv, WORKFLOWS_PATH } from '../support/temporal.js';

const pretty = (json: string) => JSON.stringify(JSON.parse(json), null, 1);
const env = await timeSkippingEnv();
const source: FakeSource = { maxPosition: 10, minPosition: 0, snapshotRows: 300, snapshotChunks: 2 };
const lake: FakeLake = { manifests: new Map(), watermark: null, extractAttempts: [] };
const taskQueue = 'record';
const worker = await Worker.create({
  connection: env.nativeConnection,
  taskQueue,
  workflowsPath: WORKFLOWS_PATH,
  activities: fakeActivities(source, lake),
});
await worker.runUntil(async () => {
  const handle = await env.client.workflow.start(tableSyncWorkflow, {
    taskQueue,
    workflowId: tableSyncWorkflowId('Claims.dbo.Replay'),
    args: [{ table: { id: 'Claims.dbo.Replay', strategy: 'cdc' }, cadenceSeconds: 60, maxWindowsPerRun: 3 }],
  });
  const waitFor = async (position: number) => {
    while ((await handle.query(statusQuery)).position !== positionOf(position))
      await new Promise((r) => setTimeout(r, 50));
  };
  await waitFor(10);
  source.maxPosition = 20;
  await env.sleep(61_000);
  await waitFor(20);
  await handle.signal(pauseSignal, { reason: 'recording' });
  await env.sleep(61_000);
  await handle.signal(resumeSignal);
  source.maxPosition = 30;
  await env.sleep(61_000);
  await waitFor(30);
  // The first run ends in continue-as-new after its third window; its history is complete.
  source.maxPosition = 40;
  await env.sleep(61_000);
  const history = await env.client.workflow.getHandle(handle.workflowId, handle.firstExecutionRunId).fetchHistory();
  writeFileSync(new URL('./histories/table-sync.json', import.meta.url), pretty(historyToJSON(history)));
  const snapshot = await env.client.workflow.getHandle('snapshot/Claims.dbo.Replay/reseed-1').fetchHistory();
  writeFileSync(new URL('./histories/snapshot.json', import.meta.url), pretty(historyToJSON(snapshot)));
  await env.client.workflow.getHandle(handle.workflowId).terminate();
});
await env.teardown();
process.stdout.write('recorded test/replay/histories/{table-sync,snapshot}.json\n');
