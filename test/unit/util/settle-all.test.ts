/**
 * src/util/settle-all.ts: steps started together are all ended before the caller sees a failure (a retried
 * activity must not race a step of its failed attempt), and the first failure in the steps' order is the one thrown.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { allSettledOrThrow } from '../../../src/util/settle-all.js';

test('results come back in the steps order, plain values included', async () => {
  const [a, b, c] = await allSettledOrThrow([sleep(20).then(() => 'slow'), Promise.resolve(2), undefined]);
  assert.deepEqual([a, b, c], ['slow', 2, undefined]);
});

test('a failure is thrown only once every step has ended, and the first failure in order wins', async () => {
  let slowEnded = false;
  const slow = sleep(30).then(() => {
    slowEnded = true;
  });
  const second = new Error('second step');
  const third = new Error('third step');
  await assert.rejects(
    allSettledOrThrow([slow, Promise.reject(second), sleep(5).then(() => Promise.reject(third))]),
    (err) => err === second,
  );
  assert.equal(slowEnded, true, 'the slow step had ended when the failure was thrown');
});
