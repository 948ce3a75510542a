/**
 * Heartbeats on time, whatever the row rate.
 *
 * A heartbeat tells Temporal the worker running an activity is alive; the workflows give their activities a
 * heartbeat timeout so a killed worker's activity is retried elsewhere within seconds instead of at its
 * start-to-close timeout. Heartbeats that depend on rows (one per N rows read) miss that timeout whenever the
 * rows come slowly — a `limits.maxRowsPerSecond: 15` read sleeps minutes inside one 5,000-row batch, and the
 * adaptive back-off slows reads further — and the activity is then retried forever. So every activity runs
 * with a ticker ({@link keepAlive}) that heartbeats every few seconds while it runs, carrying the latest details
 * the activity recorded with {@link heartbeat} (an extraction's staged segments: a retry resumes after them).
 *
 * A ticker proves the process is alive, not that the activity makes progress: a read that stops returning rows
 * is bounded by the source's query timeout and the activity's start-to-close timeout.
 */
import { Context } from '@temporalio/activity';
import { CancelledFailure } from '@temporalio/common';
import { noProgress, type ProgressSink } from '../capture/progress.js';

/** The latest heartbeat details per running activity (what the ticker repeats). */
const latest = new WeakMap<Context, { details: unknown }>();

function currentContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined; // called outside an activity (direct calls in tests and benches)
  }
}

/** Records `details` as the activity's progress and heartbeats them now (no-op outside an activity). */
export function heartbeat(details?: unknown): void {
  const ctx = currentContext();
  if (!ctx) return;
  latest.set(ctx, { details });
  ctx.heartbeat(details);
}

/**
 * How often the ticker heartbeats: a quarter of the activity's heartbeat timeout, between 200 ms and 5 s.
 * (The SDK sends at most one heartbeat per 80% of the timeout; calls in between only replace the details.)
 */
export function tickMs(heartbeatTimeoutMs: number | undefined): number {
  if (heartbeatTimeoutMs === undefined || heartbeatTimeoutMs <= 0) return 5000;
  return Math.min(5000, Math.max(200, Math.floor(heartbeatTimeoutMs / 4)));
}

/**
 * Runs `fn` as an activity that heartbeats on time. Until the activity records details of its own, the ticker
 * repeats the previous attempt's, so an attempt that dies early does not erase what an earlier one staged.
 */
export function keepAlive<I, O>(fn: (input: I) => Promise<O>): (input: I) => Promise<O> {
  return async (input: I) => {
    const ctx = currentContext();
    if (!ctx) return fn(input);
    if (!latest.has(ctx)) latest.set(ctx, { details: ctx.info.heartbeatDetails as unknown });
    const timer = setInterval(() => {
      const last = latest.get(ctx);
      ctx.heartbeat(last?.details);
    }, tickMs(ctx.info.heartbeatTimeoutMs));
    try {
      return await fn(input);
    } finally {
      clearInterval(timer);
      latest.delete(ctx);
    }
  };
}

/**
 * The capture engine's progress sink in the running activity: records heartbeat details (the ticker repeats
 * them), gives the previous attempt's details and the attempt number, and reports cancellation as Temporal's
 * {@link CancelledFailure}. Outside an activity (direct calls in tests and benches): {@link noProgress}.
 */
export function activityProgress(): ProgressSink {
  const ctx = currentContext();
  if (!ctx) return noProgress;
  const whenCancelled = ctx.cancelled;
  whenCancelled.catch(() => undefined);
  return {
    previous: ctx.info.heartbeatDetails as unknown,
    attempt: ctx.info.attempt,
    record: heartbeat,
    isCancelled: () => ctx.cancellationSignal.aborted,
    cancellationError: () => new CancelledFailure('extraction cancelled'),
    whenCancelled,
  };
}
