import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RowBatches } from '../../../src/source/row-batches.js';

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
