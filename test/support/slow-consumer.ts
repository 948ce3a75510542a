/**
 * A consumer slower than the driver, for tests of how a source read hands its rows on: without a pause after
 * each batch the driver would deliver a whole read meanwhile, and the batch sizes would say nothing about what the
 * reader passes on while its consumer is busy (docs/performance.md, "What survives the worker's scavenges").
 */
import { setTimeout as sleep } from 'node:timers/promises';

/** Every batch's size and every row, in order, pausing `pauseMs` after each batch; `largest` is the biggest batch. */
export async function consumeSlowly<T>(
  batches: AsyncIterable<{ readonly rows: readonly T[] }>,
  pauseMs = 5,
): Promise<{ sizes: number[]; rows: T[]; largest: number }> {
  const sizes: number[] = [];
  const rows: T[] = [];
  for await (const b of batches) {
    sizes.push(b.rows.length);
    rows.push(...b.rows);
    await sleep(pauseMs);
  }
  return { sizes, rows, largest: Math.max(0, ...sizes) };
}
