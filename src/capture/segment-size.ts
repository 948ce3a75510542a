/**
 * How many events the next segment of a staging takes. A segment is encoded (DuckDB's COPY to Parquet, on the
 * writer thread) only once it is full, so whatever the last segment holds is encoded and uploaded after the
 * read's last row, overlapping nothing: a 50K-change window under one 100K-event segment spent ~0.18 s there,
 * ~15% of its path (docs/performance.md, "The burst's tail and the worker's first change window").
 *
 * When the plan counted the window (`WindowPlan.rows`), the segments are cut so that the last one is a small
 * tail: full segments while more than a segment and a tail remain, then one segment of all but the tail, then
 * the tail. The tail is a quarter of a segment (or of the window, when smaller), so that reading it takes about
 * as long as encoding the segment before it while the read competes for the CPU (a 40K-event segment took
 * ~0.2 s to encode beside the read, its 10K-event tail ~0.17 s to read): what is left after the read is mostly
 * the tail's own encode. One file more per counted window of at least {@link MIN_SPLIT_EVENTS} events; a window
 * below that, or not counted, keeps full segments.
 *
 * A hint only: the count may be off (an earlier attempt staged part of the window, or a segment was skipped),
 * and then the cuts are merely less well placed — every event still lands in exactly one segment.
 */

/** A counted window with fewer events stays in full segments: its tail would save less than a file costs. */
export const MIN_SPLIT_EVENTS = 20_000;

/** The tail is this fraction of a segment (or of a window smaller than one): a quarter. */
const TAIL_FRACTION = 4;

/**
 * Events the next segment should take, with `taken` of the window's events already consumed (staged or skipped)
 * and `expected` counted by the plan (undefined: not counted); `segmentRows` is the full segment.
 */
export function nextSegmentRows(segmentRows: number, expected: number | undefined, taken: number): number {
  if (expected === undefined || expected < MIN_SPLIT_EVENTS) return segmentRows;
  const tail = Math.ceil(Math.min(expected, segmentRows) / TAIL_FRACTION);
  const remaining = expected - taken;
  if (remaining > segmentRows + tail) return segmentRows;
  if (remaining > tail) return remaining - tail;
  return segmentRows;
}
