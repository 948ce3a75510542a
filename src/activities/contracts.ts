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

/** A table as configured: `<database>.<schema>.<name>`, plus its capture strategy. */
export interface TableRef {
  /** `<db>.<schema>.<table>`, the workflow ID suffix and the lake folder name. */
  id: string;
  strategy: CaptureStrategyName;
}

export type CaptureStrategyName = 'cdc' | 'change_tracking' | 'rowversion' | 'updated_at' | 'identity';

/** A window's bounds, fixed from the source before anything is read. */
export interface WindowPlan {
  /** Window sequence number: the manifest sequence it commits as. Dense, starting at 1. */
  seq: number;
  /** `changes`: log events in (from, to]; `snapshot`: the rows of `keyRange` as read at position `to`. */
  kind: 'changes' | 'snapshot';
  /** Exclusive lower bound (the previous window's `to`); null for snapshot windows. */
  from: string | null;
  /** Inclusive upper bound read from the source at planning time; for a snapshot chunk, the position it was read at. */
  to: string;
  /** Snapshot windows only: the key range the chunk covers. */
  keyRange?: KeyRange;
  /** Read from the source when the window was planned (ISO-8601). */
  plannedAt: string;
}

export interface PlanWindowInput {
  table: TableRef;
  /** The last committed position (the watermark), or null before the first snapshot. */
  lastPosition: string | null;
  /** The sequence number the planned window will take. */
  seq: number;
}

export interface PlanWindowOutput {
  /** null when nothing changed since `lastPosition`: no window, wait for the next cadence. */
  window: WindowPlan | null;
  /** Seconds between the source's newest change and `lastPosition`, when the source can tell. */
  lagSeconds: number | null;
}

export interface ExtractWindowInput {
  table: TableRef;
  window: WindowPlan;
  /** Attempt number of this window's extraction, part of staged file names (zombie-proof). */
  attempt: number;
}

/** One staged Parquet file. */
export interface StagedFile {
  path: string;
  rows: number;
  bytes: number;
  /** Content MD5 (base64) as stored by Blob Storage. */
  md5: string;
}

export interface ExtractWindowOutput {
  files: StagedFile[];
  rows: number;
  /** Rows per operation: c, u, d, r. */
  opCounts: Record<string, number>;
  schemaVersion: number;
  durationMs: number;
}

export interface ValidateWindowInput {
  table: TableRef;
  window: WindowPlan;
  extract: ExtractWindowOutput;
}

export interface ValidateWindowOutput {
  /** Control totals that go into the manifest (counts per op, sums of configured numeric columns as strings). */
  controlTotals: Record<string, string>;
}

export interface CommitManifestInput {
  table: TableRef;
  window: WindowPlan;
  extract: ExtractWindowOutput;
  validation: ValidateWindowOutput;
}

export interface CommitManifestOutput {
  manifestPath: string;
  /** True when this window had already been committed by an earlier attempt (a no-op retry). */
  alreadyCommitted: boolean;
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

export interface ReseedInput {
  table: TableRef;
  /** Why the re-seed runs (e.g. the gap's description), for the audit trail. */
  reason: string;
}

export interface ReseedOutput {
  /** The source position the snapshot was read at: incremental sync resumes after it. */
  position: string;
  /** The last manifest sequence the snapshot committed. */
  lastSeq: number;
  /** Its manifest path. */
  lastManifestPath: string;
  /** Windows (chunks) committed. */
  windows: number;
  rows: number;
}

export interface ReadWatermarkInput {
  table: TableRef;
}

/** Where the lake says a table stands: its manifests are the truth (the watermark pointer is rebuilt from them). */
export interface ReadWatermarkOutput {
  /** The last committed position, or null when the table has never been loaded. */
  position: string | null;
  /** The last committed manifest sequence (0 when none). */
  lastSeq: number;
}

/** The activities a table's sync calls. Implemented by `createActivities(deps)`. */
export interface TableSyncActivities {
  readWatermark(input: ReadWatermarkInput): Promise<ReadWatermarkOutput>;
  planWindow(input: PlanWindowInput): Promise<PlanWindowOutput>;
  extractWindow(input: ExtractWindowInput): Promise<ExtractWindowOutput>;
  validateWindow(input: ValidateWindowInput): Promise<ValidateWindowOutput>;
  commitManifest(input: CommitManifestInput): Promise<CommitManifestOutput>;
  advanceWatermark(input: AdvanceWatermarkInput): Promise<AdvanceWatermarkOutput>;
}

/**
 * Failure types (ApplicationFailure.type) the workflows act on. Config and prerequisite errors are shown to the
 * operator and never retried; a gap starts a re-seed; an incompatible schema change stops the table.
 */
export const FailureType = {
  ChangeLogGap: 'ChangeLogGapError',
  IncompatibleSchemaChange: 'IncompatibleSchemaChangeError',
  Config: 'ConfigError',
  Prerequisite: 'PrerequisiteError',
  WindowConflict: 'WindowConflictError',
} as const;

/** Types never retried by Temporal's retry policy: retrying cannot fix them. */
export const NON_RETRYABLE_FAILURE_TYPES: string[] = Object.values(FailureType);

/** A key range of a snapshot: `(after, upTo]` in key order; opaque encoded key tuples, null = open end. */
export interface KeyRange {
  index: number;
  after: string | null;
  upTo: string | null;
}

export interface PlanSnapshotInput {
  table: TableRef;
  reason: string;
  /** Target rows per chunk. */
  chunkRows: number;
}

export interface PlanSnapshotOutput {
  /** The source position read before any chunk: incremental sync resumes after it. */
  position: string;
  chunks: KeyRange[];
}

export interface SnapshotChunkInput {
  table: TableRef;
  /** The window sequence this chunk commits as. */
  seq: number;
  chunk: KeyRange;
  attempt: number;
}

/** A chunk's extraction: staged files plus the position its rows were read at (their `_position`). */
export interface SnapshotChunkOutput extends ExtractWindowOutput {
  readAt: string;
}

/** The activities a snapshot (initial load or re-seed) calls, besides validate/commit/advance. */
export interface SnapshotActivities {
  planSnapshot(input: PlanSnapshotInput): Promise<PlanSnapshotOutput>;
  snapshotChunk(input: SnapshotChunkInput): Promise<SnapshotChunkOutput>;
}
