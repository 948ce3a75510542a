/**
 * One incremental window of a table's sync: plan (unless a planned window is pending) → extract + stage (one
 * activity, or one per planned sub-range, in parallel) → validate → commit manifest → advance watermark (since
 * the patch 'commit-advances-watermark', inside the commit step). Workflow code (deterministic); the loop around
 * it is table-sync.ts, and what to do when it fails src/state/failure-policy.ts.
 */
import { CancellationScope, patched } from '@temporalio/workflow';
import { COMMIT_ADVANCES_WATERMARK_PATCH, SUB_RANGE_ACTIVITY_PATCH } from './patches.js';
import type { ExtractSubRangeInput, ExtractWindowOutput, TableSyncActivities } from '../activities/contracts.js';
import { mergeSubRangeStagings } from '../domain/staged.js';
import type { WindowPlan } from '../domain/window.js';
import type { TableRef } from '../domain/table.js';
import type { TableSyncState } from '../state/table-sync-state.js';

export interface TableWindowContext {
  table: TableRef;
  state: TableSyncState;
  acts: TableSyncActivities;
  /** An idle window (no change of the table in it) is committed only this long after the position last moved. */
  idleCommitMs: number;
}

/**
 * 'empty' when nothing changed (or an idle window was not due); 'more' when it committed a window capped below
 * what the source already holds (go straight on); 'committed' otherwise.
 */
export type WindowOutcome = 'empty' | 'committed' | 'more';

export async function syncOneWindow(ctx: TableWindowContext): Promise<WindowOutcome> {
  const { table, state, acts } = ctx;
  let window = state.pendingWindow;
  if (!window) {
    // Only a workflow that reads sub-ranges with their own activity type asks for a split (see extract()).
    const plan = await acts.planWindow({
      table,
      lastPosition: state.position,
      seq: state.nextSeq,
      ...(patched(SUB_RANGE_ACTIVITY_PATCH) ? { subRangeActivity: true } : {}),
    });
    if (!plan.window) {
      state.observedLag(plan.lagSeconds, plan.captureLatencySeconds ?? null);
      return 'empty';
    }
    if (plan.window.idle && !state.idleWindowDue(Date.now(), ctx.idleCommitMs)) {
      state.caughtUp(plan.window.to, plan.lagSeconds, plan.captureLatencySeconds ?? null);
      return 'empty';
    }
    window = plan.window;
    state.planned(window, plan.lagSeconds, plan.captureLatencySeconds ?? null);
  }
  const started = Date.now();
  const extracted = await extract(ctx, window);
  const validation = await acts.validateWindow({ table, window, extract: extracted });
  // Since the patch the commit step advances the watermark itself, after the manifest (one activity less per
  // window); runs recorded before it advance with their own activity.
  const folded = patched(COMMIT_ADVANCES_WATERMARK_PATCH);
  const commit = await acts.commitManifest({
    table,
    window,
    extract: extracted,
    validation,
    ...(folded ? { advanceWatermark: true } : {}),
  });
  // The read may refine the window's end (identity: the gaps it saw); the manifest records where the next
  // window starts, and a no-op retry returns what the committed attempt recorded.
  const position = commit.resumePosition ?? window.to;
  if (!folded) await acts.advanceWatermark({ table, seq: window.seq, position, manifestPath: commit.manifestPath });
  const at = new Date().toISOString();
  state.committed(window, extracted.rows, commit.manifestPath, at, Date.now() - started, position);
  return window.more ? 'more' : 'committed';
}

/**
 * Stages the window: one extraction, or — when it was planned with sub-ranges — one per sub-range, all at once
 * (Temporal hands them to whichever workers have a free slot), merged into one staging for the one manifest.
 * Each sub-range activity is retried on its own (ACTIVITY_RETRY); when one fails for good, the others are
 * cancelled before the failure is acted on, so no read of this attempt outlives it. Parts staged under different
 * schema versions (a column added meanwhile) are staged again, all of them, under the next attempt.
 *
 * A sub-range is read by its own activity type, `extractSubRange` (patch 'sub-range-activity'): a worker whose
 * code predates it does not register that type and fails the task as not registered (retryable), so only a
 * worker that reads sub-ranges as this version does (updated_at and identity with the whole window's bounds) ever
 * runs one. The plan asks for a split only under the same patch (`subRangeActivity`): workflow code older than it,
 * still running on a worker not yet upgraded, gets windows planned whole by a newer planWindow, so it never
 * schedules a newer split as `extractWindow` that an older worker could take. Runs recorded before the patch go on
 * scheduling `extractWindow` with `subRange` for what they planned, which newer workers still serve.
 */
async function extract(ctx: TableWindowContext, window: WindowPlan): Promise<ExtractWindowOutput> {
  const { table, state, acts } = ctx;
  const ranges = window.subRanges;
  if (!ranges) return acts.extractWindow({ table, window, attempt: state.nextAttempt() });
  const own = patched(SUB_RANGE_ACTIVITY_PATCH);
  const read = (input: ExtractSubRangeInput) => (own ? acts.extractSubRange(input) : acts.extractWindow(input));
  for (;;) {
    const attempt = state.nextAttempt();
    const parts = await new CancellationScope().run(async () => {
      const runs = ranges.map((_r, subRange) => read({ table, window, attempt, subRange }));
      try {
        return await Promise.all(runs);
      } catch (err) {
        CancellationScope.current().cancel();
        await Promise.allSettled(runs);
        throw err;
      }
    });
    const merged = mergeSubRangeStagings(parts);
    if (merged) return merged;
  }
}
