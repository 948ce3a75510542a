/**
 * Jobs over a table's key space (snapshot, backfill, late-update sweep, delete reconciliation): what is asked,
 * the key-range chunks they fan out into, and what they report. Positions, keys (encoded) and counts only.
 */

/** A key range of a chunked job: `(after, upTo]` in key order; opaque encoded key tuples, null = open end. */
export interface KeyRange {
  index: number;
  after: string | null;
  upTo: string | null;
  /** Chunks in the job (so the lake can tell a complete snapshot from an interrupted one). */
  count?: number;
  /** The job's position (PlanChunksOutput.position), recorded with the chunk so each chunk window carries it. */
  jobPosition?: string;
}

/**
 * A chunked job over a table's key space. Each runs as its own workflow, started by the table's sync at a
 * window boundary (the table-sync workflow is the only writer of a table's manifest sequence):
 * - `snapshot`: initial load or re-seed: every row as an `r` event; incremental sync resumes after it;
 * - `backfill`: rows whose business date is in [from, to] as `r` events at a recorded position;
 * - `sweep`: the late-update sweep: per-chunk checksums source vs lake over the last `days` days' key range,
 *   re-extracting only chunks that differ;
 * - `reconcile`: delete reconciliation: key-set diff per chunk → `d` tombstones for keys gone from the source.
 */
export type JobSpec =
  | { kind: 'snapshot'; reason: string }
  | { kind: 'backfill'; from: string; to: string }
  | { kind: 'sweep'; days: number }
  | { kind: 'reconcile' };

export type JobKind = JobSpec['kind'];

/** A job asked of a table's sync (by the CLI or a schedule); `id` makes the job's workflow ID. */
export interface JobRequest {
  id: string;
  job: JobSpec;
}

/** What a job reports when it ends (counts and positions). */
export interface JobOutput {
  kind: JobKind;
  /** The source position read before the first chunk. */
  position: string;
  /** The last manifest sequence committed (firstSeq − 1 when nothing was committed). */
  lastSeq: number;
  lastManifestPath: string | null;
  windows: number;
  rows: number;
  sourceRowsRead: number;
  chunks: number;
  /** Sweep and backfill: chunks compared with the lake, and those that differed (re-extracted). */
  chunksCompared?: number;
  chunksReextracted?: number;
}
