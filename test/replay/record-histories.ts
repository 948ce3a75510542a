/**
 * Records the workflow histories the replay tests check determinism against:
 *   node --import tsx test/replay/record-histories.ts [table-sync | table-sync-more | table-sync-stops-and-jobs |
 *     table-sync-jobs-and-gap | snapshot-continue-as-new …]
 * (no names: all). Run it when a workflow changes on purpose (and keep the old files while old runs may still be
 * open: a change that breaks replay of a recorded history needs `patched()`). `table-sync-before-more.json` is
 * the table-sync history recorded before the `wait-after-uncapped-window` patch, `table-sync-before-cadence.json`
 * the one recorded before `cadence-from-turn-start` and `commit-advances-watermark`; both are kept, not re-recorded.
 */
import { writeFileSync } from 'node:fs';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { Worker } from '@temporalio/worker';
import type { WorkflowHandle } from '@temporalio/client';
import type { TableSyncStatus } from '../../src/state/table-sync-state.js';
import { snapshotWorkflow, tableSyncWorkflow, tableSyncWorkflowId } from '../../src/workflows/index.js';
import {
  pauseSignal,
  requestJobSignal,
  resumeSignal,
  statusQuery,
  syncNowSignal,
} from '../../src/workflows/messages.js';
import { FailureType } from '../../src/domain/failures.js';
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
const only = process.argv.slice(2);
const wanted = (name: string) => only.length === 0 || only.includes(name);
await worker.runUntil(async () => {
  if (wanted('table-sync')) await recordTableSync();
  if (wanted('table-sync-more')) await recordMore();
  if (wanted('table-sync-stops-and-jobs')) await recordStopsAndJobs();
  if (wanted('table-sync-jobs-and-gap')) await recordJobsAndGap();
  if (wanted('snapshot-continue-as-new')) await recordSnapshotContinueAsNew();
  if (wanted('table-sync-sub-ranges')) await recordSubRanges();
});
await env.teardown();
process.stdout.write(`recorded ${only.length ? only.join(', ') : 'every history'} in test/replay/histories\n`);

async function recordTableSync(): Promise<void> {
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
}

async function recordMore(): Promise<void> {
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
}

/**
 * The failure policy and idle windows (issue 12): a table the source does not have stops, is resumed and loads;
 * a backfill fails in its second chunk and the sync goes on after it; idle windows are committed only hourly.
 */
async function recordStopsAndJobs(): Promise<void> {
  source = {
    maxPosition: 10,
    minPosition: 0,
    snapshotRows: 100,
    snapshotChunks: 1,
    failReadWatermark: FailureType.Config,
  };
  lake = { manifests: new Map(), watermark: null, extractAttempts: [] };
  const h = await env.client.workflow.start(tableSyncWorkflow, {
    taskQueue,
    workflowId: tableSyncWorkflowId('Claims.dbo.ReplayStops'),
    args: [{ table: { id: 'Claims.dbo.ReplayStops', strategy: 'cdc' }, cadenceSeconds: 60, idleCommitSeconds: 300 }],
  });
  const until = async (check: (s: TableSyncStatus) => boolean) => {
    while (!check(await statusOf(h))) await new Promise((r) => setTimeout(r, 50));
  };
  await until((s) => s.mode === 'stopped');
  source.failReadWatermark = undefined;
  await h.signal(resumeSignal);
  await until((s) => s.position === positionOf(10));
  source.failChunk = { kind: 'backfill', index: 1, type: 'SourceQueryError' };
  await h.signal(requestJobSignal, { id: 'bf-1', job: { kind: 'backfill', from: '2026-01-01', to: '2026-02-01' } });
  await until((s) => s.jobs.some((j) => j.id === 'bf-1' && j.state === 'failed'));
  source.tableChangedUpTo = 10;
  for (let p = 11; p <= 18; p++) {
    source.maxPosition = p;
    await env.sleep(61_000);
    await until((s) => (s.caughtUpTo ?? s.position) === positionOf(p));
  }
  source.tableChangedUpTo = undefined;
  source.maxPosition = 25;
  await env.sleep(61_000);
  await until((s) => s.position === positionOf(25));
  await h.terminate();
  writeFileSync(
    new URL('./histories/table-sync-stops-and-jobs.json', import.meta.url),
    pretty(historyToJSON(await h.fetchHistory())),
  );
}

/**
 * Jobs that succeed, pause-now, a stop and a gap (recorded before the sync loop was split into steps, issue 13):
 * the load, a backfill and a sweep that commit windows (the watermark moves after each), a window cancelled by
 * pause-now and retried on resume, a window step failing for good (stop, resume), a change-log gap re-seeding the
 * table, and continue-as-new after the third window of the run.
 */
async function recordJobsAndGap(): Promise<void> {
  source = { maxPosition: 10, minPosition: 0, snapshotRows: 90, snapshotChunks: 3, unchangedChunks: new Set([1]) };
  lake = { manifests: new Map(), watermark: null, extractAttempts: [] };
  const h = await env.client.workflow.start(tableSyncWorkflow, {
    taskQueue,
    workflowId: tableSyncWorkflowId('Claims.dbo.ReplayJobs'),
    args: [
      {
        table: { id: 'Claims.dbo.ReplayJobs', strategy: 'cdc' },
        cadenceSeconds: 60,
        maxWindowsPerRun: 3,
        timeouts: { heartbeatSeconds: 2 },
      },
    ],
  });
  const until = async (check: (s: TableSyncStatus) => boolean) => {
    while (!check(await statusOf(h))) await new Promise((r) => setTimeout(r, 50));
  };
  await until((s) => s.position === positionOf(10));
  await h.signal(requestJobSignal, { id: 'bf-1', job: { kind: 'backfill', from: '2026-11-01', to: '2026-11-14' } });
  await h.signal(requestJobSignal, { id: 'sw-1', job: { kind: 'sweep', days: 30 } });
  await until((s) => s.jobs.some((j) => j.id === 'sw-1' && j.state === 'done'));
  // Pause now while window 9 is being read (woken by signal: the test server does not skip time in an activity).
  let open!: () => void;
  source.extractGate = new Promise<void>((r) => (open = r));
  source.maxPosition = 20;
  await h.signal(syncNowSignal);
  while (!lake.extractAttempts.some((a) => a.seq === 9)) await new Promise((r) => setTimeout(r, 50));
  await h.signal(pauseSignal, { now: true, reason: 'recording' });
  await until((s) => s.mode === 'paused');
  source.extractGate = undefined;
  open();
  await h.signal(resumeSignal);
  await until((s) => s.position === positionOf(20));
  // A window step fails for good: the table stops; resumed, the window commits with its bounds.
  source.failNextExtract = 'SourceQueryError';
  source.maxPosition = 30;
  await env.sleep(61_000);
  await until((s) => s.mode === 'stopped');
  await h.signal(resumeSignal);
  await until((s) => s.position === positionOf(30));
  // Cleanup passed the watermark: a re-seed (its snapshot) and incremental sync after it.
  source.maxPosition = 100;
  source.minPosition = 60;
  await env.sleep(61_000);
  await until((s) => s.position === positionOf(100) && s.mode === 'running');
  source.maxPosition = 110;
  await env.sleep(61_000); // the third window of the run: it continues as new, which completes this history
  const latest = env.client.workflow.getHandle(h.workflowId);
  while ((await latest.describe()).runId === h.firstExecutionRunId) await new Promise((r) => setTimeout(r, 50));
  const history = await env.client.workflow.getHandle(h.workflowId, h.firstExecutionRunId).fetchHistory();
  await env.client.workflow.getHandle(h.workflowId).terminate();
  writeFileSync(new URL('./histories/table-sync-jobs-and-gap.json', import.meta.url), pretty(historyToJSON(history)));
  // The sweep: chunks compared, one unchanged (no sequence number), the others committed in chunk order.
  const sweep = await env.client.workflow.getHandle('sweep/Claims.dbo.ReplayJobs/sw-1').fetchHistory();
  writeFileSync(new URL('./histories/sweep.json', import.meta.url), pretty(historyToJSON(sweep)));
}

function statusOf(h: WorkflowHandle): Promise<TableSyncStatus> {
  return h.query(statusQuery);
}

/** A snapshot job of 5 chunks in runs of at most 2 (issue 14): its first run (plan, 2 chunks, continue-as-new)
 * and its second (resumed: no plan, 2 chunks, continue-as-new). */
async function recordSnapshotContinueAsNew(): Promise<void> {
  source = { maxPosition: 10, minPosition: 0, snapshotRows: 500, snapshotChunks: 5 };
  lake = { manifests: new Map(), watermark: null, extractAttempts: [] };
  const handle = await env.client.workflow.start(snapshotWorkflow, {
    taskQueue,
    workflowId: 'snapshot/Claims.dbo.ReplayLong/can-1',
    args: [
      {
        table: { id: 'Claims.dbo.ReplayLong', strategy: 'cdc' },
        job: { kind: 'snapshot', reason: 'recording' },
        firstSeq: 1,
        maxChunksPerRun: 2,
      },
    ],
  });
  await handle.result();
  const first = await env.client.workflow.getHandle(handle.workflowId, handle.firstExecutionRunId).fetchHistory();
  writeFileSync(new URL('./histories/snapshot-continue-as-new.json', import.meta.url), pretty(historyToJSON(first)));
  const next = first.events?.at(-1)?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId;
  if (!next) throw new Error('the snapshot did not continue as new');
  const second = await env.client.workflow.getHandle(handle.workflowId, next).fetchHistory();
  writeFileSync(new URL('./histories/snapshot-resumed.json', import.meta.url), pretty(historyToJSON(second)));
}

/**
 * Windows split into sub-ranges (issue 14): the load, then a 10-position window planned whole and a 30-position
 * window planned in three sub-ranges, each read by its own activity and committed by one manifest. Recorded as
 * `table-sync-sub-ranges.json`; `table-sync-sub-ranges-before-upgrade.json` is the same run recorded before the
 * `sub-range-activity` patch (each sub-range an `extractWindow` with `subRange`), kept, not re-recorded.
 */
async function recordSubRanges(): Promise<void> {
  source = { maxPosition: 10, minPosition: 0, snapshotRows: 100, snapshotChunks: 1, subRangeSize: 10 };
  lake = { manifests: new Map(), watermark: null, extractAttempts: [] };
  const h = await env.client.workflow.start(tableSyncWorkflow, {
    taskQueue,
    workflowId: tableSyncWorkflowId('Claims.dbo.ReplaySubRanges'),
    args: [{ table: { id: 'Claims.dbo.ReplaySubRanges', strategy: 'updated_at' }, cadenceSeconds: 60 }],
  });
  const at = async (position: number) => {
    while ((await h.query(statusQuery)).position !== positionOf(position)) await new Promise((r) => setTimeout(r, 50));
  };
  await at(10);
  source.maxPosition = 20;
  await env.sleep(61_000);
  await at(20);
  source.maxPosition = 50;
  await env.sleep(61_000);
  await at(50);
  await h.terminate();
  writeFileSync(
    new URL('./histories/table-sync-sub-ranges.json', import.meta.url),
    pretty(historyToJSON(await h.fetchHistory())),
  );
}
