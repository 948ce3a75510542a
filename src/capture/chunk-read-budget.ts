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

/** Chunk reads at once per worker process unless the worker is told otherwise (docs/performance.md, branch i14-mem). */
export const DEFAULT_CHUNK_READ_SLOTS = 2;

export class ChunkReadBudget {
  private inUse = 0;
  private readonly waiting: { grant: () => void }[] = [];

  constructor(private limit: number) {
    ChunkReadBudget.check(limit);
  }

  private static check(slots: number): void {
    if (!Number.isInteger(slots) || slots < 1)
      throw new RangeError(`chunk read slots must be a whole number ≥ 1 (got ${slots})`);
  }

  /** Read slots of the process. */
  get slots(): number {
    return this.limit;
  }

  /** Sets the slots (the worker, at start-up, from its `--chunk-reads`); waiters are let in if there is room now. */
  resize(slots: number): void {
    ChunkReadBudget.check(slots);
    this.limit = slots;
    while (this.inUse < this.limit && this.waiting.length > 0) {
      this.inUse++;
      this.waiting.shift()!.grant();
    }
  }

  /**
   * Resolves once a read slot is free, with the function that gives it back (idempotent). Rejects with
   * `cancelled`'s reason if that settles first (the chunk's cancellation), and the chunk leaves the queue.
   */
  async acquire(cancelled?: Promise<never>): Promise<() => void> {
    if (this.inUse < this.limit && this.waiting.length === 0) this.inUse++;
    else
      await new Promise<void>((resolve, reject) => {
        const waiter = { grant: resolve };
        this.waiting.push(waiter);
        cancelled?.catch((reason: unknown) => {
          const i = this.waiting.indexOf(waiter);
          if (i < 0) return; // already granted: the caller releases what it got
          this.waiting.splice(i, 1);
          reject(reason instanceof Error ? reason : new Error('cancelled'));
        });
      });
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (this.inUse <= this.limit && this.waiting.length > 0)
        this.waiting.shift()!.grant(); // the slot passes straight to the next waiter
      else this.inUse--;
    };
  }

  /** Read slots taken now (for tests). */
  get used(): number {
    return this.inUse;
  }

  /** Chunks waiting for a slot now (for tests). */
  get queued(): number {
    return this.waiting.length;
  }
}

/** The process's budget (capture/chunk-run.ts takes a slot per chunk read; src/worker.ts sets its size). */
export const chunkReadBudget = new ChunkReadBudget(DEFAULT_CHUNK_READ_SLOTS);
