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

/** Segments with rows in a writer at once, per process (at 100K-row segments, ~0.45 GiB). */
export const SEGMENT_WRITER_SLOTS = 4;

export class SegmentBudget {
  private inUse = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly slots: number) {}

  /** Resolves once a slot is free; the returned function gives it back (idempotent). */
  async acquire(): Promise<() => void> {
    if (this.inUse >= this.slots) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.inUse++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next)
        next(); // the slot passes straight to the next waiter
      else this.inUse--;
    };
  }

  /** Slots taken now (for tests and metrics). */
  get used(): number {
    return this.inUse;
  }
}

/** The process's budget (capture/segment-source.ts takes a slot per segment). */
export const segmentBudget = new SegmentBudget(SEGMENT_WRITER_SLOTS);
