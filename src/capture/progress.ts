/**
 * How the capture engine reports progress and learns of cancellation without knowing who runs it: the
 * activities pass a sink that heartbeats to Temporal (src/activities/heartbeat.ts), direct callers (tests,
 * benches, `verify`) pass {@link noProgress}. The details recorded are positions, counts and paths only.
 */

export interface ProgressSink {
  /** The details the previous attempt of the same work recorded last (a retry resumes after them). */
  readonly previous: unknown;
  /** The attempt number of this work (1 on a first attempt and on direct calls). */
  readonly attempt: number;
  /** Records `details` as the current progress (and reports it now). */
  record(details: unknown): void;
  /** True once the work is cancelled (pause now, or its workflow went away). */
  isCancelled(): boolean;
  /** The error that reports the cancellation (thrown by the engine when it sees {@link isCancelled}). */
  cancellationError(): Error;
  /** Rejects with the cancellation when the work is cancelled; never settles otherwise. */
  readonly whenCancelled: Promise<never>;
}

/** A sink that records nothing and is never cancelled (direct calls). */
export const noProgress: ProgressSink = {
  previous: undefined,
  attempt: 1,
  record: () => undefined,
  isCancelled: () => false,
  cancellationError: () => new Error('cancelled'),
  whenCancelled: new Promise<never>(() => undefined),
};

/**
 * A waiter for promises that gives up with the cancellation once `sink` is cancelled (as `Promise.race([p,
 * sink.whenCancelled])` would), without racing against `whenCancelled` on every call: each such race adds a
 * reaction to the never-settling `whenCancelled` that keeps the race's result reachable until the work ends — on
 * a window read, every batch of rows the window read (the worker's heap grew with the window's size).
 * Here one reaction is added, once, and it rejects only the wait in progress.
 */
export function cancellableWaits(sink: ProgressSink): <T>(p: Promise<T>) => Promise<T> {
  let cancelled: { error: Error } | undefined;
  let rejectCurrent: ((error: Error) => void) | undefined;
  sink.whenCancelled.catch((reason: unknown) => {
    const error = reason instanceof Error ? reason : sink.cancellationError();
    cancelled = { error };
    rejectCurrent?.(error);
  });
  return <T>(p: Promise<T>) => {
    if (cancelled) {
      p.catch(() => undefined);
      return Promise.reject(cancelled.error);
    }
    return new Promise<T>((resolve, reject) => {
      rejectCurrent = reject;
      p.then(resolve, reject).finally(() => {
        if (rejectCurrent === reject) rejectCurrent = undefined;
      });
    });
  };
}
