/**
 * What a table's sync does about a failure that reached it: one policy, as plain decisions over what the
 * failure says (its type and message), so it can be read and unit-tested on its own. Pure: no Temporal, no I/O.
 * The workflow reads a Temporal failure's cause chain into {@link FailureFacts} (src/workflows/failure-facts.ts)
 * and carries out the decision.
 *
 * Retryable activity failures never get here: the retry policy retries them (src/workflows/retry.ts). What does
 * get here cannot be fixed by retrying the same step (src/activities/failures.ts says which), so:
 *
 * - a **window step** (readWatermark, plan, extract, validate, commit, advance): a change-log gap re-seeds the
 *   table; every other failure stops it, visibly, with its reason in `status` — never a FAILED workflow, never a
 *   silent retry loop. `tidemark resume` retries after the operator fixed the cause;
 * - a **job** (a child workflow): the job ends `failed` with its reason, and the table goes back to syncing —
 *   a bad backfill must not block the table. A job terminated, cancelled (Web UI) or timed out is a failed job
 *   too. The snapshot is the exception: without it the table has nothing to sync from, so its failure stops the
 *   table (resume runs it again);
 * - anything that is not a Temporal failure (no facts) is a bug in workflow code: rethrown (it fails the workflow
 *   task, which Temporal retries until a fixed worker is deployed), as is the cancellation of the sync itself.
 */
import { FailureType } from '../domain/failures.js';
import type { JobKind } from '../domain/jobs.js';

/** How a workflow ended without an error of its own: the `type` of its {@link FailureFacts}. */
export const WorkflowEnd = {
  Terminated: 'Terminated',
  Cancelled: 'Cancelled',
  TimedOut: 'TimedOut',
} as const;

/** What a failure says: an activity error's type (its class name) or how a workflow ended, and a message. */
export interface FailureFacts {
  /** `ApplicationFailure.type` (e.g. `ConfigError`, `SourceQueryError`), or one of {@link WorkflowEnd}. */
  type: string;
  message: string;
}

export type WindowFailureAction =
  { kind: 'reseed'; reason: string } | { kind: 'stop'; reason: string } | { kind: 'rethrow' };

/** What the sync does when a window step (or reading the watermark) failed for good; `undefined`: not Temporal's. */
export function onWindowFailure(facts: FailureFacts | undefined): WindowFailureAction {
  if (!facts || facts.type === WorkflowEnd.Cancelled) return { kind: 'rethrow' };
  if (facts.type === FailureType.ChangeLogGap) return { kind: 'reseed', reason: facts.message };
  return { kind: 'stop', reason: `${facts.type}: ${facts.message}` };
}

/**
 * The failure type a stop reason of {@link onWindowFailure} names (`TYPE: message`, TYPE a class name such as
 * `DataQualityError`), or undefined for another reason. The one place that reads that format back (for `status`).
 */
export function stopFailureType(reason: string): string | undefined {
  return /^([A-Z][A-Za-z0-9]*Error): /.exec(reason)?.[1];
}

export type JobFailureAction = { kind: 'job-failed'; reason: string; stopTable: boolean } | { kind: 'rethrow' };

/** What the sync does when a job's workflow failed, was terminated, cancelled or timed out. */
export function onJobFailure(kind: JobKind, facts: FailureFacts | undefined): JobFailureAction {
  if (!facts) return { kind: 'rethrow' };
  const ended = (Object.values(WorkflowEnd) as string[]).includes(facts.type);
  const reason = ended ? `the ${kind} job ended early: ${facts.message}` : `${facts.type}: ${facts.message}`;
  return { kind: 'job-failed', reason, stopTable: kind === 'snapshot' };
}

/** Types that stopped the table before {@link onWindowFailure} (every other failure failed the workflow). */
const STOPPED_BEFORE_PATCH: readonly string[] = [
  FailureType.IncompatibleSchemaChange,
  FailureType.Config,
  FailureType.Prerequisite,
  FailureType.WindowConflict,
];

/**
 * The policy before the `stop-table-on-every-failure` patch, for replaying histories recorded before it.
 * `application`: the first application failure in the cause chain (undefined when there is none).
 */
export function onWindowFailureBeforePatch(application: FailureFacts | undefined): WindowFailureAction {
  if (!application) return { kind: 'rethrow' };
  const { type, message } = application;
  if (type === FailureType.ChangeLogGap) return { kind: 'reseed', reason: message };
  if (STOPPED_BEFORE_PATCH.includes(type)) return { kind: 'stop', reason: `${type}: ${message}` };
  return { kind: 'rethrow' };
}
