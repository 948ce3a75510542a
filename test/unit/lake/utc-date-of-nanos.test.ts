import assert from 'node:assert/strict';
import { test } from 'node:test';
import { utcDateOfNanos } from '../../../src/lake/layout.js';

const DAY = 86_400_000_000_000n;
const reference = (ns: bigint) => new Date(Number(ns / 1_000_000n)).toISOString().slice(0, 10);

// utcDateOfNanos remembers the day it answered last (one date per event of a window): an event just past
// midnight, or back before it, must still land in its own day's partition.
test('events on either side of a UTC midnight, in any order, each get their own date', () => {
  const midnight = 20_400n * DAY; // 2025-11-08T00:00:00Z
  const instants = [
    midnight - 1n,
    midnight,
    midnight - 1n,
    midnight + DAY - 1n,
    midnight + DAY,
    midnight + 5n * 3_600_000_000_000n,
    midnight - DAY,
    0n,
    -1n,
    -1_000_000n,
    -DAY - 1n,
    midnight + 123_456_789n,
  ];
  for (const ns of instants) assert.equal(utcDateOfNanos(ns), reference(ns), `instant ${ns}`);
  assert.equal(utcDateOfNanos(midnight - 1n), '2025-11-07');
  assert.equal(utcDateOfNanos(midnight), '2025-11-08');
  assert.equal(utcDateOfNanos(-1_000_000n), '1969-12-31');
});

test('a run of events across a year boundary keeps the dates a fresh computation gives', () => {
  const newYear = BigInt(Date.UTC(2027, 0, 1)) * 1_000_000n;
  for (let ns = newYear - 3n * DAY; ns < newYear + 3n * DAY; ns += 7_919_000_000_000n)
    assert.equal(utcDateOfNanos(ns), reference(ns), `instant ${ns}`);
});
