/**
 * A count of slots shared by everything in one process that takes them (capture/chunk-read-budget.ts,
 * capture/segment-budget.ts): `acquire` resolves once a slot is free, first come first served, with the function
 * that gives it back; a freed slot passes straight to the next waiter.
 */
export class SlotBudget {
  private inUse = 0;
  private readonly waiting: { grant: () => void }[] = [];

  /** `what` names the slots in the message of a bad size ("chunk read slots"). */
  constructor(
    private readonly what: string,
    private limit: number,
  ) {
    this.check(limit);
  }

  private check(slots: number): void {
    if (!Number.isInteger(slots) || slots < 1)
      throw new RangeError(`${this.what} must be a whole number ≥ 1 (got ${slots})`);
  }

  /** Slots of the process. */
  get slots(): number {
    return this.limit;
  }

  /** Sets the slots (e.g. the worker at start-up); waiters are let in if there is room now. */
  resize(slots: number): void {
    this.check(slots);
    this.limit = slots;
    while (this.inUse < this.limit && this.waiting.length > 0) {
      this.inUse++;
      this.waiting.shift()!.grant();
    }
  }

  /**
   * Resolves once a slot is free, with the function that gives it back (idempotent). Rejects with `cancelled`'s
   * reason if that settles first, and the caller leaves the queue.
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

  /** Slots taken now (for tests and metrics). */
  get used(): number {
    return this.inUse;
  }

  /** Callers waiting for a slot now (for tests). */
  get queued(): number {
    return this.waiting.length;
  }
}
