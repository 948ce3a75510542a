/**
 * capture/pipeline.ts on its own: stages overlap, items leave the last stage in order, the number of items alive
 * at once is bounded whatever the length of the sequence, and a failure in the source or any stage stops all of
 * them, abandons exactly the items that did not finish, and reports the first error.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { runPipeline } from '../../../src/capture/pipeline.js';

/** A source of `n` numbered items that counts how many are alive (produced, not yet finished or abandoned). */
function counted(n: number) {
  let next = 0;
  const alive = new Set<number>();
  let peak = 0;
  return {
    alive,
    get peak() {
      return peak;
    },
    source: async () => {
      await sleep(1);
      if (next >= n) return undefined;
      const item = { k: next++ };
      alive.add(item.k);
      peak = Math.max(peak, alive.size);
      return item;
    },
  };
}

test('stages overlap, and items leave the last stage in the order the source produced them', async () => {
  const src = counted(20);
  const done: number[] = [];
  let inA = 0;
  let inB = 0;
  let overlapped = false;
  await runPipeline(src.source, [
    async (x: { k: number }) => {
      inA++;
      overlapped ||= inB > 0;
      // Uneven times: later items are faster in this stage, so only the pipeline's order keeps them in order.
      await sleep(x.k % 3 === 0 ? 15 : 2);
      inA--;
      return x;
    },
    async (x: { k: number }) => {
      inB++;
      overlapped ||= inA > 0;
      await sleep(10);
      inB--;
      done.push(x.k);
      src.alive.delete(x.k);
    },
  ]);
  assert.deepEqual(
    done,
    Array.from({ length: 20 }, (_, i) => i),
  );
  assert.ok(overlapped, 'one item was in the second stage while another was in the first');
});

test('backpressure: a slow last stage bounds the items alive, whatever the length of the sequence', async () => {
  const src = counted(60);
  await runPipeline(src.source, [
    (x: { k: number }) => Promise.resolve(x),
    (x: { k: number }) => Promise.resolve(x),
    async (x: { k: number }) => {
      await sleep(3);
      src.alive.delete(x.k);
    },
  ]);
  // Source (1) + three stages (1 each) + the item each hand-off holds while its producer waits: at most 7.
  assert.ok(src.peak <= 7, `peak ${src.peak} items alive`);
  assert.equal(src.alive.size, 0);
});

test('an error in any stage or in the source stops all, abandons exactly the unfinished items, loses nothing', async () => {
  for (const failAt of ['source', 0, 1, 2] as const) {
    const src = counted(50);
    const finished: number[] = [];
    const abandoned: number[] = [];
    let asked = 0;
    const boom = new Error(`boom at ${String(failAt)}`);
    const source = async () => {
      if (failAt === 'source' && ++asked === 8) throw boom;
      return src.source();
    };
    const stage = (j: number) => async (x: { k: number }) => {
      await sleep(2);
      if (failAt === j && x.k === 6) throw boom;
      if (j === 2) {
        finished.push(x.k);
        src.alive.delete(x.k);
      }
      return x;
    };
    await assert.rejects(
      runPipeline(source, [stage(0), stage(1), stage(2)], {
        abandon: (x) => {
          const k = (x as { k: number }).k;
          abandoned.push(k);
          src.alive.delete(k);
        },
      }),
      (err: unknown) => err === boom,
    );
    // Finished items are a prefix of the sequence; every other produced item was abandoned, once.
    assert.deepEqual(
      finished,
      Array.from({ length: finished.length }, (_, i) => i),
      `at ${String(failAt)}`,
    );
    assert.ok(finished.length < 7, `at ${String(failAt)}: stopped early (${finished.length} finished)`);
    assert.equal(new Set(abandoned).size, abandoned.length, `at ${String(failAt)}: abandoned once each`);
    assert.equal(src.alive.size, 0, `at ${String(failAt)}: no item left unaccounted`);
    assert.ok(!abandoned.some((k) => finished.includes(k)), `at ${String(failAt)}: a finished item is never abandoned`);
  }
});
