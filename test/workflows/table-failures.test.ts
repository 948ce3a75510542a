/**
 * The table-sync workflow's failure policy and idle windows on the time-skipping server (fake activities that
 * inject the failures; the real ones meet them in test/e2e/table-state.test.ts): every failure that retrying
 * cannot fix ends in a visibly stopped table or a failed job — never a FAILED workflow or a table blocked by a
 * job — and an idle table does not commit an empty manifest every cadence.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { WorkflowHandle } from '@temporalio/client';
import { FailureType } from '../../src/domain/failures.js';
import { jobWorkflowId } from '../../src/workflows/index.js';
import { requestJobSignal, resumeSignal, syncNowSignal } from '../../src/workflows/messages.js';
import { positionOf } from './fake-table-activities.js';
import { assertManifestChain, eventually, startSyncHarness, status, type SyncHarness } from './sync-harness.js';

let h: SyncHarness;

before(async () => {
  h = await startSyncHarness('table-failures-test');
});

after(async () => {
  await h.stop();
});

const loaded = (w: WorkflowHandle) =>
  eventually(async () => assert.equal((await status(w)).lastCommitted?.seq, h.source.snapshotChunks));

/** The sync workflow is still running (not FAILED). */
async function assertRunning(w: WorkflowHandle): Promise<void> {
  assert.equal((await w.describe()).status.name, 'RUNNING');
}

describe('a table stops with its reason instead of failing its workflow', () => {
  test(
    'a table the source does not have (readWatermark fails) stops with the reason; resume goes on once fixed',
    { timeout: 120_000 },
    async () => {
      const w = await h.start('Missing', {}, (source) => (source.failReadWatermark = FailureType.Config));
      await eventually(async () => assert.equal((await status(w)).mode, 'stopped'));
      const s = await status(w);
      assert.match(s.stoppedReason ?? '', /^ConfigError: injected: no such table/);
      assert.deepEqual((await w.describe()).searchAttributes.TidemarkState, ['stopped']);
      await assertRunning(w);

      h.source.failReadWatermark = undefined; // the operator created the table / fixed the config
      await w.signal(resumeSignal);
      await loaded(w);
      assert.equal((await status(w)).mode, 'running');
      await w.terminate();
    },
  );

  test(
    'a permanent failure of a type outside the contract (SourceQueryError) stops the table',
    { timeout: 120_000 },
    async () => {
      const w = await h.start('Permanent');
      await loaded(w);
      h.source.failNextExtract = 'SourceQueryError';
      h.source.maxPosition = 20;
      await w.signal(syncNowSignal);
      await eventually(async () => assert.equal((await status(w)).mode, 'stopped'));
      assert.match((await status(w)).stoppedReason ?? '', /^SourceQueryError: injected SourceQueryError/);
      await assertRunning(w);
      await w.signal(resumeSignal);
      await eventually(async () => assert.equal((await status(w)).position, positionOf(20)));
      assertManifestChain(h.lake);
      await w.terminate();
    },
  );

  test(
    'an initial load that fails stops the table with its reason; resume runs it again',
    { timeout: 120_000 },
    async () => {
      const w = await h.start('LoadFails', {}, (source) => {
        // The last chunk fails, once the others committed: nothing of the job is still running when it fails (the
        // time-skipping server stops skipping time for good when an activity of a failed workflow was in flight).
        source.failChunk = { kind: 'snapshot', index: 2, type: 'UnsupportedTypeError' };
      });
      await eventually(async () => assert.equal((await status(w)).mode, 'stopped'));
      const s = await status(w);
      assert.match(s.stoppedReason ?? '', /snapshot job failed: UnsupportedTypeError: injected/);
      assert.deepEqual(
        s.jobs.map((j) => [j.kind, j.state]),
        [['snapshot', 'failed']],
      );
      assert.equal(s.position, null);
      await assertRunning(w);

      await w.signal(resumeSignal);
      await eventually(async () => assert.equal((await status(w)).position, positionOf(10)));
      // The first attempt committed chunks 0 and 1 (windows 1, 2) before chunk 2 failed; the second snapshot follows.
      assert.deepEqual(
        [...h.lake.manifests.values()].map((m) => m.kind),
        ['snapshot', 'snapshot', 'snapshot', 'snapshot', 'snapshot'],
      );
      assertManifestChain(h.lake);
      await w.terminate();
    },
  );
});

describe('a job that cannot finish ends failed and the table goes on', () => {
  test(
    'a backfill failing for good ends failed with its reason; the next window follows its committed chunks',
    { timeout: 120_000 },
    async () => {
      const w = await h.start('BadBackfill');
      await loaded(w);
      // The error SQL Server gave `--from 2026-02-30` (241), met in the last chunk after the others committed.
      h.source.failChunk = { kind: 'backfill', index: 2, type: 'SourceQueryError' };
      h.source.jobChunks = 3;
      await w.signal(requestJobSignal, { id: 'bf-1', job: { kind: 'backfill', from: '2026-01-01', to: '2026-02-01' } });
      await eventually(async () =>
        assert.deepEqual(
          (await status(w)).jobs.map((j) => [j.id, j.state]),
          [
            ['reseed-1', 'done'],
            ['bf-1', 'failed'],
          ],
        ),
      );
      const s = await status(w);
      assert.match(s.jobs[1]?.reason ?? '', /^SourceQueryError: injected SourceQueryError in chunk 2/);
      assert.match(s.lastError ?? '', /backfill job bf-1 failed/);
      assert.equal(s.mode, 'running');

      h.source.maxPosition = 30;
      await w.signal(syncNowSignal);
      await eventually(async () => assert.equal((await status(w)).position, positionOf(30)));
      assert.deepEqual(
        [...h.lake.manifests.values()].map((m) => m.kind),
        ['snapshot', 'snapshot', 'snapshot', 'backfill', 'backfill', 'changes'],
      );
      assertManifestChain(h.lake);
      await w.terminate();
    },
  );

  test(
    'a job request with a date that does not exist is refused at once and never blocks the table',
    { timeout: 120_000 },
    async () => {
      const w = await h.start('NoSuchDate');
      await loaded(w);
      await w.signal(requestJobSignal, { id: 'bf-2', job: { kind: 'backfill', from: '2026-02-30', to: '2026-03-01' } });
      await eventually(async () => assert.equal((await status(w)).jobs.find((j) => j.id === 'bf-2')?.state, 'failed'));
      assert.match(
        (await status(w)).jobs.find((j) => j.id === 'bf-2')?.reason ?? '',
        /'2026-02-30' is not a calendar date/,
      );
      h.source.maxPosition = 20;
      await w.signal(syncNowSignal);
      await eventually(async () => assert.equal((await status(w)).position, positionOf(20)));
      assert.equal(
        [...h.lake.manifests.values()].filter((m) => m.kind === 'backfill').length,
        0,
        'the refused job never ran',
      );
      await w.terminate();
    },
  );
});

describe('idle tables', () => {
  // A time-skipping server of its own: after a workflow whose activity failed for good was resumed, the shared
  // server sometimes stopped skipping time for good (seen under load: every env.sleep then took real time).
  let idle: SyncHarness;
  before(async () => {
    idle = await startSyncHarness('table-idle-test');
  });
  after(async () => {
    await idle.stop();
  });

  test(
    'an idle table commits an empty window at most once per idle-commit interval, shows it is caught up, and a later change lands',
    { timeout: 120_000 },
    async () => {
      const w = await idle.start('Idle', { idleCommitSeconds: 600 });
      await eventually(async () => assert.equal((await status(w)).lastCommitted?.seq, 3));
      idle.source.tableChangedUpTo = 10; // from now on the source's position moves, but not with this table's changes
      const manifestsAfterLoad = idle.lake.manifests.size;
      // 25 cadences of 60 s: the position moves by 1 each, every window would be empty.
      for (let cadence = 1; cadence <= 25; cadence++) {
        idle.source.maxPosition = 10 + cadence;
        await idle.sleep(61_000);
        // Caught up to the source's position: recorded as such, or committed in an (empty) window.
        await eventually(async () => {
          const s = await status(w);
          assert.equal(s.caughtUpTo ?? s.position, positionOf(10 + cadence));
        });
      }
      const empty = [...idle.lake.manifests.values()].slice(manifestsAfterLoad);
      assert.ok(empty.every((m) => m.kind === 'changes' && m.rows === 0));
      // 25 minutes idle, one empty window per 10 minutes at most (before: one per cadence, 25).
      assert.ok(empty.length >= 2 && empty.length <= 3, `${empty.length} empty windows in 25 idle minutes`);
      const s = await status(w);
      assert.equal(s.lagSeconds, 0, 'an idle table is caught up');
      assert.equal(s.caughtUpTo, positionOf(35));

      // A change after idling lands, in a window that starts where the last committed one ended.
      idle.source.maxPosition = 40;
      idle.source.tableChangedUpTo = 40;
      await idle.sleep(61_000);
      await eventually(async () => assert.equal((await status(w)).position, positionOf(40)));
      const last = [...idle.lake.manifests.values()].at(-1);
      assert.ok(last && last.rows > 0);
      assert.equal((await status(w)).caughtUpTo, null);
      assertManifestChain(idle.lake);
      await w.terminate();
    },
  );
});

describe('on the dev server (the time-skipping server never tells a parent that its child was terminated)', () => {
  let dev: SyncHarness;
  before(async () => {
    dev = await startSyncHarness(`table-failures-dev-${Date.now().toString(36)}`, 'dev');
  });
  after(async () => {
    await dev.stop();
  });

  test('a job terminated from the Web UI ends failed; the sync goes on', { timeout: 120_000 }, async () => {
    const w = await dev.start(`Terminated${Date.now().toString(36)}`);
    await eventually(async () => assert.equal((await status(w)).lastCommitted?.seq, 3));
    let open!: () => void;
    dev.source.jobGate = new Promise<void>((r) => (open = r));
    try {
      await w.signal(requestJobSignal, { id: 'sw-1', job: { kind: 'sweep', days: 30 } });
      const tableId = w.workflowId.slice('table-sync/'.length);
      const job = dev.client.workflow.getHandle(jobWorkflowId(tableId, 'sweep', 'sw-1'));
      await eventually(async () => assert.equal((await job.describe()).status.name, 'RUNNING'));
      await job.terminate('operator: wrong table');
      await eventually(async () => assert.equal((await status(w)).jobs.find((j) => j.id === 'sw-1')?.state, 'failed'));
      assert.match((await status(w)).jobs.find((j) => j.id === 'sw-1')?.reason ?? '', /terminated/);
      await assertRunning(w);
    } finally {
      open(); // the terminated job's chunk activity (still held) ends, so the worker can shut down
      dev.source.jobGate = undefined;
    }

    dev.source.maxPosition = 25;
    await w.signal(syncNowSignal);
    await eventually(async () => assert.equal((await status(w)).position, positionOf(25)));
    assert.equal((await status(w)).mode, 'running');
    assertManifestChain(dev.lake);
    await w.terminate();
  });
});
