/**
 * How many job chunks may read the source at once in this process (issue 14, "memory stays flat"). A worker
 * takes up to its activity slots of chunks (a snapshot job schedules 4 at once), and each chunk being read holds
 * the driver's buffered batches, the events converted from them and the garbage both leave on the main thread's
 * heap: at 5M rows, four chunks read at once on one worker peaked at 1,445 MiB. With the budget, a chunk waits for
 * a read slot before it opens its read (and before its first segment takes a writer from capture/segment-budget.ts),
 * and gives the slot back as soon as its read ends — the encoding and upload of its last segment overlap the next
 * chunk's read. What a worker holds then depends on the budget, not on how many chunks or jobs it was handed.
 *
 * No deadlock: a waiting chunk holds nothing the reading chunks need (no segment writer, no source query), and a
 * reading chunk needs only segment writers, which are released by encoding. While it waits, a chunk keeps its
 * activity slot and keeps heartbeating (activities/heartbeat.ts ticks whatever the activity does); a cancelled
 * chunk leaves the queue at once. Several jobs share the one budget, first come first served.
 *
 * Only chunk reads take it: window steps (plans, window reads, commits) never wait for it.
 */

import { SlotBudget } from '../util/slot-budget.js';

/** Chunk reads at once per worker process unless the worker is told otherwise (docs/performance.md, branch i14-mem). */
export const DEFAULT_CHUNK_READ_SLOTS = 2;

/** A chunk read budget: the process's slots for chunk reads (util/slot-budget.ts). */
export class ChunkReadBudget extends SlotBudget {
  constructor(slots: number) {
    super('chunk read slots', slots);
  }
}

/** The process's budget (capture/chunk-run.ts takes a slot per chunk read; src/worker.ts sets its size). */
export const chunkReadBudget = new ChunkReadBudget(DEFAULT_CHUNK_READ_SLOTS);
