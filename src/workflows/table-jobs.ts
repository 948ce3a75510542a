/**
 * How a table's sync runs one job (snapshot, backfill, sweep, reconciliation): as a child workflow that takes
 * the next manifest sequence numbers, between windows. Workflow code (deterministic).
 */
import { CancellationScope, executeChild, patched } from '@temporalio/workflow';
import type { TableSyncActivities } from '../activities/contracts.js';
import type { JobOutput, JobRequest } from '../domain/jobs.js';
import type { TableRef } from '../domain/table.js';
import type { TableSyncState } from '../state/table-sync-state.js';
import type { ActivityTimeouts } from './activity-options.js';
import { JOB_WORKFLOWS, jobWorkflowId } from './chunked-jobs.js';
import { onJobFailure } from '../state/failure-policy.js';
import { failureFacts } from './failure-facts.js';
import { JOB_FAILURE_PATCH } from './patches.js';

export interface TableJobContext {
  table: TableRef;
  state: TableSyncState;
  acts: Pick<TableSyncActivities, 'advanceWatermark'>;
  timeouts?: ActivityTimeouts;
}

/** Runs `request` as a child workflow, then records its outcome; moves the watermark past its windows. */
export async function runTableJob(ctx: TableJobContext, request: JobRequest): Promise<void> {
  const { table, state } = ctx;
  const started = Date.now();
  const firstSeq = state.nextSeq;
  let result: JobOutput;
  try {
    result = await executeChild(JOB_WORKFLOWS[request.job.kind], {
      workflowId: jobWorkflowId(table.id, request.job.kind, request.id),
      args: [{ table, job: request.job, firstSeq, ...(ctx.timeouts ? { timeouts: ctx.timeouts } : {}) }],
    });
  } catch (err) {
    // The sync itself being cancelled is not the job's failure.
    if (CancellationScope.current().consideredCancelled) throw err;
    const action = onJobFailure(request.job.kind, failureFacts(err));
    if (action.kind === 'rethrow' || !patched(JOB_FAILURE_PATCH)) throw err;
    state.jobFailed(request.id, request.job.kind, action.reason, new Date().toISOString());
    // Without its snapshot the table has nothing to sync from: it waits, stopped, until `tidemark resume`.
    if (action.stopTable) state.stop(`${request.job.kind} job failed: ${action.reason}`);
    return;
  }
  state.jobDone(request.id, result, new Date().toISOString(), Date.now() - started);
  if (result.windows > 0 && result.lastManifestPath && state.position !== null) {
    await ctx.acts.advanceWatermark({
      table,
      seq: result.lastSeq,
      position: state.position,
      manifestPath: result.lastManifestPath,
    });
  }
}
