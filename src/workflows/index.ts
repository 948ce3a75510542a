/** The workflows the worker registers. Workflow code only: deterministic, no I/O. */
export { tableSyncWorkflow, tableSyncWorkflowId } from './table-sync.js';
export {
  snapshotWorkflow,
  backfillWorkflow,
  lateUpdateSweepWorkflow,
  deleteReconcileWorkflow,
  jobWorkflowId,
} from './chunked-jobs.js';
export { nightlyJobsWorkflow } from './nightly.js';
