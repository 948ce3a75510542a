/**
 * Feeds the worker's metrics (src/metrics) from the activities' inputs and outputs: every activity already
 * returns counts, positions and timings, so metering is a wrapper around each one, not code inside the engine.
 * Labels come from the configured table (its id and strategy) and fixed sets only.
 *
 * Errors are observed before the boundary translates them: a retryable error counts in
 * `tidemark_retries_total{failure_kind}`; a stopping one is remembered as the table's stop reason, which the
 * status refresher (src/worker-metrics.ts) exports while the table is stopped.
 */
import { Context } from '@temporalio/activity';
import type { TidemarkMetrics } from '../metrics/tidemark-metrics.js';
import { ActivityRecorder } from './activity-recorder.js';
import { WINDOW_READ_ACTIVITIES } from './contracts.js';
import type { StopKinds, ThrottleCounters } from './failure-kinds.js';

export { retryKindOf, stopKindOf, type StopKinds, type ThrottleCounters } from './failure-kinds.js';

export interface ActivityMeter {
  /** Wraps one activity: times it, records its output, observes its errors (rethrown unchanged). */
  wrap<I extends { table: { id: string } }, O>(name: string, fn: (input: I) => Promise<O>): (input: I) => Promise<O>;
  readonly stopKinds: StopKinds;
}

/**
 * The metering of `metrics` (undefined: activities run unmetered, as in tests and benches). `throttle` reads the
 * source-wide throttle's counters: their growth during a table's read is attributed to that table (reads of
 * several tables at once share the waits; the sum over tables stays right).
 */
export function activityMeter(
  metrics: TidemarkMetrics | undefined,
  throttle?: () => ThrottleCounters,
  /**
   * The rows/s cap a table's latency back-off sets now for its window reads or its job chunk reads (undefined:
   * none on this worker).
   */
  backoffRateOf?: (table: string, path: 'window' | 'chunk') => number | undefined,
): ActivityMeter {
  const stopKinds: StopKinds = new Map();
  if (!metrics) return { wrap: (_name, fn) => fn, stopKinds };
  const recorder = new ActivityRecorder(metrics, stopKinds);
  const onOutput = recorder as unknown as Record<
    string,
    ((input: never, output: never, ms: number) => void) | undefined
  >;
  return {
    stopKinds,
    wrap: (name, fn) => async (input) => {
      const t0 = Date.now();
      const reads = WINDOW_READ_ACTIVITIES.includes(name) || name === 'runChunk';
      const before = reads && throttle ? { ...throttle() } : undefined;
      let out;
      try {
        out = await fn(input);
      } catch (err) {
        try {
          recorder.onError(name, input.table.id, err);
        } catch {
          // Metering never changes an activity's outcome.
        }
        throw err;
      } finally {
        if (before && throttle) {
          const path = name === 'runChunk' ? 'chunk' : 'window';
          recorder.recordThrottle(input.table.id, before, throttle(), backoffRateOf?.(input.table.id, path), path);
        }
      }
      try {
        if (RECORDED.has(name)) onOutput[name]?.call(recorder, input as never, out as never, Date.now() - t0);
      } catch (err) {
        activityLogWarn(err);
      }
      return out;
    },
  };
}

/** The activities whose results are recorded (a method of {@link ActivityRecorder} each). */
const RECORDED = new Set([
  'planWindow',
  'extractWindow',
  'extractSubRange',
  'validateWindow',
  'commitManifest',
  'planChunks',
  'runChunk',
]);

function activityLogWarn(err: unknown): void {
  try {
    Context.current().log.warn('metrics: could not record an activity result', {
      error: err instanceof Error ? err.message : String(err),
    });
  } catch {
    // Outside an activity (direct calls).
  }
}
