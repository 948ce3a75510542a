/**
 * nightlyJobsWorkflow — what a table's nightly Temporal Schedule starts: it asks the table's sync workflow for
 * each job (sweep, reconcile) with the `requestJob` signal. The sync workflow stays the only writer of the
 * table's manifest sequence and runs the jobs as children at its next window boundary; this workflow only
 * delivers the request (its ID is unique per scheduled run, so the job IDs are too).
 */
import { getExternalWorkflowHandle, workflowInfo } from '@temporalio/workflow';
import type { JobSpec } from '../domain/jobs.js';
import { requestJobSignal } from './messages.js';
import { tableSyncWorkflowId } from './table-sync.js';

export interface NightlyJobsInput {
  tableId: string;
  jobs: JobSpec[];
}

export async function nightlyJobsWorkflow(input: NightlyJobsInput): Promise<{ requested: string[] }> {
  const handle = getExternalWorkflowHandle(tableSyncWorkflowId(input.tableId));
  const requested: string[] = [];
  for (const job of input.jobs) {
    const id = `nightly-${workflowInfo().runId.slice(0, 8)}-${job.kind}`;
    await handle.signal(requestJobSignal, { id, job });
    requested.push(id);
  }
  return { requested };
}
