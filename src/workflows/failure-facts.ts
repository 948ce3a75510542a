/**
 * Reads what a Temporal failure says into the {@link FailureFacts} the failure policy (src/state/failure-policy.ts)
 * decides on. Deterministic: only the SDK's failure classes. The CLI uses it too, to say why a job failed.
 */
import {
  ApplicationFailure,
  CancelledFailure,
  TemporalFailure,
  TerminatedFailure,
  TimeoutFailure,
} from '@temporalio/common';
import { causeChain } from '../domain/cause-chain.js';
import { WorkflowEnd, type FailureFacts } from '../state/failure-policy.js';

const applicationFacts = (e: ApplicationFailure): FailureFacts => ({ type: e.type ?? 'Error', message: e.message });

/** What one link of a cause chain says, or undefined when it only wraps its cause (activity, child failures). */
function factsOfLink(e: unknown): FailureFacts | undefined {
  if (e instanceof ApplicationFailure) return applicationFacts(e);
  if (e instanceof TerminatedFailure) return { type: WorkflowEnd.Terminated, message: 'its workflow was terminated' };
  if (e instanceof CancelledFailure) return { type: WorkflowEnd.Cancelled, message: 'its workflow was cancelled' };
  if (e instanceof TimeoutFailure) return { type: WorkflowEnd.TimedOut, message: `it timed out (${e.timeoutType})` };
  return undefined;
}

/** The first link of the cause chain that says what happened; undefined for a non-Temporal error (a bug). */
export function failureFacts(err: unknown): FailureFacts | undefined {
  if (!(err instanceof TemporalFailure)) return undefined;
  for (const link of causeChain(err)) {
    const facts = factsOfLink(link);
    if (facts) return facts;
  }
  return { type: err.name, message: err.message };
}

/**
 * The first application failure in the first five links of the chain: what the policy before the
 * `stop-table-on-every-failure` patch read (see onWindowFailureBeforePatch).
 */
export function applicationFailureFacts(err: unknown): FailureFacts | undefined {
  const found = causeChain(err, 5).find((e): e is ApplicationFailure => e instanceof ApplicationFailure);
  return found && applicationFacts(found);
}
