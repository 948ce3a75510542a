/**
 * tableSyncWorkflow — one per table, ID `table-sync/<db>.<schema>.<table>`.
 *
 * A forever loop: plan window → extract + stage → validate → commit manifest → advance watermark → wait for
 * the next cadence. Deterministic and thin: every decision that needs the outside world is an activity; one
 * window is table-window.ts, a job table-jobs.ts, what to do about a failure failure-policy.ts, and the activities'
 * timeouts activity-options.ts.
 *
 * Exactly-once rests on three facts: a window's bounds are fixed (and kept in this workflow's state) before
 * anything is read, so every retry of window N reads the same range; staged files carry the attempt in their
 * names, so no attempt can replace another's; the manifest is created with If-None-Match: * and is the only
 * commit point, so a retry of a committed window is a no-op.
 */
import {
  allHandlersFinished,
  CancellationScope,
  condition,
  continueAsNew,
  isCancellation,
  patched,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { TableRef } from '../domain/table.js';
import {
  initialSnapshot,
  TableSyncState,
  type TableSyncMode,
  type TableSyncSnapshot,
} from '../state/table-sync-state.js';
import { tableSyncActivities, type ActivityTimeouts } from './activity-options.js';
import { onWindowFailure, onWindowFailureBeforePatch } from './failure-policy.js';
import { pauseSignal, requestJobSignal, resumeSignal, statusQuery, syncNowSignal } from './messages.js';
import { STATE_KEY, STRATEGY_KEY, TABLE_KEY } from './search-attributes.js';
import { runTableJob } from './table-jobs.js';
import { syncOneWindow } from './table-window.js';

export interface TableSyncWorkflowInput {
  /** The table, on first start; ignored when `snapshot` is given. */
  table: TableRef;
  /** Carried state on continue-as-new (or a restart from a recorded watermark). */
  snapshot?: TableSyncSnapshot;
  /** Seconds between windows when caught up (default 900, minimum 60). */
  cadenceSeconds?: number;
  /** An idle table commits an empty window at most this often (default 3600; config `idleCommitInterval`). */
  idleCommitSeconds?: number;
  /** Continue-as-new after this many windows in one run even if Temporal does not suggest it yet. */
  maxWindowsPerRun?: number;
  /** Activity timeouts, overridable by tests. */
  timeouts?: ActivityTimeouts;
}

export const tableSyncWorkflowId = (tableId: string): string => `table-sync/${tableId}`;

/** patched() id: after a committed window that was not capped, wait for the cadence instead of going on. */
export const WAIT_AFTER_UNCAPPED_WINDOW_PATCH = 'wait-after-uncapped-window';
/** patched() id: every failure of a window step, or of reading the watermark, stops the table with its reason. */
export const STOP_ON_FAILURE_PATCH = 'stop-table-on-every-failure';

export async function tableSyncWorkflow(input: TableSyncWorkflowInput): Promise<void> {
  const cadenceMs = Math.max(60, input.cadenceSeconds ?? 900) * 1000;
  const idleCommitMs = Math.max(60, input.idleCommitSeconds ?? 3600) * 1000;
  const acts = tableSyncActivities(input.timeouts);
  // A fresh start (not a continue-as-new) resumes from the lake, whose manifests are the truth: a table whose
  // workflow was terminated and started again must not load itself a second time.
  const state = new TableSyncState(input.snapshot ?? { ...initialSnapshot(input.table), mustReadWatermark: true });
  const table = state.table;
  const jobs = { table, state, acts, ...(input.timeouts ? { timeouts: input.timeouts } : {}) };

  let inFlight: CancellationScope | undefined;
  setHandler(pauseSignal, ({ now, reason }) => {
    state.requestPause(reason);
    if (now) inFlight?.cancel();
  });
  setHandler(resumeSignal, () => {
    state.cancelPause();
    if (state.mode === 'paused' || state.mode === 'stopped') state.setMode('running');
  });
  setHandler(statusQuery, () => state.status());
  setHandler(requestJobSignal, (request) => state.requestJob(request));
  setHandler(syncNowSignal, () => {
    state.wakeRequested = true;
  });

  let shownMode: TableSyncMode | undefined;
  const showMode = () => {
    if (shownMode === state.mode) return;
    shownMode = state.mode;
    upsertSearchAttributes([
      { key: TABLE_KEY, value: table.id },
      { key: STRATEGY_KEY, value: table.strategy },
      { key: STATE_KEY, value: state.mode },
    ]);
  };

  const reseed = async (reason: string) => {
    state.setMode('reseeding');
    showMode();
    state.discardPendingWindow();
    state.requestJob({ id: state.newJobId(`reseed-${state.nextSeq}`), job: { kind: 'snapshot', reason } });
    const request = state.startNextJobOfKind('snapshot');
    if (request) await runTableJob(jobs, request);
  };

  let windowsThisRun = 0;
  for (;;) {
    if (state.mustReadWatermark && state.mode === 'running') {
      try {
        const mark = await acts.readWatermark({ table });
        state.restored(mark.position, mark.lastSeq, new Date().toISOString());
      } catch (err) {
        // Before the patch a failure here failed the workflow (e.g. a table that does not exist, FAILED with no note).
        const action = patched(STOP_ON_FAILURE_PATCH) ? onWindowFailure(err) : { kind: 'rethrow' as const };
        if (action.kind === 'rethrow') throw err;
        state.stop(action.reason);
      }
    }
    if (state.pauseRequested && state.mode === 'running') state.setMode('paused');
    showMode();
    if (state.mode === 'paused' || state.mode === 'stopped') {
      await condition(() => state.mode === 'running');
      continue;
    }

    let outcome: 'empty' | 'committed' | 'more' | 'interrupted' = 'interrupted';
    try {
      if (state.position === null) {
        await reseed('initial load');
        continue;
      }
      // Jobs (backfill, sweep, reconciliation) run between windows: never while a planned window is pending,
      // whose sequence number is already taken.
      if (!state.pendingWindow && state.queuedJobs.length > 0) {
        const request = state.startNextJob();
        if (request) await runTableJob(jobs, request);
        continue;
      }
      inFlight = new CancellationScope();
      outcome = await inFlight.run(() => syncOneWindow({ table, state, acts, idleCommitMs }));
    } catch (err) {
      if (isCancellation(err) && state.pauseRequested) {
        // Paused now: the pending window keeps its bounds and is retried on resume under a new attempt.
        continue;
      }
      const action = patched(STOP_ON_FAILURE_PATCH) ? onWindowFailure(err) : onWindowFailureBeforePatch(err);
      if (action.kind === 'rethrow') throw err;
      if (action.kind === 'reseed') {
        state.failed(action.reason);
        await reseed(action.reason);
        continue;
      }
      // Not a crash loop: the table waits, visibly stopped, until an operator fixes the cause and resumes it.
      state.stop(action.reason);
      continue;
    } finally {
      inFlight = undefined;
    }

    if (outcome === 'committed' || outcome === 'more') windowsThisRun += 1;
    if (
      workflowInfo().continueAsNewSuggested ||
      (input.maxWindowsPerRun !== undefined && windowsThisRun >= input.maxWindowsPerRun)
    ) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof tableSyncWorkflow>({ ...input, snapshot: state.snapshot });
    }
    // Capped by maxRowsPerWindow with more waiting: go straight on. Otherwise wait for the cadence, a pause, a
    // sync-now or a job. (Before the patch every committed window went straight on, so a continuously written
    // table ran tiny windows back to back; histories recorded before it replay with that behaviour.)
    const waitForCadence =
      outcome === 'empty' || (outcome === 'committed' && patched(WAIT_AFTER_UNCAPPED_WINDOW_PATCH));
    if (waitForCadence) {
      await condition(() => state.pauseRequested || state.wakeRequested || state.queuedJobs.length > 0, cadenceMs);
      state.wakeRequested = false;
    }
  }
}
