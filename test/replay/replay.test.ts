import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Worker } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { WORKFLOWS_PATH } from '../support/temporal.js';

/** Recorded by test/replay/record-histories.ts from real runs on the time-skipping server. */
const load = (name: string): { events: Record<string, unknown>[] } =>
  JSON.parse(readFileSync(new URL(`./histories/${name}.json`, import.meta.url), 'utf8')) as {
    events: Record<string, unknown>[];
  };

// table-sync-before-more: recorded before the wait-after-uncapped-window patch (every window went straight on).
// table-sync-before-cadence: table-sync as recorded before the cadence-from-turn-start and commit-advances-watermark
// patches (a full cadence after each window; advanceWatermark as its own activity); table-sync is recorded with them.
// table-sync-stops-and-jobs: a stop on readWatermark and resume, a backfill failing in its second chunk, idle
// windows committed only every idleCommitSeconds (the failure policy and idle windows of issue 12).
// table-sync-jobs-and-gap (and its sweep child): recorded before the sync loop was split into named steps (issue
// 13): jobs that succeed, pause-now, a stop and resume, a gap's re-seed, continue-as-new.
// snapshot-continue-as-new / snapshot-resumed: a chunked job's first run and a resumed run, each ending in
// continue-as-new (issue 14); snapshot and sweep were recorded before it, and replay without it.
for (const name of [
  'table-sync',
  'table-sync-before-more',
  'table-sync-before-cadence',
  'table-sync-more',
  'table-sync-stops-and-jobs',
  'table-sync-jobs-and-gap',
  'snapshot',
  'sweep',
  'snapshot-continue-as-new',
  'snapshot-resumed',
]) {
  test(`today's workflow code replays the recorded ${name} history`, async () => {
    await Worker.runReplayHistory({ workflowsPath: WORKFLOWS_PATH }, load(name), `${name}-replay`);
  });
}

test('a history the code would not produce fails replay with a determinism error', async () => {
  const history = load('table-sync');
  // Alter what the workflow did: the first activity it scheduled becomes one it never schedules there.
  const scheduled = history.events.find((e) => e.activityTaskScheduledEventAttributes);
  assert.ok(scheduled, 'the recorded history schedules activities');
  const attrs = scheduled.activityTaskScheduledEventAttributes as { activityType: { name: string } };
  assert.notEqual(attrs.activityType.name, 'commitManifest');
  attrs.activityType.name = 'commitManifest';
  await assert.rejects(
    Worker.runReplayHistory({ workflowsPath: WORKFLOWS_PATH }, history, 'altered'),
    DeterminismViolationError,
  );
});
