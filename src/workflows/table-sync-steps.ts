/**
 * The steps of a table's sync loop (table-sync.ts), each one thing the loop does at a window boundary. Workflow
 * code (deterministic). What to do about a failure is decided by src/state/failure-policy.ts; the commands each
 * step issues, and their order, are what recorded histories replay (test/replay): change them only behind a
 * `patched()` id (patches.ts).
 */
import { CancellationScope, condition, isCancellation, patched } from '@temporalio/workflow';
import { onWindowFailure, onWindowFailureBeforePatch } from '../state/failure-policy.js';
import { applicationFailureFacts, failureFacts } from './failure-facts.js';
import { CADENCE_FROM_TURN_START_PATCH, STOP_ON_FAILURE_PATCH, WAIT_AFTER_UNCAPPED_WINDOW_PATCH } from './patches.js';
import type { TableSync } from './table-sync-context.js';
import { runTableJob } from './table-jobs.js';
import { syncOneWindow, type WindowOutcome } from './table-window.js';

/** On a fresh start, and after a job ended early, the sync goes on from the lake's watermark. */
export async function readWatermarkIfDue({ state, acts, table }: TableSync): Promise<void> {
  if (!state.mustReadWatermark || state.mode !== 'running') return;
  try {
    const mark = await acts.readWatermark({ table });
    state.restored(mark.position, mark.lastSeq, new Date().toISOString());
  } catch (err) {
    // Before the patch a failure here failed the workflow (e.g. a table that does not exist, FAILED with no note).
    const action = patched(STOP_ON_FAILURE_PATCH) ? onWindowFailure(failureFacts(err)) : { kind: 'rethrow' as const };
    if (action.kind === 'rethrow') throw err;
    state.stop(action.reason);
  }
}

/** A requested pause takes effect; a paused or stopped table waits for resume. True when it waited. */
export async function heldByOperator(sync: TableSync): Promise<boolean> {
  const { state } = sync;
  state.pauseAtBoundary();
  sync.showMode();
  if (!state.held) return false;
  await condition(() => state.mode === 'running');
  return true;
}

/**
 * One turn of the loop: the initial load, a queued job, or a window; a failure is acted on here. Returns the
 * window's outcome, or 'again' when the turn ran no window (the loop starts over).
 */
export async function takeTurn(sync: TableSync): Promise<WindowOutcome | 'again'> {
  try {
    return await runNext(sync);
  } catch (err) {
    // Paused now: the pending window keeps its bounds and is retried on resume under a new attempt.
    if (isCancellation(err) && sync.state.pauseRequested) return 'again';
    await actOnFailure(sync, err);
    return 'again';
  } finally {
    sync.inFlight = undefined;
  }
}

async function runNext(sync: TableSync): Promise<WindowOutcome | 'again'> {
  const { state } = sync;
  if (state.position === null) {
    await reseed(sync, 'initial load');
    return 'again';
  }
  // Jobs (backfill, sweep, reconciliation) run between windows: never while a planned window is pending, whose
  // sequence number is already taken.
  if (!state.pendingWindow && state.queuedJobs.length > 0) {
    const request = state.startNextJob();
    if (request) await runTableJob(sync.jobs, request);
    return 'again';
  }
  sync.inFlight = new CancellationScope();
  sync.turnStartedAt = Date.now();
  return sync.inFlight.run(() => syncOneWindow(sync));
}

async function actOnFailure(sync: TableSync, err: unknown): Promise<void> {
  const action = patched(STOP_ON_FAILURE_PATCH)
    ? onWindowFailure(failureFacts(err))
    : onWindowFailureBeforePatch(applicationFailureFacts(err));
  if (action.kind === 'rethrow') throw err;
  if (action.kind === 'reseed') {
    sync.state.failed(action.reason);
    await reseed(sync, action.reason);
    return;
  }
  // Not a crash loop: the table waits, visibly stopped, until an operator fixes the cause and resumes it.
  sync.state.stop(action.reason);
}

/** Loads the table again from a snapshot job (first load, or after a change-log gap). */
async function reseed(sync: TableSync, reason: string): Promise<void> {
  const request = sync.state.beginReseed(reason);
  sync.showMode();
  if (request) await runTableJob(sync.jobs, request);
}

/**
 * Capped by maxRowsPerWindow with more waiting: go straight on. Otherwise wait for the cadence, a pause, a
 * sync-now or a job. (Before the patch every committed window went straight on, so a continuously written table
 * ran tiny windows back to back; histories recorded before it replay with that behaviour.)
 *
 * The cadence counts from the start of the turn that just ended (its plan), so windows start every cadence: at a
 * 10 s cadence a window of 4 s is followed 6 s after it ends, not 10 s (a change waited cadence + window to be
 * planned, which alone put freshness above 2 cadences). A window longer than the cadence is followed at once —
 * still one window at a time, each a few source queries. A turn that committed nothing waits at least half the
 * cadence whatever its plan took: an idle table on a loaded source (planning slower than the cadence) must not
 * plan back to back. Runs recorded before the patch wait a full cadence.
 */
export async function waitForNextWindow(sync: TableSync, outcome: WindowOutcome): Promise<void> {
  const { state, cadenceMs } = sync;
  const waitForCadence = outcome === 'empty' || (outcome === 'committed' && patched(WAIT_AFTER_UNCAPPED_WINDOW_PATCH));
  if (!waitForCadence) return;
  const woken = () => state.pauseRequested || state.wakeRequested || state.queuedJobs.length > 0;
  const elapsed =
    sync.turnStartedAt !== undefined && patched(CADENCE_FROM_TURN_START_PATCH) ? Date.now() - sync.turnStartedAt : 0;
  const waitMs = Math.max(cadenceMs - elapsed, outcome === 'empty' ? cadenceMs / 2 : 0);
  // A window that took the whole cadence goes straight on (no timer: a zero-length one is still a command).
  if (waitMs >= 1) await condition(woken, waitMs);
  state.wakeRequested = false;
}
