/**
 * tableSyncWorkflow — one per table, ID `table-sync/<db>.<schema>.<table>`.
 *
 * A forever loop: plan window → extract + stage → validate → commit manifest → advance watermark → wait for
 * the next cadence. Deterministic and thin: every decision that needs the outside world is an activity.
 *
 * Exactly-once rests on three facts: a window's bounds are fixed (and kept in this workflow's state) before
 * anything is read, so every retry of window N reads the same range; staged files carry the attempt in their
 * names, so no attempt can replace another's; the manifest is created with If-None-Match: * and is the only
 * commit point, so a retry of a committed window is a no-op.
 */
import {
  ActivityCancellationType,
  allHandlersFinished,
  ApplicationFailure,
  CancellationScope,
  condition,
  continueAsNew,
  executeChild,
  isCancellation,
  patched,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import { ACTIVITY_RETRY } from './retry.js';
import type { JobRequest, TableSyncActivities, TableRef } from '../activities/contracts.js';
import { FailureType } from '../activities/contracts.js';
import {
  initialSnapshot,
  TableSyncState,
  type TableSyncMode,
  type TableSyncSnapshot,
} from '../state/table-sync-state.js';
import { pauseSignal, requestJobSignal, resumeSignal, statusQuery, syncNowSignal } from './messages.js';
import { STATE_KEY, STRATEGY_KEY, TABLE_KEY } from './search-attributes.js';
import { JOB_WORKFLOWS, jobWorkflowId } from './chunked-jobs.js';

export interface TableSyncWorkflowInput {
  /** The table, on first start; ignored when `snapshot` is given. */
  table: TableRef;
  /** Carried state on continue-as-new (or a restart from a recorded watermark). */
  snapshot?: TableSyncSnapshot;
  /** Seconds between windows when caught up (default 900, minimum 60). */
  cadenceSeconds?: number;
  /** Continue-as-new after this many windows in one run even if Temporal does not suggest it yet. */
  maxWindowsPerRun?: number;
  /** Activity timeouts, overridable by tests. */
  timeouts?: { extractStartToCloseSeconds?: number; heartbeatSeconds?: number };
}

export const tableSyncWorkflowId = (tableId: string): string => `table-sync/${tableId}`;

/** patched() id: after a committed window that was not capped, wait for the cadence instead of going on. */
export const WAIT_AFTER_UNCAPPED_WINDOW_PATCH = 'wait-after-uncapped-window';

export async function tableSyncWorkflow(input: TableSyncWorkflowInput): Promise<void> {
  const cadenceMs = Math.max(60, input.cadenceSeconds ?? 900) * 1000;
  const short: ActivityOptions = { startToCloseTimeout: '5m', retry: ACTIVITY_RETRY };
  const acts = proxyActivities<TableSyncActivities>(short);
  const state = new TableSyncState(input.snapshot ?? initialSnapshot(input.table));
  const table = state.table;
  const extract = proxyActivities<TableSyncActivities>({
    startToCloseTimeout: `${input.timeouts?.extractStartToCloseSeconds ?? 3600}s`,
    // A pause-now cancel reaches the activity with its next heartbeat (≤ 80% of this timeout).
    heartbeatTimeout: `${input.timeouts?.heartbeatSeconds ?? 30}s`,
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: ACTIVITY_RETRY,
  });

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

  if (!input.snapshot) {
    // A fresh start (not a continue-as-new) resumes from the lake, whose manifests are the truth: a table whose
    // workflow was terminated and started again must not load itself a second time.
    const mark = await acts.readWatermark({ table });
    state.restored(mark.position, mark.lastSeq);
  }

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

  /**
   * One window: 'empty' when nothing changed; 'more' when it committed a window capped below what the source
   * already holds (go straight on); 'committed' otherwise.
   */
  const syncOneWindow = async (): Promise<'empty' | 'committed' | 'more'> => {
    let window = state.pendingWindow;
    if (!window) {
      const plan = await acts.planWindow({ table, lastPosition: state.position, seq: state.nextSeq });
      if (!plan.window) {
        state.observedLag(plan.lagSeconds, plan.captureLatencySeconds ?? null);
        return 'empty';
      }
      window = plan.window;
      state.planned(window, plan.lagSeconds, plan.captureLatencySeconds ?? null);
    }
    const started = Date.now();
    const attempt = state.nextAttempt();
    const extracted = await extract.extractWindow({ table, window, attempt });
    const validation = await acts.validateWindow({ table, window, extract: extracted });
    const commit = await acts.commitManifest({ table, window, extract: extracted, validation });
    // The read may refine the window's end (identity: the gaps it saw); the manifest records where the next
    // window starts, and a no-op retry returns what the committed attempt recorded.
    const position = commit.resumePosition ?? window.to;
    await acts.advanceWatermark({ table, seq: window.seq, position, manifestPath: commit.manifestPath });
    state.committed(
      window,
      extracted.rows,
      commit.manifestPath,
      new Date().toISOString(),
      Date.now() - started,
      position,
    );
    return window.more ? 'more' : 'committed';
  };

  /** Runs a job as a child workflow taking the next sequence numbers, then moves the watermark past it. */
  const runJob = async (request: JobRequest) => {
    const started = Date.now();
    const firstSeq = state.nextSeq;
    const workflow = JOB_WORKFLOWS[request.job.kind];
    const result = await executeChild(workflow, {
      workflowId: jobWorkflowId(table.id, request.job.kind, request.id),
      args: [{ table, job: request.job, firstSeq }],
    });
    state.jobDone(request.id, result, new Date().toISOString(), Date.now() - started);
    if (result.windows > 0 && result.lastManifestPath && state.position !== null) {
      await acts.advanceWatermark({
        table,
        seq: result.lastSeq,
        position: state.position,
        manifestPath: result.lastManifestPath,
      });
    }
  };

  const reseed = async (reason: string) => {
    state.setMode('reseeding');
    showMode();
    state.discardPendingWindow();
    state.requestJob({ id: `reseed-${state.nextSeq}`, job: { kind: 'snapshot', reason } });
    const request = state.startNextJobOfKind('snapshot');
    if (request) await runJob(request);
  };

  let windowsThisRun = 0;
  for (;;) {
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
        if (request) await runJob(request);
        continue;
      }
      inFlight = new CancellationScope();
      outcome = await inFlight.run(syncOneWindow);
    } catch (err) {
      if (isCancellation(err) && state.pauseRequested) {
        // Paused now: the pending window keeps its bounds and is retried on resume under a new attempt.
        continue;
      }
      const type = failureType(err);
      if (type === FailureType.ChangeLogGap) {
        state.failed(failureMessage(err));
        await reseed(failureMessage(err));
        continue;
      }
      if (
        type === FailureType.IncompatibleSchemaChange ||
        type === FailureType.Config ||
        type === FailureType.Prerequisite ||
        type === FailureType.WindowConflict
      ) {
        // Not a crash loop: the table waits, visibly stopped, until an operator fixes the cause and resumes it.
        state.stop(`${type}: ${failureMessage(err)}`);
        continue;
      }
      throw err;
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

function failureType(err: unknown): string | undefined {
  let e: unknown = err;
  for (let depth = 0; e && depth < 5; depth++) {
    if (e instanceof ApplicationFailure) return e.type ?? undefined;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

function failureMessage(err: unknown): string {
  let e: unknown = err;
  for (let depth = 0; e && depth < 5; depth++) {
    if (e instanceof ApplicationFailure) return e.message;
    e = (e as { cause?: unknown }).cause;
  }
  return err instanceof Error ? err.message : String(err);
}
