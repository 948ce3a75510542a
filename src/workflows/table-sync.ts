/**
 * tableSyncWorkflow — one per table, ID `table-sync/<db>.<schema>.<table>`.
 *
 * A forever loop: plan window → extract + stage → validate → commit manifest → advance watermark → wait for
 * the next cadence. Deterministic and thin: every decision that needs the outside world is an activity. The run's
 * state and signals are table-sync-context.ts, the loop's steps table-sync-steps.ts, one window table-window.ts,
 * a job table-jobs.ts, what to do about a failure src/state/failure-policy.ts, and the activities' timeouts
 * activity-options.ts.
 *
 * Exactly-once rests on three facts: a window's bounds are fixed (and kept in this workflow's state) before
 * anything is read, so every retry of window N reads the same range; staged files carry the attempt in their
 * names, so no attempt can replace another's; the manifest is created with If-None-Match: * and is the only
 * commit point, so a retry of a committed window is a no-op.
 */
import { allHandlersFinished, condition, continueAsNew, workflowInfo } from '@temporalio/workflow';
import { openTableSync, type TableSync, type TableSyncWorkflowInput } from './table-sync-context.js';
import { heldByOperator, readWatermarkIfDue, takeTurn, waitForNextWindow } from './table-sync-steps.js';
import type { WindowOutcome } from './table-window.js';

export type { TableSyncWorkflowInput } from './table-sync-context.js';

export const tableSyncWorkflowId = (tableId: string): string => `table-sync/${tableId}`;

export async function tableSyncWorkflow(input: TableSyncWorkflowInput): Promise<void> {
  const sync = openTableSync(input);
  for (;;) {
    await readWatermarkIfDue(sync);
    if (await heldByOperator(sync)) continue;
    const outcome = await takeTurn(sync);
    if (outcome === 'again') continue;
    await continueAsNewIfDue(sync, outcome);
    await waitForNextWindow(sync, outcome);
  }
}

/** Continue-as-new when Temporal suggests it (the history grew long) or after `maxWindowsPerRun` windows. */
async function continueAsNewIfDue(sync: TableSync, outcome: WindowOutcome): Promise<void> {
  if (outcome !== 'empty') sync.windowsThisRun += 1;
  const max = sync.input.maxWindowsPerRun;
  if (!workflowInfo().continueAsNewSuggested && (max === undefined || sync.windowsThisRun < max)) return;
  await condition(allHandlersFinished);
  await continueAsNew<typeof tableSyncWorkflow>({ ...sync.input, snapshot: sync.state.snapshot });
}
