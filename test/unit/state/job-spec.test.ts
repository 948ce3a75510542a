import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  backfillRangeProblem,
  isCalendarDate,
  jobSpecProblem,
  nextDay,
  sweepDaysProblem,
} from '../../../src/state/job-spec.js';

test('calendar dates: days that exist, leap years by the Gregorian rule', () => {
  for (const d of ['2026-02-28', '2024-02-29', '2000-02-29', '0001-01-01', '9999-12-31'])
    assert.ok(isCalendarDate(d), d);
  for (const d of [
    '2026-02-30',
    '2026-02-29',
    '1900-02-29',
    '2026-13-01',
    '2026-00-10',
    '2026-04-31',
    '26-01-01',
    '2026-1-1',
    '0000-01-01',
  ])
    assert.ok(!isCalendarDate(d), d);
  assert.equal(nextDay('2024-02-28'), '2024-02-29');
  assert.equal(nextDay('2026-12-31'), '2027-01-01');
  assert.equal(nextDay('0050-03-01'), '0050-03-02');
});

test('a backfill range is [from, to): from before to, both calendar dates; the message says what to give', () => {
  assert.equal(backfillRangeProblem('2026-02-01', '2026-03-01'), undefined);
  assert.match(backfillRangeProblem('2026-02-30', '2026-03-01') ?? '', /'2026-02-30' is not a calendar date/);
  assert.match(backfillRangeProblem('2026-03-02', '2026-03-01') ?? '', /not before --to/);
  assert.match(backfillRangeProblem('2026-03-01', '2026-03-01') ?? '', /--to 2026-03-02/);
});

test('every job kind is checked', () => {
  assert.equal(jobSpecProblem({ kind: 'sweep', days: 30 }), undefined);
  assert.equal(jobSpecProblem({ kind: 'sweep', days: 0 }), undefined, 'sweeping 0 days is a no-op, not an error');
  assert.match(jobSpecProblem({ kind: 'sweep', days: -1 }) ?? '', /from 0 to 3660/);
  assert.match(sweepDaysProblem(0, 1) ?? '', /from 1 to 3660/, 'the CLI asks for at least one day');
  assert.match(jobSpecProblem({ kind: 'sweep', days: 1.5 }) ?? '', /whole number/);
  assert.equal(jobSpecProblem({ kind: 'reconcile' }), undefined);
  assert.equal(jobSpecProblem({ kind: 'snapshot', reason: 'initial load' }), undefined);
  assert.match(jobSpecProblem({ kind: 'vacuum' } as never) ?? '', /unknown job kind 'vacuum'/);
});
