import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';
import { startModuleThread } from '../../../src/util/module-thread.js';

test('a thread on a TypeScript module beside the caller loads it (tsx registered in the thread) with its options', async () => {
  const thread = startModuleThread(import.meta.url, 'fixtures/echo-thread', { workerData: { n: 21 } });
  // Both listeners from the start: the thread's 'exit' can be emitted in the same turn as its 'message', before the
  // code after `await once(thread, 'message')` runs (seen once on Node 24: the test waited forever).
  const exited = once(thread, 'exit');
  const [reply] = (await once(thread, 'message')) as [{ doubled: number }];
  assert.deepEqual(reply, { doubled: 42 });
  await exited;
});
