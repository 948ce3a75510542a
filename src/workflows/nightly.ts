/**
 * nightlyJobsWorkflow — what a table's nightly Temporal Schedule starts: it asks the table's sync workflow for
 * each job (sweep, reconcile) with the `requestJob` signal. The sync workflow stays the only writer of the
 * table's manifest sequence and runs the jobs as children at its next window boundary; this workflow only
 * delivers the request (its ID is unique per scheduled run, so the job IDs are too).
 *
 * Then, when the schedule asks for it (`compaction`), it compacts the table's closed days in the Delta log
 * (activity `compactTable`, capture/delta-compaction.ts). The compaction writes no manifest, so it needs no turn
 * in the sync workflow: it only ever adds Delta versions, which the sync's publication steps over.
 */
import { getExternalWorkflowHandle, patched, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { CompactionActivities, CompactTableOutput } from '../activities/contracts.js';
import type { JobSpec } from '../domain/jobs.js';
import { requestJobSignal } from './messages.js';
import { NIGHTLY_COMPACTION_PATCH } from './patches.js';
import { ACTIVITY_RETRY } from './retry.js';
import { tableSyncWorkflowId } from './table-sync.js';

export interface NightlyJobsInput {
  tableId: string;
  jobs: JobSpec[];
  /** Compact the closed days of the table's Delta log (absent: no compaction, as schedules made before it). */
  compaction?: { targetFileBytes?: number; maxDays?: number };
}

export interface NightlyJobsOutput {
  requested: string[];
  /** What the compaction did (counts, bytes, timings), when it ran. */
  compaction?: CompactTableOutput;
}

/**
 * Rewriting a week of a busy table's days reads and writes a few GB: hours at worst on a small worker. The
 * activity heartbeats on time (activities/heartbeat.ts), so a dead worker is found in seconds regardless.
 */
const { compactTable } = proxyActivities<CompactionActivities>({
  startToCloseTimeout: '6h',
  heartbeatTimeout: '30s',
  retry: ACTIVITY_RETRY,
});

export async function nightlyJobsWorkflow(input: NightlyJobsInput): Promise<NightlyJobsOutput> {
  const handle = getExternalWorkflowHandle(tableSyncWorkflowId(input.tableId));
  const requested: string[] = [];
  for (const job of input.jobs) {
    const id = `nightly-${workflowInfo().runId.slice(0, 8)}-${job.kind}`;
    await handle.signal(requestJobSignal, { id, job });
    requested.push(id);
  }
  if (input.compaction === undefined || !patched(NIGHTLY_COMPACTION_PATCH)) return { requested };
  const compaction = await compactTable({ table: { id: input.tableId }, ...input.compaction });
  return { requested, compaction };
}
