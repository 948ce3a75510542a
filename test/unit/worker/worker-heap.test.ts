/** The worker's heap cap is given where the worker is started (src/worker-heap.ts): `npm run worker`, so the image. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { heapCapped, WORKER_NODE_FLAGS } from '../../../src/worker-heap.js';

test("`npm run worker` starts node with the worker's heap cap", async () => {
  const pkg = JSON.parse(await readFile(new URL('../../../package.json', import.meta.url), 'utf8')) as {
    scripts: Record<string, string>;
  };
  const script = pkg.scripts.worker ?? '';
  for (const flag of WORKER_NODE_FLAGS) assert.ok(script.includes(`node ${flag} `), `${flag} in "${script}"`);
});

test('a cap given on the command line or in NODE_OPTIONS counts as a cap; none logs a warning', () => {
  assert.equal(heapCapped(['--max-old-space-size=512'], undefined), true);
  assert.equal(heapCapped([], '--max_old_space_size=2048'), true);
  assert.equal(heapCapped(['--import', 'tsx'], ''), false);
});
