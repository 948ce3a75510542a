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
 * manifest sequence, and it moves the watermark after the job returns.
 */
import { setHandler, workflowInfo } from '@temporalio/workflow';
import type { ExtractWindowOutput } from '../activities/contracts.js';
import type { JobOutput, JobSpec, KeyRange } from '../domain/jobs.js';
import type { WindowPlan } from '../domain/window.js';
import type { TableRef } from '../domain/table.js';
import { chunkedJobActivities, type ActivityTimeouts } from './activity-options.js';
import { jobProgressQuery } from './messages.js';

export interface ChunkedJobInput {
  table: TableRef;
  job: JobSpec;
  /** The window sequence number of the first chunk committed. */
  firstSeq: number;
  chunkRows?: number;
  /** Chunks run at once (default 4). */
  parallelism?: number;
  /** Activity timeouts (the table's sync passes its own; tests make them small). */
  timeouts?: ActivityTimeouts;
}

async function runChunkedJob(input: ChunkedJobInput): Promise<JobOutput> {
  const acts = chunkedJobActivities(input.timeouts);
  const { table, job } = input;
  // Progress for the CLI: a query changes no command, so histories recorded before it replay unchanged.
  let planned: number | null = null;
  let chunksDone = 0;
  let counts: Pick<JobOutput, 'windows' | 'rows' | 'sourceRowsRead'> = { windows: 0, rows: 0, sourceRowsRead: 0 };
  setHandler(jobProgressQuery, () => ({
    kind: job.kind,
    chunks: planned,
    chunksDone,
    windows: counts.windows,
    rows: counts.rows,
    sourceRowsRead: counts.sourceRowsRead,
  }));
  const plan = await acts.planChunks({ table, job, chunkRows: input.chunkRows ?? 1_000_000 });
  const out: JobOutput = {
    kind: job.kind,
    position: plan.position,
    lastSeq: input.firstSeq - 1,
    lastManifestPath: null,
    windows: 0,
    rows: 0,
    sourceRowsRead: 0,
    chunks: plan.chunks.length,
  };
  planned = plan.chunks.length;
  counts = out;

  // Chunk results by index; `undefined` = not finished, `null` = finished with nothing to commit.
  const results = new Map<number, { chunk: KeyRange; staged: (ExtractWindowOutput & { readAt: string }) | null }>();
  let nextToCommit = 0;
  let committing: Promise<void> = Promise.resolve();
  const commitReady = async () => {
    for (let ready = results.get(nextToCommit); ready; ready = results.get(nextToCommit)) {
      results.delete(nextToCommit);
      nextToCommit += 1;
      if (!ready.staged) continue;
      const window: WindowPlan = {
        seq: out.lastSeq + 1,
        kind: job.kind,
        from: null,
        to: ready.staged.readAt,
        keyRange: ready.chunk,
        plannedAt: new Date().toISOString(),
      };
      const validation = await acts.validateWindow({ table, window, extract: ready.staged });
      const commit = await acts.commitManifest({ table, window, extract: ready.staged, validation });
      out.lastSeq = window.seq;
      out.lastManifestPath = commit.manifestPath;
      out.windows += 1;
      out.rows += ready.staged.rows;
    }
  };

  const jobId = workflowInfo().workflowId;
  let next = 0;
  const lane = async () => {
    for (let chunk = plan.chunks[next]; chunk; chunk = plan.chunks[next]) {
      next += 1;
      const result = await acts.runChunk({
        table,
        job,
        chunk,
        stagingKey: `${jobId}/c${chunk.index}`,
        attempt: 1,
        firstSeq: input.firstSeq,
      });
      out.sourceRowsRead += result.sourceRowsRead;
      chunksDone += 1;
      if (result.compared) {
        out.chunksCompared = (out.chunksCompared ?? 0) + 1;
        out.chunksReextracted = (out.chunksReextracted ?? 0) + (result.compared.differs ? 1 : 0);
      }
      results.set(chunk.index, { chunk, staged: result.staged });
      committing = committing.then(commitReady);
      await committing;
    }
  };
  const lanes = Math.min(Math.max(1, input.parallelism ?? 4), Math.max(1, plan.chunks.length));
  await Promise.all(Array.from({ length: lanes }, lane));
  await committing;
  return out;
}

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
