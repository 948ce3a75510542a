/**
 * What a window's read staged in the lake, as one set of types from the capture engine to the lake's commit:
 * files under attempt-unique names with their sizes, row counts and MD5s, the counts per operation, and the
 * positions. It crosses Temporal between the extract and commit steps, so it holds paths, counts, positions and
 * checksums — never a row value.
 */
import { addControlSums, type ControlSums } from './decimal-sum.js';
import type { ChangeOp } from './values.js';
import type { ReadSteps } from './stage-steps.js';

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
  /**
   * Of `durationMs`, when the source read yielded its first batch and when it ended (milliseconds from the
   * staging's start); the rest after `end` is the drain of the last segments (encode, upload). Timings only.
   * Absent in results recorded before, and for a merged sub-range staging.
   */
  readonly readMs?: ReadTimings;
  /**
   * The sums of the table's control-total columns (`tables[].quality.controlTotals`) over the staged files' `c`,
   * `u` and `r` events, computed on the local parts before upload (lake/check-parts.ts), so validation takes them
   * with the files' MD5 instead of downloading the files. Absent: not computed (none configured, or staged
   * before they were recorded); validation then sums the downloaded files.
   */
  readonly controlSums?: ControlSums;
  /**
   * Where the staging's time went (domain/stage-steps.ts: its segments, what the reading side waited on, the
   * source stream's waits), ms from the staging's start. Timings and counts only. Absent in results recorded
   * before, and for a merged sub-range staging.
   */
  readonly steps?: ReadSteps;
}

/** Milliseconds one staging spent encoding Parquet and uploading it. */
export interface StageTimings {
  readonly encode: number;
  readonly upload: number;
}

/** When a staging's source read yielded its first batch and ended, milliseconds from the staging's start. */
export interface ReadTimings {
  readonly firstBatch: number | null;
  readonly end: number;
}

/** What one sub-range's extraction returns (its `sourceRowsRead` optional, as it crosses Temporal). */
export type SubRangeStaging = Omit<StagedWindow, 'sourceRowsRead'> & { readonly sourceRowsRead?: number };

/**
 * One window's staging from the stagings of its sub-ranges (in sub-range order), as its one manifest records it:
 * every file of every part (each named with its own sub-range's attempt id), counts added up, positions spanning
 * all parts. Pure and deterministic: the sync workflow calls it on the activities' results. `attemptId` names the
 * parts' attempts (joined with `_`; shortened to the first and a count when that would exceed 64 characters).
 * Undefined when the parts were staged under different schema versions (a column added while they ran): one
 * manifest has one schema version, so the window is staged again (every part picks up the new version).
 */
export function mergeSubRangeStagings(parts: readonly SubRangeStaging[]): StagedWindow | undefined {
  const first = parts[0];
  if (!first) throw new RangeError('a window split into sub-ranges has at least one part');
  const opCounts: Record<ChangeOp, number> = { c: 0, u: 0, d: 0, r: 0 };
  let stage: StageTimings | undefined;
  let min: string | null = null;
  let max: string | null = null;
  for (const p of parts) {
    for (const op of Object.keys(opCounts) as ChangeOp[]) opCounts[op] += p.opCounts[op];
    if (p.stageMs)
      stage = { encode: (stage?.encode ?? 0) + p.stageMs.encode, upload: (stage?.upload ?? 0) + p.stageMs.upload };
    if (p.minPosition !== null && (min === null || p.minPosition < min)) min = p.minPosition;
    if (p.maxPosition !== null && (max === null || p.maxPosition > max)) max = p.maxPosition;
    if (p.schemaVersion !== first.schemaVersion) return undefined;
  }
  const joined = parts.map((p) => p.attemptId).join('_');
  const last = parts[parts.length - 1]!;
  const sums = parts.some((p) => p.controlSums) ? addControlSums(parts.map((p) => p.controlSums)) : undefined;
  return {
    attemptId: joined.length <= 64 ? joined : `${first.attemptId.slice(0, 40)}_and_${parts.length - 1}_more`,
    schemaVersion: first.schemaVersion,
    files: parts.flatMap((p) => p.files),
    rows: parts.reduce((n, p) => n + p.rows, 0),
    opCounts,
    minPosition: min,
    maxPosition: max,
    sourceRowsRead: parts.reduce((n, p) => n + (p.sourceRowsRead ?? p.rows), 0),
    durationMs: Math.max(...parts.map((p) => p.durationMs)),
    ...(stage ? { stageMs: stage } : {}),
    ...(sums ? { controlSums: sums } : {}),
    ...(last.resumePosition !== undefined ? { resumePosition: last.resumePosition } : {}),
  };
}
