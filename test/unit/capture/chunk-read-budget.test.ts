import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChunkReadBudget } from '../../../src/capture/chunk-read-budget.js';

const tick = () => new Promise((r) => setImmediate(r));

test('a chunk cancelled while it waits for a read slot leaves the queue, and the slot goes to the next chunk', async () => {
  const budget = new ChunkReadBudget(1);
  const first = await budget.acquire();
  let cancel!: (e: Error) => void;
  const cancelled = new Promise<never>((_r, reject) => (cancel = reject));
  const waiting = budget.acquire(cancelled);
  let thirdGot = false;
  const third = budget.acquire().then((release) => ((thirdGot = true), release));
  await tick();
  assert.equal(budget.queued, 2);
  cancel(new Error('extraction cancelled'));
  await assert.rejects(waiting, /extraction cancelled/);
  assert.equal(budget.queued, 1, 'the cancelled chunk no longer waits');
  first();
  first(); // giving a slot back twice frees it once
  const release = await third;
  assert.equal(thirdGot, true);
  assert.equal(budget.used, 1);
  release();
  assert.equal(budget.used, 0);
});

test('the worker sets the budget at start-up: waiting chunks get in when it grows, and a shrink waits for releases', async () => {
  const budget = new ChunkReadBudget(1);
  const a = await budget.acquire();
  const b = budget.acquire();
  await tick();
  assert.equal(budget.queued, 1);
  budget.resize(2);
  const releaseB = await b;
  assert.equal(budget.used, 2);
  budget.resize(1);
  const c = budget.acquire();
  a();
  await tick();
  assert.equal(budget.queued, 1, 'over the new size, a release frees no slot');
  releaseB();
  (await c)();
  assert.equal(budget.used, 0);
  assert.throws(() => budget.resize(0), /whole number ≥ 1/);
});
