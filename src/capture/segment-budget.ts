/**
 * How many segments may hold rows in a Parquet writer at once in this process, over every window and chunk it
 * stages. A segment's writer holds its rows in DuckDB (~1.15 KB of RSS per row) from its first row until it is
 * encoded; one staging pipeline holds at most two (one filling, one encoding), but a worker runs up to its
 * activity slots of them at once — four snapshot chunks of one table on one worker held eight, about 0.9 GiB at
 * 100K-row segments. The budget makes the worker's memory independent of how many windows and chunks it runs:
 * a segment that cannot get a slot waits until another is encoded (those stages share one main thread, so little
 * throughput is lost). No deadlock: a pipeline needs one slot to progress, and a slot held by an encoding segment
 * is released without needing another.
 */

import { SlotBudget } from '../util/slot-budget.js';

/** Segments with rows in a writer at once, per process (at 100K-row segments, ~0.45 GiB). */
export const SEGMENT_WRITER_SLOTS = 4;

/** The process's budget (capture/segment-source.ts takes a slot per segment). */
export const segmentBudget = new SlotBudget('segment writer slots', SEGMENT_WRITER_SLOTS);
