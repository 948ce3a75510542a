import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RowBatches, STAGED_READ_BATCHES } from '../../../src/source/row-batches.js';

test('row batches pause the request at maxBuffered waiting batches and resume it only once down to a quarter', () => {
  const calls: string[] = [];
  const b = new RowBatches({ pause: () => calls.push('pause'), resume: () => calls.push('resume') }, 2, 8);
  b.columnsChanged([{ name: 'id', index: 0 }]);
  for (let i = 0; i < 16; i++) b.row([i]);
  assert.deepEqual(calls, ['pause'], '8 batches of 2 rows wait: paused once');
  const seen: number[] = [];
  for (let k = 0; k < 5; k++) seen.push(...b.take()!.rows.map((r) => r[0] as number));
  assert.deepEqual(calls, ['pause'], 'still 3 waiting: not resumed yet');
  seen.push(...b.take()!.rows.map((r) => r[0] as number));
  assert.deepEqual(calls, ['pause', 'resume'], 'down to 2 = 8/4: resumed');
  b.row([16]);
  b.end();
  assert.equal(b.done, true);
  for (let next = b.take(); next; next = b.take()) seen.push(...next.rows.map((r) => r[0] as number));
  assert.deepEqual(
    seen,
    Array.from({ length: 17 }, (_, i) => i),
    'every row once, in order, the last partial batch too',
  );
});

test('a staged read (STAGED_READ_BATCHES) holds at most two batches of 256 rows before the driver pauses', () => {
  // The driver's side as tedious behaves: rows arrive until the request is paused, and again once resumed.
  let paused = false;
  const b = new RowBatches(
    { pause: () => (paused = true), resume: () => (paused = false) },
    STAGED_READ_BATCHES.batchRows,
    STAGED_READ_BATCHES.maxBuffered,
  );
  b.columnsChanged([{ name: 'id', index: 0 }]);
  let sent = 0;
  let taken = 0;
  let mostHeld = 0;
  while (taken < 10_000) {
    while (!paused && sent < 10_000) b.row([sent++]);
    if (sent === 10_000 && !b.done) b.end();
    mostHeld = Math.max(mostHeld, sent - taken);
    const next = b.take();
    assert.ok(next, 'a batch waits whenever the driver is paused');
    assert.ok(next.rows.length <= 256);
    assert.equal(next.rows[0]![0], taken, 'in order');
    taken += next.rows.length;
  }
  // Rows held between the driver and the consumer: what a row outlives before it is converted and staged (the
  // worker allocates ~16 KB per row, so a V8 scavenge every ~1,000 rows: docs/performance.md).
  assert.ok(mostHeld <= 512, `held ${mostHeld} rows at once`);
});
