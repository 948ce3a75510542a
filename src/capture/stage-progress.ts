/**
 * What an extraction records as its progress (the heartbeat details): what is staged and how far the stream was
 * consumed — positions, counts, paths and a digest, never a row value. A retry after a crash resumes after the
 * last staged segment when the re-read yields the same events (stage-stream.ts).
 */
import { randomBytes } from 'node:crypto';
import type { ChangeOp } from '../domain/values.js';
import type { StagedFile } from '../domain/staged.js';
import { addControlSums } from '../domain/decimal-sum.js';
import type { ProgressSink } from './progress.js';

export interface StageProgress {
  attemptId: string;
  schemaVersion: number;
  segments: number;
  eventsDone: number;
  lastPos: string | null;
  files: StagedFile[];
  opCounts: Record<ChangeOp, number>;
  minPosition: string | null;
  maxPosition: string | null;
  /** Milliseconds spent encoding and uploading the staged segments (metrics; absent in older heartbeats). */
  stageMs?: { encode: number; upload: number };
  /**
   * Sums of the control-total columns over the staged segments (non-PHI columns by configuration). Absent: none
   * configured, or a segment staged without them (an older heartbeat), so the attempt's sums are unknown.
   */
  controlSums?: Record<string, string | null>;
  /**
   * SHA-256 (hex) over the positions of the events staged so far, in order. A resumed attempt skips that many
   * events of its re-read and reuses the staged segments only if the skipped positions hash the same: a read
   * that sees more than the interrupted one (identity: a gap committed in between) starts over instead of
   * leaving a row out.
   */
  digest: string;
}

/** Nothing staged yet. */
export function freshProgress(attemptId: string, schemaVersion: number): StageProgress {
  return {
    attemptId,
    schemaVersion,
    segments: 0,
    eventsDone: 0,
    lastPos: null,
    files: [],
    opCounts: { c: 0, u: 0, d: 0, r: 0 },
    minPosition: null,
    maxPosition: null,
    digest: '',
  };
}

/**
 * A new attempt id: `<workflow attempt>-<activity attempt>-<random>`, or for a window's sub-range `k`
 * `<workflow attempt>-<activity attempt>-r<k>-<random>` (the sub-ranges of one attempt run at once). Random
 * suffix: a workflow restarted from the lake counts attempts from 1 again; names must still be new.
 */
export function newAttemptId(workflowAttempt: number, sink: ProgressSink, subRange?: number): string {
  const part = subRange === undefined ? '' : `r${subRange}-`;
  return `${workflowAttempt}-${sink.attempt}-${part}${randomBytes(4).toString('hex')}`;
}

/**
 * Where this attempt starts: the previous attempt's progress when it staged segments with the same schema
 * version (resume after them), else nothing staged under a fresh attempt id (so no name is written twice).
 */
export function startingProgress(
  sink: ProgressSink,
  workflowAttempt: number,
  schemaVersion: number,
  subRange?: number,
): StageProgress {
  const d = sink.previous as StageProgress | undefined;
  const prior = d && typeof d.attemptId === 'string' && Array.isArray(d.files) ? d : undefined;
  if (prior && prior.schemaVersion === schemaVersion && prior.segments > 0) return prior;
  return freshProgress(newAttemptId(workflowAttempt, sink, subRange), schemaVersion);
}

/**
 * The re-read differs from what the interrupted attempt staged: record that nothing is reusable (so the next
 * attempt starts over under a new attempt id instead of resuming the same segments again) and fail this
 * attempt; it is retried.
 */
export function restartWindow(sink: ProgressSink, stale: StageProgress): Error {
  sink.record(freshProgress(stale.attemptId, stale.schemaVersion));
  return new Error('Re-read of the window differs from the staged segments; starting the window over');
}

/** Adds a segment's control sums to the progress's (before the segment is counted in `segments`). */
export function addSegmentSums(progress: StageProgress, sums: StageProgress['controlSums']): void {
  const total = progress.segments === 0 ? sums : addControlSums([progress.controlSums, sums]);
  if (total) progress.controlSums = { ...total };
  else delete progress.controlSums;
}
