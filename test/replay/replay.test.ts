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
// table-sync-sub-ranges-before-upgrade: a window split into three sub-ranges, recorded before the
// sub-range-activity patch (each an extractWindow with subRange: runs open at the upgrade must go on so);
// table-sync-sub-ranges: the same run with it (each an extractSubRange, which older workers do not register).
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
  'table-sync-sub-ranges-before-upgrade',
  'table-sync-sub-ranges',
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

test('a run recorded before the sub-range-activity patch keeps reading its sub-ranges with extractWindow', async () => {
  // The patch is what lets it replay: the same history with its sub-range reads renamed as the patched branch
  // schedules them, but without the patch's marker, is not what today's code would do there.
  const history = load('table-sync-sub-ranges-before-upgrade');
  const reads = history.events
    .map((e) => e.activityTaskScheduledEventAttributes as { activityType: { name: string }; input: unknown })
    .filter((a) => a && a.activityType.name === 'extractWindow' && /"subRange":/.test(inputText(a.input)));
  assert.equal(reads.length, 3, 'the recorded window was read in three sub-ranges');
  for (const a of reads) a.activityType.name = 'extractSubRange';
  await assert.rejects(
    Worker.runReplayHistory({ workflowsPath: WORKFLOWS_PATH }, history, 'renamed-without-marker'),
    DeterminismViolationError,
  );
});

/** The JSON text of a recorded activity input (payloads base64-encoded in the history's JSON form). */
function inputText(input: unknown): string {
  const payloads = (input as { payloads?: { data?: string }[] } | undefined)?.payloads ?? [];
  return payloads.map((p) => Buffer.from(p.data ?? '', 'base64').toString('utf8')).join('');
}
