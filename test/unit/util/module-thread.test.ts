import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';
import { startModuleThread } from '../../../src/util/module-thread.js';

test('a thread on a TypeScript module beside the caller loads it (tsx registered in the thread) with its options', async () => {
  const thread = startModuleThread(import.meta.url, 'fixtures/echo-thread', { workerData: { n: 21 } });
  const [reply] = (await once(thread, 'message')) as [{ doubled: number }];
  assert.deepEqual(reply, { doubled: 42 });
  await once(thread, 'exit');
});
