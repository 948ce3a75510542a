/**
 * The transitions of a table's sync state, without Temporal: what each window, job, failure and operator signal
 * does to the mode, the position, the sequence and what `status` shows.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { JobOutput } from '../../../src/domain/jobs.js';
import type { WindowPlan } from '../../../src/domain/window.js';
import { initialSnapshot, TableSyncState } from '../../../src/state/table-sync-state.js';

const table = { id: 'Claims.dbo.Claim', strategy: 'cdc' as const };
const at = '2026-12-06T10:00:00.000Z';
const window = (seq: number, from: string | null, to: string): WindowPlan => ({
  seq,
  kind: 'changes',
  from,
  to,
  plannedAt: at,
});
const synced = (position = 'p10', nextSeq = 4) => new TableSyncState(initialSnapshot(table, position, nextSeq));
const jobOutput = (kind: JobOutput['kind'], lastSeq: number, position = 'p50'): JobOutput => ({
  kind,
  position,
  lastSeq,
  lastManifestPath: `_manifests/${lastSeq}.json`,
  windows: 3,
  rows: 300,
  sourceRowsRead: 300,
  chunks: 3,
});

test('a window keeps its planned bounds until it commits; the commit moves position and sequence', () => {
  const state = synced();
  assert.throws(() => state.planned(window(5, 'p10', 'p20'), 1), /planned window 5 but the next sequence is 4/);
  state.planned(window(4, 'p10', 'p20'), 7);
  assert.equal(state.nextAttempt(), 1);
  assert.equal(state.nextAttempt(), 2, 'each attempt has its own number (staged file names)');
  assert.deepEqual(state.pendingWindow, window(4, 'p10', 'p20'));
  state.committed(window(4, 'p10', 'p20'), 500, '_manifests/4.json', at, 2000, 'p19');
  const s = state.status();
  assert.equal(s.position, 'p19', "the read's refined end");
  assert.equal(state.nextSeq, 5);
  assert.equal(state.pendingWindow, null);
  assert.deepEqual([s.windowsCommitted, s.rowsCommitted, s.rowsPerSecond, s.lagSeconds], [1, 500, 250, 7]);
  state.planned(window(5, 'p19', 'p30'), 0);
  assert.equal(state.nextAttempt(), 1, 'a new window starts its attempts again');
});

test('pause takes effect at a window boundary; resume runs the table again and clears the reason', () => {
  const state = synced();
  state.pauseAtBoundary();
  assert.equal(state.mode, 'running', 'no pause was asked');
  state.requestPause('OLTP incident');
  assert.equal(state.mode, 'running', 'not before the boundary');
  assert.equal(state.status().pauseReason, 'OLTP incident');
  state.pauseAtBoundary();
  assert.deepEqual([state.mode, state.held, state.status().paused], ['paused', true, true]);
  state.resume();
  assert.deepEqual(
    [state.mode, state.held, state.pauseRequested, state.status().pauseReason],
    ['running', false, false, null],
  );
});

test('a stopped table shows its reason until resumed; resume does not touch a re-seeding table', () => {
  const state = synced();
  state.stop('SourceQueryError: error 241');
  const s = state.status();
  assert.deepEqual([s.mode, s.stoppedReason, s.lastError], ['stopped', 'SourceQueryError: error 241', s.stoppedReason]);
  assert.equal(state.held, true);
  state.resume();
  assert.deepEqual([state.mode, state.status().stoppedReason], ['running', null]);
  state.beginReseed('gap');
  state.resume();
  assert.equal(state.mode, 'reseeding');
});

test('a re-seed drops the pending window and runs its snapshot before queued jobs, under a fresh id', () => {
  const state = synced();
  state.requestJob({ id: 'bf-1', job: { kind: 'backfill', from: '2026-01-01', to: '2026-02-01' } });
  state.planned(window(4, 'p10', 'p20'), 1);
  const request = state.beginReseed('cleanup passed the watermark');
  assert.deepEqual(request, { id: 'reseed-4', job: { kind: 'snapshot', reason: 'cleanup passed the watermark' } });
  assert.equal(state.mode, 'reseeding');
  assert.equal(state.pendingWindow, null, 'its sequence number is free again');
  assert.deepEqual(
    state.queuedJobs.map((j) => j.id),
    ['bf-1'],
  );
  // The snapshot failed before committing anything: the next re-seed at the same sequence gets its own id.
  state.jobFailed('reseed-4', 'snapshot', 'ConfigError: no such table', at);
  assert.equal(state.beginReseed('again')?.id, 'reseed-4-2');
});

test('a snapshot moves the position and ends the re-seed; other jobs only take sequence numbers', () => {
  const state = synced('p10', 4);
  state.beginReseed('gap');
  state.jobDone('reseed-4', jobOutput('snapshot', 6, 'p50'), at, 1000);
  assert.deepEqual([state.mode, state.position, state.nextSeq], ['running', 'p50', 7]);
  state.requestJob({ id: 'sw-1', job: { kind: 'sweep', days: 7 } });
  const sweep = state.startNextJob();
  assert.equal(sweep?.id, 'sw-1');
  state.jobDone('sw-1', jobOutput('sweep', 9, 'p99'), at, 1000);
  const s = state.status();
  assert.deepEqual([s.position, state.nextSeq, s.lastCommitted?.seq], ['p50', 10, 9]);
  assert.deepEqual(
    s.jobs.map((j) => [j.id, j.state]),
    [
      ['reseed-4', 'done'],
      ['sw-1', 'done'],
    ],
  );
});

test('a failed job makes the sync read the lake watermark before going on', () => {
  const state = synced();
  assert.equal(state.mustReadWatermark, false);
  state.jobFailed('bf-1', 'backfill', 'SourceQueryError: error 241', at);
  assert.equal(state.mustReadWatermark, true);
  assert.equal(state.status().lastError, 'backfill job bf-1 failed: SourceQueryError: error 241');
  state.restored('p10', 5, at);
  assert.deepEqual([state.mustReadWatermark, state.nextSeq], [false, 6]);
});

test('job requests: repeated ids are ignored, wrong arguments fail at once, the record keeps the last 20', () => {
  const state = synced();
  state.requestJob({ id: 'sw-1', job: { kind: 'sweep', days: 30 } });
  state.requestJob({ id: 'sw-1', job: { kind: 'sweep', days: 30 } });
  state.requestJob({ id: 'bf-bad', job: { kind: 'backfill', from: '2026-02-30', to: '2026-03-01' } });
  assert.deepEqual(
    state.queuedJobs.map((j) => j.id),
    ['sw-1'],
  );
  const bad = state.status().jobs.find((j) => j.id === 'bf-bad');
  assert.equal(bad?.state, 'failed');
  assert.match(bad?.reason ?? '', /'2026-02-30' is not a calendar date/);
  for (let i = 0; i < 25; i++) state.requestJob({ id: `r-${i}`, job: { kind: 'reconcile' } });
  const jobs = state.status().jobs;
  assert.equal(jobs.length, 20);
  assert.equal(jobs.at(-1)?.id, 'r-24');
});

test('an idle window is committed only once the position is older than the idle interval', () => {
  const state = new TableSyncState(initialSnapshot(table, 'p10', 4));
  assert.equal(state.idleWindowDue(Date.parse(at), 3_600_000), true, 'never committed: due');
  state.restored('p10', 3, at);
  assert.equal(state.idleWindowDue(Date.parse(at) + 60_000, 3_600_000), false);
  assert.equal(state.idleWindowDue(Date.parse(at) + 3_600_000, 3_600_000), true);
  state.caughtUp('p12', 0);
  assert.deepEqual([state.status().caughtUpTo, state.status().lagSeconds, state.position], ['p12', 0, 'p10']);
});

test('the snapshot carries everything through continue-as-new', () => {
  const state = synced();
  state.planned(window(4, 'p10', 'p20'), 3);
  state.nextAttempt();
  state.requestJob({ id: 'sw-1', job: { kind: 'sweep', days: 30 } });
  state.stop('ConfigError: x');
  const next = new TableSyncState(state.snapshot);
  assert.deepEqual(next.status(), state.status());
  assert.deepEqual(next.pendingWindow, state.pendingWindow);
  assert.equal(next.nextAttempt(), 2, 'the attempt count goes on');
});
