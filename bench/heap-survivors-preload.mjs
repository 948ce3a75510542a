/**
 * What a process keeps alive past a scavenge, by allocation site: V8's sampling heap profiler, started at process
 * start in the main thread, not counting objects a scavenge freed (`includeObjectsCollectedByMinorGC: false`), and
 * counting or not those a mark-compact freed (HEAP_SURVIVORS_MODE below). Every HEAP_SURVIVORS_EVERY_MS (default 4,000) it writes the profile of that moment to `$HEAP_SURVIVORS_DIR/survivors-<pid>-<n>.json`
 * (the format of `HeapProfiler.getSamplingProfile`); `bench/heap-survivors-summary.ts` sums it by function.
 *
 * On a worker under bench:e2e:
 *   HEAP_SURVIVORS_DIR=/tmp/hs BENCH_WORKER_NODE_FLAGS="--max-old-space-size=512 --import ./bench/heap-survivors-preload.mjs" \
 *     npm run bench:e2e -- …
 * and compare two profiles taken during the initial load: what grows between them (mode `promoted`) is what the
 * main isolate promoted to its old generation in between, by allocating function.
 */
import { Session } from 'node:inspector';
import { isMainThread } from 'node:worker_threads';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setInterval } from 'node:timers';

if (isMainThread) {
  const dir = process.env.HEAP_SURVIVORS_DIR ?? '/tmp';
  mkdirSync(dir, { recursive: true });
  const session = new Session();
  session.connect();
  const interval = Number(process.env.HEAP_SURVIVORS_INTERVAL ?? 32768);
  // HEAP_SURVIVORS_MODE=promoted (default): count what survived a scavenge even once a mark-compact freed it —
  // what the process promoted, summed from the start. `live`: only what no collection freed (V8 then runs a full
  // collection before each profile, so it is the live heap of that moment). `allocated`: everything the main
  // isolate allocated, whatever collected it — the allocation rate by function, summed from the start.
  const mode = process.env.HEAP_SURVIVORS_MODE ?? 'promoted';
  session.post('HeapProfiler.startSampling', {
    samplingInterval: interval,
    includeObjectsCollectedByMajorGC: mode !== 'live',
    includeObjectsCollectedByMinorGC: mode === 'allocated',
  });
  let n = 0;
  const write = () =>
    session.post('HeapProfiler.getSamplingProfile', (err, res) => {
      if (err) return;
      const file = join(dir, `survivors-${process.pid}-${++n}.json`);
      writeFileSync(file, JSON.stringify({ at: Date.now(), ...res.profile }));
    });
  // A timer, not a signal: Temporal's worker runtime shuts down on SIGUSR2 (one of its default shutdown signals).
  setInterval(write, Number(process.env.HEAP_SURVIVORS_EVERY_MS ?? 4000)).unref();
}
