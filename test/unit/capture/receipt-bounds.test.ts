/**
 * The receipt's position-bounds check (issue 16) per strategy: a change window's events lie in (from, to], compared
 * the way each strategy's positions order (src/source/positions.ts) — no false alarm on the shapes each strategy
 * really writes, and a clear problem for an event outside.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { positionBoundsProblems } from '../../../src/capture/receipt.js';

const lsn = (n: number) => n.toString(16).padStart(20, '0');
const ticks = (n: number) => String(n).padStart(20, '0');
const id = (n: number) => String(n).padStart(20, '0');
const F = 'f'.repeat(20);
const hash = 'abcdef0123456789';

test('cdc: events between the previous max LSN and this one are inside; one past the bound is not', () => {
  const window = { kind: 'changes' as const, from: lsn(10) + F, to: lsn(20) + F };
  assert.deepEqual(
    positionBoundsProblems('cdc', window, { minPosition: lsn(11) + lsn(1), maxPosition: lsn(20) + lsn(9) }),
    [],
  );
  assert.match(
    positionBoundsProblems('cdc', window, { minPosition: lsn(11) + lsn(1), maxPosition: lsn(21) + lsn(0) }).join(),
    /above the window's end/,
  );
  assert.match(
    positionBoundsProblems('cdc', window, { minPosition: lsn(10) + lsn(3), maxPosition: lsn(12) + lsn(0) }).join(),
    /not above the window's start/,
  );
});

test('updated_at: 36-character event positions against 20-digit bounds, rows placed at the bound included', () => {
  const window = { kind: 'changes' as const, from: ticks(1000), to: ticks(2000) };
  assert.deepEqual(
    positionBoundsProblems('updated_at', window, { minPosition: ticks(1001) + hash, maxPosition: ticks(2000) + hash }),
    [],
  );
  assert.equal(
    positionBoundsProblems('updated_at', window, { minPosition: ticks(1000) + hash, maxPosition: ticks(2001) + hash })
      .length,
    2,
  );
});

test('identity: a bound with open gaps; gap rows below `from` are allowed, ids above the high-water are not', () => {
  const window = { kind: 'changes' as const, from: `${id(100)}~95-96@1700000000`, to: `${id(110)}~105-105@1700000100` };
  assert.deepEqual(positionBoundsProblems('identity', window, { minPosition: id(95), maxPosition: id(110) }), []);
  assert.match(
    positionBoundsProblems('identity', window, { minPosition: id(101), maxPosition: id(111) }).join(),
    /above the window's end/,
  );
});

test('change tracking, rowversion: plain positions; an empty window and job chunks are not checked', () => {
  assert.deepEqual(
    positionBoundsProblems(
      'change_tracking',
      { kind: 'changes', from: id(5), to: id(9) },
      { minPosition: id(6), maxPosition: id(9) },
    ),
    [],
  );
  assert.equal(
    positionBoundsProblems(
      'rowversion',
      { kind: 'changes', from: '00000000000007d0', to: '00000000000007e0' },
      {
        minPosition: '00000000000007d1',
        maxPosition: '00000000000007e1',
      },
    ).length,
    1,
  );
  assert.deepEqual(
    positionBoundsProblems(
      'cdc',
      { kind: 'changes', from: null, to: lsn(1) + F },
      { minPosition: null, maxPosition: null },
    ),
    [],
  );
  assert.deepEqual(
    positionBoundsProblems(
      'rowversion',
      { kind: 'snapshot', from: null, to: '0000000000000001' },
      {
        minPosition: '00000000000000ff',
        maxPosition: '00000000000000ff',
      },
    ),
    [],
  );
});
