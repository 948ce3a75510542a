/**
 * One incremental window of a table's sync: plan (unless a planned window is pending) → extract + stage →
 * validate → commit manifest → advance watermark. Workflow code (deterministic); the loop around it is
 * table-sync.ts, and what to do when it fails src/state/failure-policy.ts.
 */
import type { TableSyncActivities } from '../activities/contracts.js';
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
    const plan = await acts.planWindow({ table, lastPosition: state.position, seq: state.nextSeq });
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
  const attempt = state.nextAttempt();
  const extracted = await acts.extractWindow({ table, window, attempt });
  const validation = await acts.validateWindow({ table, window, extract: extracted });
  const commit = await acts.commitManifest({ table, window, extract: extracted, validation });
  // The read may refine the window's end (identity: the gaps it saw); the manifest records where the next
  // window starts, and a no-op retry returns what the committed attempt recorded.
  const position = commit.resumePosition ?? window.to;
  await acts.advanceWatermark({ table, seq: window.seq, position, manifestPath: commit.manifestPath });
  const at = new Date().toISOString();
  state.committed(window, extracted.rows, commit.manifestPath, at, Date.now() - started, position);
  return window.more ? 'more' : 'committed';
}
