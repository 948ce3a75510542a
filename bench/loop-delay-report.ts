/**
 * Preloaded into a benchmark's child process (`node --import <this file>`): every `LOOP_DELAY_REPORT_MS`
 * milliseconds one line on stderr, `loop-delay {json}`, with the event loop's delay over that interval — how long
 * a ready callback (a request that arrived, a timer) waited for the process's one JS thread. bench/sim-fairness.ts
 * reads it from the simulator while one session streams a large result. A preload, not a simulator option, so the
 * same measure runs on another checkout's simulator (`--baseline-sim`).
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';

const every = Number(process.env.LOOP_DELAY_REPORT_MS ?? '0');
if (every > 0) {
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  const ms = (ns: number) => +(ns / 1e6).toFixed(2);
  setInterval(() => {
    const line = { at: Date.now(), p50: ms(h.percentile(50)), p99: ms(h.percentile(99)), max: ms(h.max) };
    process.stderr.write(`loop-delay ${JSON.stringify(line)}\n`);
    h.reset();
  }, every).unref();
}
