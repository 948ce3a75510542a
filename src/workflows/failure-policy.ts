/**
 * What a table's sync does about a failure that reached it — one policy, kept out of the workflow's loop so it
 * can be read and unit-tested on its own. Plain functions over Temporal's failure classes (deterministic).
 *
 * Retryable activity failures never get here: the retry policy retries them (src/workflows/retry.ts). What does
 * get here cannot be fixed by retrying the same step (src/activities/failures.ts says which), so:
 *
 * - a **window step** (readWatermark, plan, extract, validate, commit, advance): a change-log gap re-seeds the
 *   table; every other failure stops it, visibly, with its reason in `status` — never a FAILED workflow, never a
 *   silent retry loop. `tidemark resume` retries after the operator fixed the cause;
 * - a **job** (a child workflow): the job ends `failed` with its reason, and the table goes back to syncing —
 *   a bad backfill must not block the table. A job terminated or cancelled from the Web UI is a failed job too.
 *   The snapshot is the exception: without it the table has nothing to sync from, so its failure stops the table
 *   (resume runs it again);
 * - anything that is not a Temporal failure is a bug in workflow code: rethrown (it fails the workflow task,
 *   which Temporal retries until a fixed worker is deployed), as is the cancellation of the sync itself.
 */
import {
  ApplicationFailure,
  CancelledFailure,
  TemporalFailure,
  TerminatedFailure,
  TimeoutFailure,
} from '@temporalio/common';
import { FailureType } from '../domain/failures.js';
import { type JobKind } from '../domain/jobs.js';

/** What a failure says: an activity error's type (its class name) or how a child ended, and a message. */
export interface FailureFacts {
  /** `ApplicationFailure.type` (e.g. `ConfigError`, `SourceQueryError`), or `Terminated`, `Cancelled`, `TimedOut`. */
  type: string;
  message: string;
}

/** Reads a failure's cause chain (child → activity → application failure); undefined for a non-Temporal error. */
export function failureFacts(err: unknown): FailureFacts | undefined {
  if (!(err instanceof TemporalFailure)) return undefined;
  let e: unknown = err;
  for (let depth = 0; e && depth < 8; depth++) {
    if (e instanceof ApplicationFailure) return { type: e.type ?? 'Error', message: e.message };
    if (e instanceof TerminatedFailure) return { type: 'Terminated', message: 'its workflow was terminated' };
    if (e instanceof CancelledFailure) return { type: 'Cancelled', message: 'its workflow was cancelled' };
    if (e instanceof TimeoutFailure) return { type: 'TimedOut', message: `it timed out (${e.timeoutType})` };
    e = (e as { cause?: unknown }).cause;
  }
  return { type: err.name, message: err.message };
}

export type WindowFailureAction =
  { kind: 'reseed'; reason: string } | { kind: 'stop'; reason: string } | { kind: 'rethrow' };

/** What the sync does when a window step (or reading the watermark) failed for good. */
export function onWindowFailure(err: unknown): WindowFailureAction {
  const f = failureFacts(err);
  if (!f || f.type === 'Cancelled') return { kind: 'rethrow' };
  if (f.type === FailureType.ChangeLogGap) return { kind: 'reseed', reason: f.message };
  return { kind: 'stop', reason: `${f.type}: ${f.message}` };
}

export type JobFailureAction = { kind: 'job-failed'; reason: string; stopTable: boolean } | { kind: 'rethrow' };

/** What the sync does when a job's workflow failed, was terminated or cancelled. */
export function onJobFailure(kind: JobKind, err: unknown): JobFailureAction {
  const f = failureFacts(err);
  if (!f) return { kind: 'rethrow' };
  const reason =
    f.type === 'Terminated' || f.type === 'Cancelled' || f.type === 'TimedOut'
      ? `the ${kind} job ended early: ${f.message}`
      : `${f.type}: ${f.message}`;
  return { kind: 'job-failed', reason, stopTable: kind === 'snapshot' };
}

/** Types that stopped the table before {@link onWindowFailure} (every other non-retryable failure failed the workflow). */
const STOPPED_BEFORE_PATCH: readonly string[] = [
  FailureType.IncompatibleSchemaChange,
  FailureType.Config,
  FailureType.Prerequisite,
  FailureType.WindowConflict,
];

/** The policy before `stop-table-on-every-failure`, for replaying histories recorded before it. */
export function onWindowFailureBeforePatch(err: unknown): WindowFailureAction {
  let e: unknown = err;
  for (let depth = 0; e && depth < 5; depth++) {
    if (e instanceof ApplicationFailure) {
      if (e.type === FailureType.ChangeLogGap) return { kind: 'reseed', reason: e.message };
      if (e.type && STOPPED_BEFORE_PATCH.includes(e.type)) return { kind: 'stop', reason: `${e.type}: ${e.message}` };
      return { kind: 'rethrow' };
    }
    e = (e as { cause?: unknown }).cause;
  }
  return { kind: 'rethrow' };
}
