/**
 * The failures Temporal hands a workflow (built here as the SDK builds them), read into facts and decided on by
 * the sync's failure policy (the policy alone, type by type: test/unit/state/failure-policy.test.ts).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ActivityFailure,
  ApplicationFailure,
  CancelledFailure,
  ChildWorkflowFailure,
  RetryState,
  TerminatedFailure,
  TimeoutFailure,
  TimeoutType,
} from '@temporalio/common';
import { FailureType } from '../../../src/domain/failures.js';
import type { JobKind } from '../../../src/domain/jobs.js';
import * as policy from '../../../src/state/failure-policy.js';
import { applicationFailureFacts, failureFacts } from '../../../src/workflows/failure-facts.js';

// The policy as the workflows apply it: on the facts read from a Temporal failure.
const onWindowFailure = (err: unknown) => policy.onWindowFailure(failureFacts(err));
const onWindowFailureBeforePatch = (err: unknown) => policy.onWindowFailureBeforePatch(applicationFailureFacts(err));
const onJobFailure = (kind: JobKind, err: unknown) => policy.onJobFailure(kind, failureFacts(err));

const activityFailed = (type: string, message: string) =>
  new ActivityFailure(
    'Activity task failed',
    'extractWindow',
    '7',
    RetryState.NON_RETRYABLE_FAILURE,
    undefined,
    ApplicationFailure.nonRetryable(message, type),
  );
const childFailed = (cause: Error) =>
  new ChildWorkflowFailure(
    'default',
    { workflowId: 'backfill/x/1', runId: 'r' },
    'backfillWorkflow',
    RetryState.NON_RETRYABLE_FAILURE,
    cause,
  );

test('a window step: a gap re-seeds; every other failure stops the table with type and message', () => {
  assert.deepEqual(onWindowFailure(activityFailed(FailureType.ChangeLogGap, 'cleanup passed it')), {
    kind: 'reseed',
    reason: 'cleanup passed it',
  });
  for (const type of [FailureType.Config, 'SourceQueryError', 'UnsupportedTypeError', 'ContainerNotFoundError'])
    assert.deepEqual(onWindowFailure(activityFailed(type, 'why')), { kind: 'stop', reason: `${type}: why` });
});

test('a bug in workflow code and the cancellation of the sync itself are rethrown', () => {
  assert.deepEqual(onWindowFailure(new Error('planned window 4 but the next sequence is 5')), { kind: 'rethrow' });
  assert.deepEqual(onWindowFailure(new CancelledFailure('cancelled')), { kind: 'rethrow' });
});

test('before the patch only the contract types stopped the table (histories recorded then replay the same)', () => {
  assert.equal(onWindowFailureBeforePatch(activityFailed(FailureType.Config, 'x')).kind, 'stop');
  assert.equal(onWindowFailureBeforePatch(activityFailed('SourceQueryError', 'x')).kind, 'rethrow');
});

test('a job that failed, was terminated or cancelled ends failed; only a snapshot stops the table', () => {
  assert.deepEqual(onJobFailure('backfill', childFailed(activityFailed('SourceQueryError', 'SQL Server error 241'))), {
    kind: 'job-failed',
    reason: 'SourceQueryError: SQL Server error 241',
    stopTable: false,
  });
  const terminated = onJobFailure('sweep', childFailed(new TerminatedFailure('Terminated')));
  assert.deepEqual(terminated, {
    kind: 'job-failed',
    reason: 'the sweep job ended early: its workflow was terminated',
    stopTable: false,
  });
  assert.equal(onJobFailure('reconcile', childFailed(new CancelledFailure('Cancelled'))).kind, 'job-failed');
  const snapshot = onJobFailure('snapshot', childFailed(activityFailed(FailureType.Config, 'no such table')));
  assert.deepEqual(snapshot, { kind: 'job-failed', reason: 'ConfigError: no such table', stopTable: true });
  assert.deepEqual(onJobFailure('backfill', new TypeError('bug')), { kind: 'rethrow' });
});

test('facts come from the first link that says what happened: child → activity → application failure', () => {
  assert.deepEqual(failureFacts(childFailed(activityFailed('SourceQueryError', 'error 241'))), {
    type: 'SourceQueryError',
    message: 'error 241',
  });
  assert.deepEqual(failureFacts(childFailed(new TimeoutFailure('timed out', undefined, TimeoutType.START_TO_CLOSE))), {
    type: 'TimedOut',
    message: `it timed out (${TimeoutType.START_TO_CLOSE})`,
  });
  assert.equal(failureFacts(new Error('a bug')), undefined);
  // A chain with nothing more to say: the outermost failure's own name and message.
  assert.deepEqual(failureFacts(childFailed(undefined as unknown as Error)), {
    type: 'ChildWorkflowFailure',
    message: childFailed(undefined as unknown as Error).message,
  });
});

test('before the patch: the first application failure in the chain, even behind a terminated link', () => {
  const app = ApplicationFailure.nonRetryable('gone', FailureType.ChangeLogGap);
  const behindTermination = new TerminatedFailure('Terminated', app);
  assert.deepEqual(applicationFailureFacts(behindTermination), { type: FailureType.ChangeLogGap, message: 'gone' });
  assert.equal(failureFacts(behindTermination)?.type, 'Terminated');
  assert.equal(applicationFailureFacts(childFailed(new TerminatedFailure('Terminated'))), undefined);
});
