/**
 * snapshotWorkflow — initial load and re-seed of one table.
 *
 * Plans key-range chunks at a recorded source position, extracts them as activities with bounded parallelism
 * (more workers ⇒ more throughput), and commits one manifest per chunk, in chunk order, as windows
 * `firstSeq, firstSeq+1, …`. Resumable: completed chunks are in this workflow's history, so a worker crash
 * re-runs only the chunks that had not finished. Hands over at the position read BEFORE any chunk: incremental
 * sync resumes after it, and the lake's "last event per key by source position" rule makes the overlap safe
 * (a snapshot row read later carries a later position than the log events it already reflects).
 */
import { ActivityCancellationType, proxyActivities } from '@temporalio/workflow';
import { ACTIVITY_RETRY } from './retry.js';
import type {
  ExtractWindowOutput,
  ReseedOutput,
  SnapshotActivities,
  TableRef,
  TableSyncActivities,
  WindowPlan,
} from '../activities/contracts.js';

export interface SnapshotWorkflowInput {
  table: TableRef;
  reason: string;
  /** The window sequence number of the first chunk. */
  firstSeq: number;
  chunkRows?: number;
  /** Chunks extracted at once (default 4). */
  parallelism?: number;
}

export async function snapshotWorkflow(input: SnapshotWorkflowInput): Promise<ReseedOutput> {
  const acts = proxyActivities<SnapshotActivities & TableSyncActivities>({
    startToCloseTimeout: '5m',
    retry: ACTIVITY_RETRY,
  });
  const chunkActs = proxyActivities<SnapshotActivities>({
    startToCloseTimeout: '2h',
    heartbeatTimeout: '2m',
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: ACTIVITY_RETRY,
  });
  const { table } = input;
  const plan = await acts.planSnapshot({ table, reason: input.reason, chunkRows: input.chunkRows ?? 1_000_000 });
  const parallelism = Math.max(1, input.parallelism ?? 4);

  const staged = new Map<number, { window: WindowPlan; extract: ExtractWindowOutput }>();
  let nextToCommit = 0;
  let rows = 0;
  let lastManifest = '';
  let committing: Promise<void> = Promise.resolve();
  // Commits run strictly in chunk order, each as soon as it and all chunks before it are staged.
  const commitReady = async () => {
    for (;;) {
      const ready = staged.get(nextToCommit);
      if (!ready) return;
      staged.delete(nextToCommit);
      const validation = await acts.validateWindow({ table, window: ready.window, extract: ready.extract });
      const commit = await acts.commitManifest({ table, window: ready.window, extract: ready.extract, validation });
      lastManifest = commit.manifestPath;
      rows += ready.extract.rows;
      nextToCommit += 1;
    }
  };

  let next = 0;
  const worker = async () => {
    while (next < plan.chunks.length) {
      const chunk = plan.chunks[next];
      next += 1;
      if (!chunk) break;
      const seq = input.firstSeq + chunk.index;
      const out = await chunkActs.snapshotChunk({ table, seq, chunk, attempt: 1 });
      const window: WindowPlan = {
        seq,
        kind: 'snapshot',
        from: null,
        to: out.readAt,
        keyRange: chunk,
        plannedAt: new Date().toISOString(),
      };
      staged.set(chunk.index, { window, extract: out });
      committing = committing.then(commitReady);
      await committing;
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallelism, Math.max(1, plan.chunks.length)) }, worker));
  await committing;
  const lastSeq = input.firstSeq + plan.chunks.length - 1;
  // The watermark moves once, after every chunk is visible: only then may incremental sync resume from the
  // position read before the first chunk.
  await acts.advanceWatermark({ table, seq: lastSeq, position: plan.position, manifestPath: lastManifest });
  return { position: plan.position, lastSeq, lastManifestPath: lastManifest, windows: plan.chunks.length, rows };
}
