/** The worker's node flags are given where the worker is started (src/worker-heap.ts): `npm run worker`, so the image. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { heapCapped, WORKER_NODE_FLAGS } from '../../../src/worker-heap.js';

test("`npm run worker` starts node with the worker's flags: its heap cap, and no memory reducer", async () => {
  const pkg = JSON.parse(await readFile(new URL('../../../package.json', import.meta.url), 'utf8')) as {
    scripts: Record<string, string>;
  };
  const script = pkg.scripts.worker ?? '';
  assert.ok(script.startsWith(`node ${WORKER_NODE_FLAGS.join(' ')} `), `${WORKER_NODE_FLAGS.join(' ')} in "${script}"`);
  assert.ok(WORKER_NODE_FLAGS.includes('--no-memory-reducer'));
});

test('a cap given on the command line or in NODE_OPTIONS counts as a cap; none logs a warning', () => {
  assert.equal(heapCapped(['--max-old-space-size=512'], undefined), true);
  assert.equal(heapCapped([], '--max_old_space_size=2048'), true);
  assert.equal(heapCapped(['--import', 'tsx'], ''), false);
});
