/**
 * The activities' contract with the workflows: inputs and outputs of every step of a table's sync.
 *
 * Everything here crosses Temporal, so it carries positions, paths, counts, checksums and timings — never a
 * row value (no patient data in payloads, heartbeats, errors or histories). Positions are opaque strings to
 * the workflows: each capture strategy encodes its own (e.g. a CDC LSN as 20 hex digits) so that string
 * order is source order.
 *
 * Each activity takes one input object and returns one output object, so signatures can grow without
 * breaking recorded histories.
 */
import type { JobSpec, KeyRange } from '../domain/jobs.js';
import type { OpCounts, StagedFile } from '../domain/staged.js';
import type { ChunkSteps, ReadSteps } from '../domain/stage-steps.js';
import type { TableRef } from '../domain/table.js';
import type { WindowPlan } from '../domain/window.js';

export interface PlanWindowInput {
  table: TableRef;
  /** The last committed position (the watermark), or null before the first snapshot. */
  lastPosition: string | null;
  /** The sequence number the planned window will take. */
  seq: number;
  /**
   * The workflow reads sub-ranges with `extractSubRange` (patch 'sub-range-activity'), which only workers of that
   * version or later run: only then is a window over `limits.subRangeRows` split. Absent — workflow code older
   * than the patch, still running on a worker not yet upgraded, which would schedule a sub-range as `extractWindow`
   * that any worker, an older one too, may take — the window is planned whole, which every version reads right.
   */
  subRangeActivity?: boolean;
}

export interface PlanWindowOutput {
  /** null when nothing changed since `lastPosition`: no window, wait for the next cadence. */
  window: WindowPlan | null;
  /**
   * Seconds the lake is behind the source's clock: from `lastPosition` to the source's newest change, plus (CDC)
   * the capture latency; null when the source cannot tell.
   */
  lagSeconds: number | null;
  /** CDC: seconds since the newest captured change, by the source's clock (grows while capture is stalled). */
  captureLatencySeconds?: number | null;
}

export interface ExtractWindowInput {
  table: TableRef;
  window: WindowPlan;
  /** Attempt number of this window's extraction, part of staged file names (zombie-proof). */
  attempt: number;
  /**
   * Read only this sub-range of `window.subRanges`: how workflows recorded before the patch 'sub-range-activity'
   * (and workers' older workflow code) schedule a sub-range; since it, sub-ranges are read by `extractSubRange`.
   */
  subRange?: number;
}

/**
 * One sub-range of a split window (`window.subRanges[subRange]`), read with the whole window's bounds and staged
 * under names that carry `r<subRange>`. Its own activity type, not `extractWindow` with `subRange`: a worker whose
 * code predates a sub-range contract (updated_at's and identity's read a sub-range with the whole window's floor
 * and fixed end; before any sub-range, `subRange` was ignored and the whole window read) does not register this
 * type, so it fails the task (Temporal's retryable NotFoundError) instead of reading it wrong, and the retry goes
 * to a worker that has it (docs/operations.md, "Rolling upgrades").
 */
export interface ExtractSubRangeInput {
  table: TableRef;
  window: WindowPlan;
  /** Attempt number of this window's extraction, part of staged file names (zombie-proof). */
  attempt: number;
  /** The index in `window.subRanges`. */
  subRange: number;
}

/** The activities that read a window's changes (metrics, lineage and benches treat them alike). */
export const WINDOW_READ_ACTIVITIES: readonly string[] = ['extractWindow', 'extractSubRange'];

export type { StagedFile } from '../domain/staged.js';

/** What an extraction staged (the capture engine returns the domain's `StagedWindow`). */
export interface ExtractWindowOutput {
  files: readonly StagedFile[];
  rows: number;
  /** Rows per operation: c, u, d, r. */
  opCounts: OpCounts;
  schemaVersion: number;
  durationMs: number;
  /** The attempt id in the staged file names (unique per window, workflow attempt and activity attempt). */
  attemptId: string;
  /** Lowest and highest event position (`_pos`) staged, null for an empty window. */
  minPosition: string | null;
  maxPosition: string | null;
  /** Source rows read (may exceed `rows`: overlap de-duplication, PHI, filters). */
  sourceRowsRead?: number;
  /**
   * Where the next window starts when the read refined the window's end (identity: the high-water it saw and
   * the gaps it left open), consistent with exactly the rows this attempt staged. Absent: `window.to`.
   */
  resumePosition?: string;
  /** Of `durationMs`, milliseconds spent encoding Parquet and uploading it (metrics). */
  stageMs?: { encode: number; upload: number };
  /** Of `durationMs`, when the source read yielded its first batch and ended (the rest: the upload's drain). */
  readMs?: { firstBatch: number | null; end: number };
  /**
   * Sums of the control-total columns over the staged files (computed before upload; the validate step takes
   * them with the files' MD5). Absent in results recorded before, or when none is configured.
   */
  controlSums?: Readonly<Record<string, string | null>>;
  /** Where the staging spent its time (domain/stage-steps.ts; timings and counts only, bench:e2e's timeline). */
  steps?: ReadSteps;
}

export interface ValidateWindowInput {
  table: TableRef;
  window: WindowPlan;
  extract: ExtractWindowOutput;
}

export interface ValidateWindowOutput {
  /** Control totals that go into the manifest (counts per op, sums of configured numeric columns as strings). */
  controlTotals: Record<string, string>;
  /** Rows the source returned for the receipt's source check (absent: the window was not sampled). */
  sourceRowsRead?: number;
}

export interface CommitManifestInput {
  table: TableRef;
  window: WindowPlan;
  extract: ExtractWindowOutput;
  validation: ValidateWindowOutput;
  /**
   * Also advance the watermark to this window once its manifest (and the Delta log's publication) is there — the
   * advanceWatermark step folded into the commit (patch 'commit-advances-watermark'). Absent: the workflow
   * advances it with its own activity, as runs recorded before the patch do.
   */
  advanceWatermark?: boolean;
}

export interface CommitManifestOutput {
  manifestPath: string;
  /** True when this window had already been committed by an earlier attempt (a no-op retry). */
  alreadyCommitted: boolean;
  /**
   * Where the next window starts, as the committed manifest records it (for a no-op retry: the position the
   * earlier attempt's manifest recorded, not this attempt's). The watermark advances to it. Absent in results
   * recorded before the field existed (replayed histories): `window.to`.
   */
  resumePosition?: string;
  /**
   * The table's Delta log version after the publication that follows the commit (-1: none yet, or refused — see
   * the worker's log). Absent in results recorded before the Delta log was published.
   */
  deltaVersion?: number;
}

export interface AdvanceWatermarkInput {
  table: TableRef;
  seq: number;
  position: string;
  manifestPath: string;
}

export interface AdvanceWatermarkOutput {
  position: string;
}

export interface ReadWatermarkInput {
  table: TableRef;
}

/** Where the lake says a table stands: its manifests are the truth (the watermark pointer is rebuilt from them). */
export interface ReadWatermarkOutput {
  /** The position incremental sync resumes from, or null when the table has no complete load yet. */
  position: string | null;
  /** The last committed manifest sequence (0 when none). */
  lastSeq: number;
}

/** The activities a table's sync calls. Implemented by `createActivities(deps)`. */
export interface TableSyncActivities {
  readWatermark(input: ReadWatermarkInput): Promise<ReadWatermarkOutput>;
  planWindow(input: PlanWindowInput): Promise<PlanWindowOutput>;
  extractWindow(input: ExtractWindowInput): Promise<ExtractWindowOutput>;
  /** One sub-range of a split window (patch 'sub-range-activity'); its staging is merged by the workflow. */
  extractSubRange(input: ExtractSubRangeInput): Promise<ExtractWindowOutput>;
  validateWindow(input: ValidateWindowInput): Promise<ValidateWindowOutput>;
  commitManifest(input: CommitManifestInput): Promise<CommitManifestOutput>;
  advanceWatermark(input: AdvanceWatermarkInput): Promise<AdvanceWatermarkOutput>;
}

export interface PlanChunksInput {
  table: TableRef;
  job: JobSpec;
  /** Target rows per chunk. */
  chunkRows: number;
}

export interface PlanChunksOutput {
  /** The source position read before any chunk (for a snapshot: where incremental sync resumes after it). */
  position: string;
  chunks: KeyRange[];
}

export interface RunChunkInput {
  table: TableRef;
  job: JobSpec;
  chunk: KeyRange;
  attempt: number;
  /** The job's first window sequence: chunk `i` stages as window `firstSeq + i` (its files carry `_window_id`). */
  firstSeq: number;
}

/** A chunk's work: rows compared/read, and the staged events to commit (none when the chunk matched). */
export interface RunChunkOutput {
  /** Source rows read for this chunk (the sweep's and reconciliation's cost, reported). */
  sourceRowsRead: number;
  /** null when there is nothing to commit (a sweep chunk whose checksums match, no deleted keys). */
  staged: (ExtractWindowOutput & { readAt: string }) | null;
  /**
   * Sweep and backfill: the chunk's source rows against the lake's latest state of the same keys (counts
   * only). `differs: false` ⇒ the chunk was staged empty (nothing re-extracted).
   */
  compared?: { differs: boolean; sourceRows: number; lakeRows: number };
  /** Where the chunk's time went, ms from the activity's start (timings only; capture/chunk-result.ts). */
  steps?: ChunkSteps;
}

/** The activities a chunked job calls, besides validate/commit. */
export interface ChunkedJobActivities {
  planChunks(input: PlanChunksInput): Promise<PlanChunksOutput>;
  runChunk(input: RunChunkInput): Promise<RunChunkOutput>;
}

export interface CompactTableInput {
  /** The table (its id: the compaction reads the lake only, whatever the capture strategy). */
  table: Pick<TableRef, 'id'>;
  /** Target size of a compacted file in bytes (default 256 MB). */
  targetFileBytes?: number;
  /** Closed days compacted per run at most (default 7). */
  maxDays?: number;
  /** One day (`YYYY-MM-DD`) instead of every closed day. */
  day?: string;
}

/** One day's compaction (lake/delta/compaction.ts `CompactionReport`): counts, bytes, timings. */
export interface CompactedDay {
  commitDate: string;
  status: 'compacted' | 'nothing-to-do' | 'superseded' | 'no-delta-log';
  /** The compaction's Delta version (null unless compacted). */
  version: number | null;
  filesBefore: number;
  filesAfter: number;
  bytesBefore: number;
  bytesAfter: number;
  rows: number;
  durationMs: number;
}

export interface CompactTableOutput {
  days: CompactedDay[];
  filesRemoved: number;
  filesAdded: number;
  bytesBefore: number;
  bytesAfter: number;
  durationMs: number;
  /** The Delta publication was refused, so nothing was compacted (the message says why; no row values). */
  refused?: string;
}

/** The nightly compaction of a table's Delta log (capture/delta-compaction.ts). */
export interface CompactionActivities {
  compactTable(input: CompactTableInput): Promise<CompactTableOutput>;
}
