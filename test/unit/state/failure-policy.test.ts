/**
 * The sync's failure policy, failure type by failure type: each row is the decision the product promises (docs/
 * operations.md). A change of the policy must change this table. (The same policy on failures built as Temporal
 * builds them: test/unit/workflows/failure-facts.test.ts.)
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FailureType } from '../../../src/domain/failures.js';
import type { JobKind } from '../../../src/domain/jobs.js';
import {
  onJobFailure,
  onWindowFailure,
  onWindowFailureBeforePatch,
  WorkflowEnd,
  type FailureFacts,
} from '../../../src/state/failure-policy.js';

const facts = (type: string): FailureFacts => ({ type, message: 'why' });

/** Every failure type a window step can end with, and what the sync does: re-seed, stop, or rethrow (a bug). */
const WINDOW_DECISIONS: [type: string, now: string, beforePatch: string][] = [
  [FailureType.ChangeLogGap, 'reseed', 'reseed'],
  [FailureType.IncompatibleSchemaChange, 'stop', 'stop'],
  [FailureType.Config, 'stop', 'stop'],
  [FailureType.Prerequisite, 'stop', 'stop'],
  [FailureType.WindowConflict, 'stop', 'stop'],
  // Types outside the non-retryable contract reach the workflow when an activity marks one non-retryable.
  ['SourceQueryError', 'stop', 'rethrow'],
  ['UnsupportedTypeError', 'stop', 'rethrow'],
  ['ContainerNotFoundError', 'stop', 'rethrow'],
  ['Error', 'stop', 'rethrow'],
  [WorkflowEnd.Terminated, 'stop', 'rethrow'],
  [WorkflowEnd.TimedOut, 'stop', 'rethrow'],
  // The cancellation of the sync itself (not a pause-now, which the loop handles first) is not a table failure.
  [WorkflowEnd.Cancelled, 'rethrow', 'rethrow'],
];

test('a window step: every failure type has its decision (a gap re-seeds, the rest stop the table)', () => {
  for (const [type, now] of WINDOW_DECISIONS) assert.equal(onWindowFailure(facts(type)).kind, now, `${type} → ${now}`);
  assert.equal(
    Object.values(FailureType).every((t) => WINDOW_DECISIONS.some(([type]) => type === t)),
    true,
    'every FailureType is in the table above: a new one needs its decision written down',
  );
});

test('a stopped table says the type and message; a re-seed says the message (what the gap was)', () => {
  assert.deepEqual(onWindowFailure({ type: FailureType.Config, message: 'no such table' }), {
    kind: 'stop',
    reason: 'ConfigError: no such table',
  });
  assert.deepEqual(onWindowFailure({ type: FailureType.ChangeLogGap, message: 'cleanup passed it' }), {
    kind: 'reseed',
    reason: 'cleanup passed it',
  });
});

test('no facts (not a Temporal failure: a bug in workflow code) is rethrown, by every policy', () => {
  assert.deepEqual(onWindowFailure(undefined), { kind: 'rethrow' });
  assert.deepEqual(onWindowFailureBeforePatch(undefined), { kind: 'rethrow' });
  for (const kind of ['snapshot', 'backfill', 'sweep', 'reconcile'] as const)
    assert.deepEqual(onJobFailure(kind, undefined), { kind: 'rethrow' });
});

test('before the stop-on-every-failure patch only the contract types stopped the table', () => {
  for (const [type, , beforePatch] of WINDOW_DECISIONS)
    assert.equal(onWindowFailureBeforePatch(facts(type)).kind, beforePatch, `${type} → ${beforePatch}`);
  assert.deepEqual(onWindowFailureBeforePatch({ type: FailureType.WindowConflict, message: 'other bounds' }), {
    kind: 'stop',
    reason: 'WindowConflictError: other bounds',
  });
});

test('a job that fails ends failed and the table goes on; only a snapshot stops the table', () => {
  const STOPS_TABLE: Record<JobKind, boolean> = { snapshot: true, backfill: false, sweep: false, reconcile: false };
  for (const [kind, stopTable] of Object.entries(STOPS_TABLE) as [JobKind, boolean][]) {
    for (const [type] of WINDOW_DECISIONS) {
      const decision = onJobFailure(kind, facts(type));
      assert.equal(decision.kind, 'job-failed', `${kind} ${type}`);
      assert.equal(decision.kind === 'job-failed' && decision.stopTable, stopTable, `${kind} stops the table`);
    }
  }
});

test("a job that ended early says so; one that failed says the failure's type and message", () => {
  assert.deepEqual(onJobFailure('sweep', { type: WorkflowEnd.Terminated, message: 'its workflow was terminated' }), {
    kind: 'job-failed',
    reason: 'the sweep job ended early: its workflow was terminated',
    stopTable: false,
  });
  for (const end of Object.values(WorkflowEnd))
    assert.match((onJobFailure('backfill', facts(end)) as { reason: string }).reason, /^the backfill job ended early/);
  assert.deepEqual(onJobFailure('snapshot', { type: 'SourceQueryError', message: 'error 241' }), {
    kind: 'job-failed',
    reason: 'SourceQueryError: error 241',
    stopTable: true,
  });
});
