import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { WorkflowHandle } from '@temporalio/client';
import { FailureType } from '../../src/domain/failures.js';
import {
  pauseSignal,
  requestJobSignal,
  resumeSignal,
  statusQuery,
  syncNowSignal,
} from '../../src/workflows/messages.js';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { tableSyncWorkflow } from '../../src/workflows/index.js';
import { positionOf, type FakeLake, type FakeSource } from './fake-table-activities.js';
import { assertManifestChain, eventually, startSyncHarness, status, type SyncHarness } from './sync-harness.js';

/** The parts of the harness these tests use. */
let env: Pick<SyncHarness, 'sleep' | 'client'>;
let h$: SyncHarness;
let source: FakeSource;
let lake: FakeLake;

interface JsonEvent {
  eventType: string;
  activityTaskScheduledEventAttributes?: { activityType?: { name?: string } };
  timerStartedEventAttributes?: { startToFireTimeout?: string };
}

/** What the workflow has done so far, from its history: planWindow calls, timers started, waiting on a timer. */
async function planAndTimerCounts(h: WorkflowHandle): Promise<{ plans: number; timers: number; waiting: boolean }> {
  const events = (JSON.parse(historyToJSON(await h.fetchHistory())) as { events: JsonEvent[] }).events;
  const plans = events.filter(
    (e) =>
      e.eventType === 'EVENT_TYPE_ACTIVITY_TASK_SCHEDULED' &&
      e.activityTaskScheduledEventAttributes?.activityType?.name === 'planWindow',
  ).length;
  const timers = events.filter((e) => e.eventType === 'EVENT_TYPE_TIMER_STARTED').length;
  const last = [...events].reverse().find((e) => !/WORKFLOW_TASK|MARKER_RECORDED/.test(e.eventType));
  return { plans, timers, waiting: last?.eventType === 'EVENT_TYPE_TIMER_STARTED' };
}

/** The duration of the last timer the workflow started, seconds. */
async function lastTimerSeconds(h: WorkflowHandle): Promise<number> {
  const events = (JSON.parse(historyToJSON(await h.fetchHistory())) as { events: JsonEvent[] }).events;
  const timer = events.filter((e) => e.eventType === 'EVENT_TYPE_TIMER_STARTED').at(-1);
  return parseFloat(timer?.timerStartedEventAttributes?.startToFireTimeout ?? 'NaN');
}

describe('tableSyncWorkflow on the time-skipping server', () => {
  before(async () => {
    h$ = await startSyncHarness('table-sync-test');
    env = h$;
  });

  after(async () => {
    await h$.stop();
  });

  /** Starts a fresh table; `source` and `lake` are then the new test's. */
  const start = async (name: string, extra: Record<string, unknown> = {}) => {
    const handle = await h$.start(name, extra);
    source = h$.source;
    lake = h$.lake;
    return handle;
  };

  test('loads the table first, then commits one window per change, each starting where the last ended', async () => {
    const h = await start('Loop');
    await eventually(async () => assert.equal((await status(h)).lastCommitted?.seq, 3));
    assert.equal(lake.watermark, positionOf(10), 'after the snapshot the watermark is the position read before it');
    assert.deepEqual(
      [...lake.manifests.values()].map((m) => m.kind),
      ['snapshot', 'snapshot', 'snapshot'],
    );

    source.maxPosition = 25;
    await env.sleep(61_000);
    await eventually(async () => assert.equal((await status(h)).position, positionOf(25)));
    source.maxPosition = 40;
    await env.sleep(61_000);
    await eventually(async () => assert.equal((await status(h)).position, positionOf(40)));

    const s = await status(h);
    assert.equal(s.mode, 'running');
    assert.equal(s.lastCommitted?.seq, 5);
    assert.equal(s.lastCommitted?.from, positionOf(25));
    assert.equal(s.rowsCommitted, 300 + 15 + 15);
    assertManifestChain(lake);
    assert.equal(lake.watermark, positionOf(40));
    await h.terminate();
  });

  test('a capped window goes straight on to the next; an uncapped one waits for the cadence', async () => {
    const h = await start('More');
    source.windowCap = 10;
    await eventually(async () => assert.equal((await status(h)).lastCommitted?.seq, 3));
    await eventually(async () => assert.deepEqual(await planAndTimerCounts(h), { plans: 1, timers: 1, waiting: true }));

    // 35 new positions, at most 10 per window: windows 4–6 are capped and run back to back without any time
    // passing (the time-skipping server is not asked to skip); window 7 is not capped.
    source.maxPosition = 45;
    await h.signal(syncNowSignal);
    await eventually(async () => assert.equal((await status(h)).position, positionOf(45)));
    assert.deepEqual(
      [4, 5, 6, 7].map((seq) => [lake.manifests.get(seq)?.from, lake.manifests.get(seq)?.to]),
      [
        [positionOf(10), positionOf(20)],
        [positionOf(20), positionOf(30)],
        [positionOf(30), positionOf(40)],
        [positionOf(40), positionOf(45)],
      ],
    );
    // After the uncapped window 7 the workflow waits for its cadence: no fifth plan, a second timer.
    await eventually(async () => assert.deepEqual(await planAndTimerCounts(h), { plans: 5, timers: 2, waiting: true }));

    source.maxPosition = 50;
    await env.sleep(61_000);
    await eventually(async () => assert.equal((await status(h)).position, positionOf(50)));
    await eventually(async () => assert.deepEqual(await planAndTimerCounts(h), { plans: 6, timers: 3, waiting: true }));
    assertManifestChain(lake);
    await h.terminate();
  });

  test("the watermark moves to the read's refined end, which the commit recorded; the next window starts there", async () => {
    const h = await start('Resume');
    source.resumeShortBy = 2;
    await eventually(async () => assert.equal((await status(h)).lastCommitted?.seq, 3));
    source.maxPosition = 30;
    await h.signal(syncNowSignal);
    await eventually(async () => assert.equal((await status(h)).position, positionOf(28)));
    assert.equal(lake.manifests.get(4)?.to, positionOf(30));
    assert.equal(lake.manifests.get(4)?.resume, positionOf(28));
    assert.equal(lake.watermark, positionOf(28));
    await env.sleep(61_000);
    // The fake read always resumes 2 short of `to`, so every later window re-reads (28, 30]: the time-skipping
    // server may already have run window 6 after the next cadence by the time this looks (seen under load).
    await eventually(async () => {
      const seq = (await status(h)).lastCommitted?.seq ?? 0;
      assert.ok(seq >= 5, `window ${seq} is the last committed, not 5 or later`);
    });
    assert.equal(lake.manifests.get(5)?.from, positionOf(28));
    assertManifestChain(lake);
    await h.terminate();
  });

  test('the cadence counts from the start of a window: a 20 s window is followed 40 s later at a 60 s cadence', async () => {
    const h = await start('CadenceFromStart');
    await eventually(async () => assert.equal((await status(h)).lastCommitted?.seq, 3));
    await eventually(async () => assert.deepEqual(await planAndTimerCounts(h), { plans: 1, timers: 1, waiting: true }));
    // Window 4 is held in its read while 20 s of workflow time pass, then let go.
    let release!: () => void;
    source.extractGate = new Promise<void>((r) => (release = r));
    source.maxPosition = 20;
    await h.signal(syncNowSignal);
    await eventually(() => assert.deepEqual(lake.extractAttempts.at(-1), { seq: 4, attempt: 1 }));
    await env.sleep(20_000);
    release();
    await eventually(async () => assert.deepEqual(await planAndTimerCounts(h), { plans: 2, timers: 2, waiting: true }));
    assert.equal((await status(h)).position, positionOf(20));
    // The timer after window 4 is what is left of the cadence (before: a full 60 s after the window's end).
    const timer = await lastTimerSeconds(h);
    assert.ok(timer <= 41 && timer >= 35, `the cadence timer after a 20 s window is ${timer} s, not 60 - 20`);
    await h.terminate();
  });

  test('the commit step moves the watermark: a window schedules no advanceWatermark activity of its own', async () => {
    const h = await start('CommitAdvances');
    await eventually(async () => assert.equal((await status(h)).lastCommitted?.seq, 3));
    // Wait until the first turn after the snapshot is waiting out its cadence: a source that moves (and a signal
    // that arrives) while that turn still plans lets it read the window itself, which is one timer fewer.
    await eventually(async () => assert.deepEqual(await planAndTimerCounts(h), { plans: 1, timers: 1, waiting: true }));
    source.maxPosition = 20;
    await h.signal(syncNowSignal);
    await eventually(async () => assert.equal((await status(h)).position, positionOf(20)));
    assert.equal(lake.watermark, positionOf(20));
    await eventually(async () => assert.deepEqual(await planAndTimerCounts(h), { plans: 2, timers: 2, waiting: true }));
    const events = (JSON.parse(historyToJSON(await h.fetchHistory())) as { events: JsonEvent[] }).events;
    const advances = events.filter(
      (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'advanceWatermark',
    ).length;
    assert.equal(advances, 1, 'only the snapshot job advances the watermark with its own activity');
    await h.terminate();
  });

  test('a turn that committed nothing waits at least half the cadence, however long its plan took', async () => {
    const h = await start('SlowEmptyPlan', { cadenceSeconds: 20 });
    await eventually(async () => assert.equal((await status(h)).lastCommitted?.seq, 3));
    await eventually(async () => assert.deepEqual(await planAndTimerCounts(h), { plans: 1, timers: 1, waiting: true }));
    // The next plan (nothing new at the source) is held while 25 s of workflow time pass: longer than the cadence.
    let release!: () => void;
    source.planGate = new Promise<void>((r) => (release = r));
    await h.signal(syncNowSignal);
    await eventually(async () =>
      assert.deepEqual(await planAndTimerCounts(h), { plans: 2, timers: 1, waiting: false }),
    );
    await env.sleep(25_000);
    source.planGate = undefined;
    release();
    // Not straight into a third plan: a timer of half the cadence (before the patch: the full cadence).
    await eventually(async () => assert.deepEqual(await planAndTimerCounts(h), { plans: 2, timers: 2, waiting: true }));
    const timer = await lastTimerSeconds(h);
    assert.ok(timer >= 9 && timer <= 11, `the timer after an empty 25 s turn at a 20 s cadence is ${timer} s, not 10`);
    await h.terminate();
  });

  test('pause takes effect at a window boundary; resume catches up', async () => {
    const h = await start('Pause');
    await eventually(async () => assert.equal((await status(h)).lastCommitted?.seq, 3));
    await h.signal(pauseSignal, { reason: 'OLTP incident' });
    await eventually(async () => assert.equal((await status(h)).mode, 'paused'));
    source.maxPosition = 50;
    await env.sleep(300_000);
    assert.equal((await status(h)).lastCommitted?.seq, 3, 'nothing is read while paused');
    const { searchAttributes } = await h.describe();
    assert.deepEqual(searchAttributes.TidemarkState, ['paused'], 'the Web UI can filter paused tables');

    await h.signal(resumeSignal);
    await eventually(async () => assert.equal((await status(h)).position, positionOf(50)));
    assertManifestChain(lake);
    await h.terminate();
  });

  test('pause now cancels the in-flight window; on resume it is retried with the same bounds under a new attempt', async () => {
    // Cancellation reaches an activity with its next heartbeat, throttled to 80% of the heartbeat timeout.
    const h = await start('PauseNow', { timeouts: { heartbeatSeconds: 2 } });
    await eventually(async () => assert.equal((await status(h)).lastCommitted?.seq, 3));
    let open!: () => void;
    source.extractGate = new Promise<void>((r) => (open = r));
    source.maxPosition = 30;
    // Woken by signal, not by skipping time: the test server does not skip time while an activity runs.
    await h.signal(syncNowSignal);
    await eventually(() =>
      assert.ok(
        lake.extractAttempts.some((a) => a.seq === 4),
        'window 4 is being read',
      ),
    );
    await h.signal(pauseSignal, { now: true });
    await eventually(async () => assert.equal((await status(h)).mode, 'paused'));
    assert.equal(lake.manifests.has(4), false, 'the cancelled window did not commit');

    source.maxPosition = 45; // more changes while paused: window 4 must still end at 30
    source.extractGate = undefined;
    open();
    await h.signal(resumeSignal);
    await eventually(async () => assert.equal((await status(h)).position, positionOf(30)));
    assert.equal(lake.manifests.get(4)?.to, positionOf(30), 'window 4 kept the bounds it was planned with');
    await env.sleep(61_000); // window 4 was not capped: the next one waits for the cadence
    await eventually(async () => assert.equal((await status(h)).position, positionOf(45)));
    assert.deepEqual(
      lake.extractAttempts.filter((a) => a.seq === 4).map((a) => a.attempt),
      [1, 2],
    );
    assertManifestChain(lake);
    await h.terminate();
  });

  test('continues as new when asked, carrying the watermark and counters', async () => {
    const h = await start('ContinueAsNew', { maxWindowsPerRun: 2 });
    await eventually(async () => assert.equal((await status(h)).lastCommitted?.seq, 3));
    for (const p of [20, 30, 40]) {
      source.maxPosition = p;
      await env.sleep(61_000);
      await eventually(async () =>
        assert.equal((await env.client.workflow.getHandle(h.workflowId).query(statusQuery)).position, positionOf(p)),
      );
    }
    const latest = env.client.workflow.getHandle(h.workflowId);
    const desc = await latest.describe();
    assert.notEqual(desc.runId, h.firstExecutionRunId, 'a new run was started');
    const s = await latest.query(statusQuery);
    assert.equal(s.windowsCommitted, 6, 'counters survive continue-as-new');
    assert.equal(s.lastCommitted?.seq, 6);
    assertManifestChain(lake);
    await latest.terminate();
  });

  test('a change-log gap starts a re-seed, and sync resumes after it', async () => {
    const h = await start('Gap');
    await eventually(async () => assert.equal((await status(h)).lastCommitted?.seq, 3));
    source.maxPosition = 100;
    source.minPosition = 60; // cleanup passed the watermark (10)
    await env.sleep(61_000);
    await eventually(async () => assert.equal((await status(h)).lastCommitted?.seq, 6));
    assert.deepEqual(
      [4, 5, 6].map((s) => lake.manifests.get(s)?.kind),
      ['snapshot', 'snapshot', 'snapshot'],
    );
    assert.equal((await status(h)).position, positionOf(100));
    assert.match((await status(h)).lastError ?? '', /below the source's minimum/);
    await h.terminate();
  });

  test('a table started again after its workflow ended resumes from the lake instead of loading itself twice', async () => {
    const h = await start('Restart');
    await eventually(async () => assert.equal((await status(h)).lastCommitted?.seq, 3));
    source.maxPosition = 20;
    await env.sleep(61_000);
    await eventually(async () => assert.equal((await status(h)).position, positionOf(20)));
    await h.terminate();

    source.maxPosition = 35;
    const again = await env.client.workflow.start(tableSyncWorkflow, {
      taskQueue: 'table-sync-test',
      workflowId: h.workflowId,
      args: [{ table: { id: 'Claims.dbo.Restart', strategy: 'cdc' }, cadenceSeconds: 60 }],
    });
    await eventually(async () => assert.equal((await status(again)).position, positionOf(35)));
    const s = await status(again);
    assert.equal(s.lastCommitted?.seq, 5, 'the restarted run continued the sequence');
    assert.equal(s.lastCommitted?.from, positionOf(20));
    assert.equal([...lake.manifests.values()].filter((m) => m.kind === 'snapshot').length, 3, 'no second load');
    assertManifestChain(lake);
    await again.terminate();
  });

  test('jobs run between windows, take the next sequence numbers densely, and leave the position alone', async () => {
    const h = await start('Jobs');
    await eventually(async () => assert.equal((await status(h)).lastCommitted?.seq, 3));
    source.unchangedChunks = new Set([1]); // the sweep finds chunk 1 identical in source and lake
    await h.signal(requestJobSignal, { id: 'bf-1', job: { kind: 'backfill', from: '2026-11-01', to: '2026-11-14' } });
    await h.signal(requestJobSignal, { id: 'sw-1', job: { kind: 'sweep', days: 30 } });
    await h.signal(requestJobSignal, { id: 'sw-1', job: { kind: 'sweep', days: 30 } }); // a repeated signal
    await eventually(async () => {
      const s = await status(h);
      assert.deepEqual(
        s.jobs.map((j) => [j.id, j.kind, j.state, j.windows]),
        [
          ['reseed-1', 'snapshot', 'done', 3],
          ['bf-1', 'backfill', 'done', 3],
          ['sw-1', 'sweep', 'done', 2],
        ],
      );
    });
    const s = await status(h);
    assert.equal(s.position, positionOf(10), 'jobs do not move the incremental position');
    assert.equal(s.lastCommitted?.seq, 8);
    assert.deepEqual(
      [4, 5, 6, 7, 8].map((seq) => lake.manifests.get(seq)?.kind),
      ['backfill', 'backfill', 'backfill', 'sweep', 'sweep'],
    );
    assert.equal(lake.manifests.get(8)?.keyRange, '2..null', 'the unchanged chunk took no sequence number');

    source.maxPosition = 20; // incremental sync continues after the jobs
    await env.sleep(61_000);
    await eventually(async () => assert.equal((await status(h)).position, positionOf(20)));
    assert.equal(lake.manifests.get(9)?.from, positionOf(10));
    await h.terminate();
  });

  test('an incompatible schema change stops the table with its reason instead of crash-looping', async () => {
    const h = await start('Schema');
    await eventually(async () => assert.equal((await status(h)).lastCommitted?.seq, 3));
    source.failNextExtract = FailureType.IncompatibleSchemaChange;
    source.maxPosition = 20;
    await env.sleep(61_000);
    await eventually(async () => assert.equal((await status(h)).mode, 'stopped'));
    const s = await status(h);
    assert.match(s.stoppedReason ?? '', /IncompatibleSchemaChangeError/);
    const attempts = lake.extractAttempts.length;
    await env.sleep(600_000);
    assert.equal(lake.extractAttempts.length, attempts, 'a stopped table does not retry by itself');
    assert.deepEqual((await h.describe()).searchAttributes.TidemarkState, ['stopped']);

    await h.signal(resumeSignal);
    await eventually(async () => assert.equal((await status(h)).position, positionOf(20)));
    assertManifestChain(lake);
    await h.terminate();
  });
});
