import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { toActivityFailure } from '../../../src/activities/failures.js';
import { FailureType } from '../../../src/domain/failures.js';
import { LakeValueError, storedTimestamp } from '../../../src/lake/lake-types.js';
import {
  BlobAlreadyExistsError,
  ConditionNotMetError,
  LakeIntegrityError,
  WindowConflictError,
} from '../../../src/lake/errors.js';
import { SourceQueryError, TableNotFoundError, TransientSourceError } from '../../../src/source/errors.js';

test('a value the lake cannot store exactly stops the table (non-retryable) with the column named and no value', () => {
  // A datetime2(3) column handed a value with a 100 ns digit (it would have to be rounded).
  const value = 253402300799n * 1_000_000_000n + 999_999_900n;
  let thrown: unknown;
  try {
    storedTimestamp('ValidTo', value, 3);
  } catch (err) {
    thrown = err;
  }
  assert.ok(thrown instanceof LakeValueError);
  const failure = toActivityFailure(thrown);
  assert.ok(failure instanceof ApplicationFailure);
  assert.equal(failure.type, FailureType.IncompatibleSchemaChange);
  assert.equal(failure.nonRetryable, true);
  assert.match(failure.message, /"ValidTo"/);
  assert.doesNotMatch(failure.message, /253402300799|23:59:59/); // the value itself never appears
  // The 9999-12-31 sentinel at 7 digits is stored: microseconds plus the 100 ns digit (it used to be refused).
  assert.deepEqual(storedTimestamp('ValidTo', value, 7), { micros: value / 1000n, hundredNs: 9 });
});

test('an unknown error stays retryable', () => {
  const failure = toActivityFailure(new Error('socket hang up'));
  assert.ok(failure instanceof ApplicationFailure);
  assert.equal(failure.nonRetryable, false);
});

test('a permanent source error outside the contract types (SQL error 241) crosses as non-retryable, named by its class', () => {
  // The error a backfill with --from 2026-02-30 met: before, it crossed as retryable and was retried forever.
  const failure = toActivityFailure(new SourceQueryError('chunk.read', 241, 'EREQUEST', undefined));
  assert.ok(failure instanceof ApplicationFailure);
  assert.equal(failure.nonRetryable, true);
  assert.equal(failure.type, 'SourceQueryError');
  assert.match(failure.message, /SQL Server error 241/);
});

test('contract types keep their names; transient errors and write races stay retryable', () => {
  const missing = toActivityFailure(new TableNotFoundError('dbo.Nope', 'the table does not exist'));
  assert.ok(missing instanceof ApplicationFailure);
  assert.deepEqual([missing.type, missing.nonRetryable], [FailureType.Config, true]);
  for (const err of [
    new TransientSourceError('cdc.read', 'deadlock victim (1205)', 4),
    new BlobAlreadyExistsError('put', '_schemas/v2.json', 409),
    new ConditionNotMetError('replace', '_state/watermark.json', 412),
  ]) {
    const f = toActivityFailure(err);
    assert.ok(f instanceof ApplicationFailure);
    assert.equal(f.nonRetryable, false, err.name);
  }
});

test('a window conflict is classified by its class: WindowConflictError stops the table, other integrity errors do not', () => {
  const conflict = toActivityFailure(
    new WindowConflictError('Sequence 3 of T is already committed for another window', 'raw/T', '_manifests/3.json'),
  );
  assert.ok(conflict instanceof ApplicationFailure);
  assert.equal(conflict.type, FailureType.WindowConflict);
  assert.equal(conflict.nonRetryable, true);
  // The message text no longer decides: an integrity error that merely says the words is not a conflict.
  const other = toActivityFailure(new LakeIntegrityError('already committed for window (a, b]', 'raw/T', 'x'));
  assert.ok(other instanceof ApplicationFailure);
  assert.notEqual(other.type, FailureType.WindowConflict);
});
