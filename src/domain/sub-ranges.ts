/**
 * Splitting a window into sub-ranges (issue 14, "one busy table scales out"), as pure functions: the strategy
 * reads where the window's changes may be cut (transaction ends) and how many there are; these decide the cuts.
 * Used by the planning activity (never in workflow code, which only receives the result).
 */
import type { SubRange } from './window.js';

/** The most sub-ranges one window is split into (bounds the workflow's fan-out and its history per window). */
export const MAX_SUB_RANGES = 32;

/**
 * The rows each sub-range of a window of `totalRows` should hold: `rowsPerSubRange`, raised so that the window
 * needs at most `maxSubRanges`. Undefined when the window is small enough for one read.
 */
export function subRangeTarget(
  totalRows: number,
  rowsPerSubRange: number,
  maxSubRanges: number = MAX_SUB_RANGES,
): number | undefined {
  if (totalRows <= rowsPerSubRange) return undefined;
  return Math.max(rowsPerSubRange, Math.ceil(totalRows / maxSubRanges));
}

/**
 * The sub-ranges of the window (from, to] cut after each position of `cuts` (each the end of a transaction, in
 * the strategy's position format: string order is source order). Cuts outside the window, and repeated ones,
 * are ignored; at most `maxSubRanges` ranges are made (the later cuts are dropped). Undefined when fewer than two
 * ranges remain (the window is read whole).
 */
export function subRangesAt(
  from: string | null,
  to: string,
  cuts: readonly string[],
  maxSubRanges: number = MAX_SUB_RANGES,
): SubRange[] | undefined {
  const inside = [...new Set(cuts)].filter((c) => (from === null || c > from) && c < to).sort();
  const kept = inside.slice(0, Math.max(0, maxSubRanges - 1));
  if (kept.length === 0) return undefined;
  const ranges: SubRange[] = [];
  let lo = from;
  for (const c of kept) {
    ranges.push({ from: lo, to: c });
    lo = c;
  }
  ranges.push({ from: lo, to });
  return ranges;
}

/** Whether `ranges` are a valid split of (from, to]: contiguous, increasing, covering exactly the window. */
export function coversWindow(from: string | null, to: string, ranges: readonly SubRange[]): boolean {
  if (ranges.length < 2 || ranges[0]!.from !== from || ranges[ranges.length - 1]!.to !== to) return false;
  return ranges.every((r, i) => (r.from === null || r.from < r.to) && (i === 0 || r.from === ranges[i - 1]!.to));
}
