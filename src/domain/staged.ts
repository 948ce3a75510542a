/**
 * What a window's read staged in the lake, as one set of types from the capture engine to the lake's commit:
 * files under attempt-unique names with their sizes, row counts and MD5s, the counts per operation, and the
 * positions. It crosses Temporal between the extract and commit steps, so it holds paths, counts, positions and
 * checksums — never a row value.
 */
import type { ChangeOp } from './values.js';

/** One staged Parquet file. `path` is relative to the table's root. */
export interface StagedFile {
  readonly path: string;
  /** The partition (`YYYY-MM-DD`, the commit date of its events) the file lies in. */
  readonly commitDate: string;
  readonly rows: number;
  readonly bytes: number;
  /** Content MD5 (base64), as stored by Blob Storage. */
  readonly md5: string;
}

/** Events per operation. */
export type OpCounts = Readonly<Record<ChangeOp, number>>;

/** One window (or job chunk) staged by one attempt, ready to be validated and committed by its manifest. */
export interface StagedWindow {
  /** The attempt id in the staged file names (unique per window, workflow attempt and activity attempt). */
  readonly attemptId: string;
  readonly schemaVersion: number;
  readonly files: readonly StagedFile[];
  /** Events staged (the sum of `opCounts`). */
  readonly rows: number;
  readonly opCounts: OpCounts;
  /** Lowest and highest event position (`_pos`) staged, null for an empty window. */
  readonly minPosition: string | null;
  readonly maxPosition: string | null;
  /** Source rows read (may exceed `rows`: overlap de-duplication, filters). */
  readonly sourceRowsRead: number;
  /**
   * Where the next window starts when the read refined the window's end (identity: the high-water it saw and
   * the gaps it left open), consistent with exactly the rows this attempt staged. Absent: the window's `to`.
   */
  readonly resumePosition?: string;
  readonly durationMs: number;
  /**
   * Of `durationMs`, the time spent encoding Parquet (flushing parts) and uploading them (metrics: the `encode`
   * and `upload` stages; the rest is `read`, which includes converting rows). Absent in results recorded before.
   */
  readonly stageMs?: StageTimings;
}

/** Milliseconds one staging spent encoding Parquet and uploading it. */
export interface StageTimings {
  readonly encode: number;
  readonly upload: number;
}
