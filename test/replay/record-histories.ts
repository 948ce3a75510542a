/**
 * Records the workflow histories the replay tests check determinism against:
 *   node --import tsx test/replay/record-histories.ts
 * Run it when a workflow changes on purpose (and keep the old files while old runs may still be open:
 * a change that breaks replay of a recorded history needs `patched()`). `table-sync-before-more.json` is the
 * table-sync history recorded before the `wait-after-uncapped-window` patch; it is kept, not re-recorded.
 */
import { writeFileSync } from 'node:fs';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { Worker } from '@temporalio/worker';
import { tableSyncWorkflow, tableSyncWorkflowId } from '../../src/workflows/index.js';
import { pauseSignal, resumeSignal, statusQuery, syncNowSignal } from '../../src/workflows/messages.js';
import { fakeActivities, positionOf, type FakeLake, type FakeSource } from '../workflows/fake-table-activities.js';
import { timeSkippingEnv, WORKFLOWS_PATH } from '../support/temporal.js';

const pretty = (json: string) => JSON.stringify(JSON.parse(json), null, 1);
const env = await timeSkippingEnv();
let source: FakeSource = { maxPosition: 10, minPosition: 0, snapshotRows: 300, snapshotChunks: 2 };
let lake: FakeLake = { manifests: new Map(), watermark: null, extractAttempts: [] };
const taskQueue = 'record';
// Activities delegate to the current `source`/`lake`, which the second recording replaces.
type Fakes = ReturnType<typeof fakeActivities>;
const names = Object.keys(fakeActivities(source, lake)) as (keyof Fakes)[];
const worker = await Worker.create({
  connection: env.nativeConnection,
  taskQueue,
  workflowsPath: WORKFLOWS_PATH,
  activities: Object.fromEntries(
    names.map((name) => [name, (input: never) => (fakeActivities(source, lake)[name] as (i: never) => unknown)(input)]),
  ),
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

  // Capped windows (`more`) go straight on; an uncapped one waits for the cadence; reads refine their end.
  source = { maxPosition: 10, minPosition: 0, snapshotRows: 100, snapshotChunks: 1, windowCap: 10, resumeShortBy: 1 };
  lake = { manifests: new Map(), watermark: null, extractAttempts: [] };
  const more = await env.client.workflow.start(tableSyncWorkflow, {
    taskQueue,
    workflowId: tableSyncWorkflowId('Claims.dbo.ReplayMore'),
    args: [{ table: { id: 'Claims.dbo.ReplayMore', strategy: 'identity' }, cadenceSeconds: 60 }],
  });
  const moreAt = async (position: number) => {
    while ((await more.query(statusQuery)).position !== positionOf(position))
      await new Promise((r) => setTimeout(r, 50));
  };
  await moreAt(10);
  source.maxPosition = 35;
  await more.signal(syncNowSignal);
  await moreAt(34); // (10,20] → 19 and (19,29] → 28 are capped; (28,35] → 34 is not: it waits
  source.maxPosition = 40;
  await env.sleep(61_000);
  await moreAt(39);
  await env.sleep(61_000);
  await more.terminate();
  const moreHistory = await more.fetchHistory();
  writeFileSync(new URL('./histories/table-sync-more.json', import.meta.url), pretty(historyToJSON(moreHistory)));
});
await env.teardown();
process.stdout.write('recorded test/replay/histories/{table-sync,snapshot,table-sync-more}.json\n');
