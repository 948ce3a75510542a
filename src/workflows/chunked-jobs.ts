/**
 * The chunked jobs of a table: snapshot (initial load, re-seed), backfill of a business-date range, the nightly
 * late-update sweep, and delete reconciliation. One machine serves all four:
 *
 * plan key-range chunks at a recorded source position → run chunks as activities with bounded parallelism
 * (more workers ⇒ more throughput) → commit each chunk that produced events as one window, strictly in chunk
 * order, taking sequence numbers from `firstSeq` on (dense: a chunk with nothing to commit takes none).
 *
 * Resumable: completed chunks are in the workflow's history, so a worker crash re-runs only unfinished chunks.
 * The table-sync workflow starts these as children at a window boundary: it is the only writer of a table's
 * manifest sequence, and it moves the watermark after the job returns. The run itself is chunked-job-run.ts.
 */
import type { JobOutput, JobSpec } from '../domain/jobs.js';
import { runChunkedJob, type ChunkedJobInput } from './chunked-job-run.js';

export type { ChunkedJobInput } from './chunked-job-run.js';

/** Initial load and re-seed after a change-log gap. */
export async function snapshotWorkflow(input: ChunkedJobInput): Promise<JobOutput> {
  return runChunkedJob(input);
}

/** Re-extracts rows whose business date is in [from, to] as `r` events; running it twice changes no latest state. */
export async function backfillWorkflow(input: ChunkedJobInput): Promise<JobOutput> {
  return runChunkedJob(input);
}

/** Nightly, for tables whose capture cannot see updates: re-extracts only chunks whose checksums differ. */
export async function lateUpdateSweepWorkflow(input: ChunkedJobInput): Promise<JobOutput> {
  return runChunkedJob(input);
}

/** Nightly, for tables whose capture cannot see deletes: tombstones for keys gone from the source. */
export async function deleteReconcileWorkflow(input: ChunkedJobInput): Promise<JobOutput> {
  return runChunkedJob(input);
}

/** The workflow that runs a job of this kind (named per kind so operators can find them in the Web UI). */
export const JOB_WORKFLOWS = {
  snapshot: snapshotWorkflow,
  backfill: backfillWorkflow,
  sweep: lateUpdateSweepWorkflow,
  reconcile: deleteReconcileWorkflow,
} as const;

/** Workflow ID of a table's job. */
export const jobWorkflowId = (tableId: string, kind: JobSpec['kind'], id: string): string => `${kind}/${tableId}/${id}`;
