/**
 * A pipeline of stages with bounded hand-offs: item k can be in stage j+1 while item k+1 is in stage j, so the
 * stages overlap (capture/stage-stream.ts: upload segment k while encoding k+1 while reading k+2).
 *
 * - Order: every stage takes its items one at a time, in the order the source produced them; so the last stage
 *   sees them in that order too (what it records is a prefix of the sequence).
 * - Bounded: between two stages at most `buffer` items wait (default 0: a stage hands an item over only when the
 *   next stage takes it), so at most `stages + 1 + buffer × stages` items are alive at once, whatever the length
 *   of the sequence — memory is bounded by that many items.
 * - Failure: the first error of the source or of any stage stops everything — the source is not asked again, no
 *   stage takes another item, calls already running finish — and then every item that did not leave the last
 *   stage is passed to `abandon` (clean-up: local files), and the first error is thrown. Items that left the last
 *   stage are done; nothing else is, so nothing is lost: the caller's record of done items is exact.
 */

/** Where items wait between two stages. */
class Handoff<T> {
  private readonly items: T[] = [];
  private closed = false;
  private readonly waiters: (() => void)[] = [];

  constructor(
    private readonly capacity: number,
    private readonly stopped: () => boolean,
  ) {}

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  private wait(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Hands `item` over; resolves when the next stage took it (or it fits the buffer); false once stopped. */
  async put(item: T): Promise<boolean> {
    this.items.push(item);
    this.wake();
    while (!this.stopped() && this.items.length > this.capacity && this.items.includes(item)) await this.wait();
    return !this.stopped();
  }

  /** The next item, or undefined once the producer closed and nothing waits, or once stopped. */
  async take(): Promise<T | undefined> {
    for (;;) {
      if (this.stopped()) return undefined;
      const item = this.items.shift();
      if (item !== undefined) {
        this.wake();
        return item;
      }
      if (this.closed) return undefined;
      await this.wait();
    }
  }

  close(): void {
    this.closed = true;
    this.wake();
  }

  /** Wakes every waiter (after a failure) and returns the items still waiting. */
  drain(): T[] {
    this.wake();
    return this.items.splice(0);
  }
}

/** One stage: takes an item of the previous stage, returns the item for the next one. */
export type PipelineStage = (item: never) => Promise<unknown>;

export interface PipelineOptions {
  /** Items that may wait between two stages (default 0: hand-over only). */
  readonly buffer?: number;
  /** Called once per item that did not leave the last stage, after a failure (clean-up). */
  readonly abandon?: (item: unknown) => Promise<void> | void;
}

/**
 * Runs `source` (it produces the items, undefined when there are no more) into `stages`, overlapping them;
 * resolves when the last stage took every item, or rejects with the first error after abandoning the rest.
 */
export async function runPipeline(
  source: () => Promise<unknown>,
  stages: readonly PipelineStage[],
  options: PipelineOptions = {},
): Promise<void> {
  let failure: { error: unknown } | undefined;
  const stopped = () => failure !== undefined;
  const handoffs = stages.map(() => new Handoff<unknown>(options.buffer ?? 0, stopped));
  const held = new Set<unknown>(); // items inside a stage call (or just produced)
  const fail = (error: unknown) => {
    failure ??= { error };
    for (const h of handoffs) h.drain().forEach((x) => held.add(x));
  };
  const produce = async () => {
    try {
      for (;;) {
        if (stopped()) return;
        const item = await source();
        if (item === undefined) break;
        held.add(item);
        if (stopped()) return;
        held.delete(item);
        // Once handed over the item is the next stage's (or waits in the hand-off, drained on a failure).
        if (!(await handoffs[0]!.put(item))) return;
      }
      handoffs[0]!.close();
    } catch (err) {
      fail(err);
    }
  };
  const run = async (j: number) => {
    try {
      for (;;) {
        const item = await handoffs[j]!.take();
        if (item === undefined) break;
        held.add(item);
        const out = await (stages[j] as (x: unknown) => Promise<unknown>)(item);
        held.delete(item);
        if (j === stages.length - 1) continue;
        held.add(out);
        if (stopped()) return;
        held.delete(out);
        if (!(await handoffs[j + 1]!.put(out))) return;
      }
      if (!stopped() && j < stages.length - 1) handoffs[j + 1]!.close();
    } catch (err) {
      fail(err);
    }
  };
  await Promise.all([produce(), ...stages.map((_s, j) => run(j))]);
  if (!failure) return;
  for (const h of handoffs) h.drain().forEach((x) => held.add(x));
  for (const item of held) {
    try {
      await options.abandon?.(item);
    } catch {
      // clean-up after a failure: the first error is the one reported
    }
  }
  throw failure.error;
}
