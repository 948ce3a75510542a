/**
 * The worker's V8 heap cap (issue 14, "memory stays flat"). Node lets the main thread's old generation grow to a
 * limit derived from the machine's memory (several GiB on a 24 GiB host), and V8 lets garbage pile up well beyond
 * the live heap before a full collection: the worker's live heap is ~150 MB during a load, but its heap reached
 * ~600 MB between collections (docs/performance.md, "Memory at 2M rows"). A cap makes V8 collect sooner, and the
 * worker's resident set stays under 1 GiB (docs/performance.md, "Memory at 5M rows (branch i14-mem)").
 *
 * The flag must be given when node starts (V8 sizes its heap then): `npm run worker` (and so the Docker image) passes
 * {@link WORKER_NODE_FLAGS}; a worker started otherwise logs that it runs without the cap. The same cap applies to
 * the worker's threads (the Parquet writers), which set no old-generation limit of their own.
 *
 * A large value still loads under it: a row with an 8 MiB `nvarchar(max)` value (test:
 * test/e2e/worker-heap-large-value.test.ts; larger values were not tested, see there why). A row whose values come
 * near the cap needs a larger one: `NODE_OPTIONS=--max-old-space-size=N` or the flag on node's command line
 * (docs/operations.md).
 */
import { getHeapStatistics } from 'node:v8';

/** The main thread's old-generation cap, MiB. */
export const WORKER_OLD_SPACE_MB = 512;

/**
 * Node flags the worker is started with (package.json's `worker` script; the benches and e2e tests):
 * - the old-generation cap above;
 * - `--no-memory-reducer`: V8's memory reducer collects with "reduce footprint" once a process has allocated
 *   little for a few seconds, and leaves the old generation's limit just above the live heap. A worker is idle
 *   between windows, so each window then started one or two full markings of the ~110 MB live heap (V8's helper
 *   threads 4.4–6 µs of CPU per change of a 50K-change window, besides the main thread's marking steps), on a
 *   machine whose two cores the read, the encoding and the source already share. Without it the heap keeps its
 *   working size between windows (bounded by the cap; the peak is unchanged): the burst window's path was
 *   0.96–1.01 s against 1.01–1.21 s, helper threads 1.4–3.6 µs per change (docs/performance.md, "The memory
 *   reducer between windows, and the window's fixed steps").
 */
export const WORKER_NODE_FLAGS: readonly string[] = [
  `--max-old-space-size=${WORKER_OLD_SPACE_MB}`,
  '--no-memory-reducer',
];

/** This process's V8 heap limit, MiB (the old-generation cap plus the young generation). */
export function heapLimitMb(): number {
  return Math.round(getHeapStatistics().heap_size_limit / 2 ** 20);
}

/** Whether this process was started with an old-generation cap (ours or an operator's). */
export function heapCapped(execArgv: readonly string[] = process.execArgv, nodeOptions = process.env.NODE_OPTIONS) {
  const flag = /--max[-_]old[-_]space[-_]size/;
  return execArgv.some((a) => flag.test(a)) || flag.test(nodeOptions ?? '');
}
