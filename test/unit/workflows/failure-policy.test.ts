/** The sync's failure policy, on the failures Temporal hands a workflow (built here as the SDK builds them). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ActivityFailure,
  ApplicationFailure,
  CancelledFailure,
  ChildWorkflowFailure,
  RetryState,
  TerminatedFailure,
} from '@temporalio/common';
import { FailureType } from '../../../src/domain/failures.js';
import { onJobFailure, onWindowFailure, onWindowFailureBeforePatch } from '../../../src/workflows/failure-policy.js';

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
