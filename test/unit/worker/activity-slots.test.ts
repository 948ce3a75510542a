/** A worker's activity slots: one per two cores by default (issue 14, snapshot fan-out); a bad override exits 2. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { defaultActivitySlots, main } from '../../../src/worker.js';

const EXAMPLE = fileURLToPath(new URL('../../../tidemark.example.yaml', import.meta.url));

test('a worker runs one activity per two cores, at least one', () => {
  assert.deepEqual(
    [1, 2, 3, 4, 8, 16].map((cores) => defaultActivitySlots(cores)),
    [1, 1, 1, 2, 4, 8],
  );
});

test('an --activity-concurrency that is not a whole number ≥ 1 stops the worker before it connects (exit 2)', async () => {
  const saved = { ...process.env };
  Object.assign(process.env, {
    TIDEMARK_SOURCE_PASSWORD: 'unit-test-password',
    TIDEMARK_PHI_HASH_KEY: 'hk-0123456789abcdef0123456789abcdef',
  });
  try {
    for (const bad of ['lots', '0', '1.5'])
      assert.equal(
        await main(['--config', EXAMPLE, '--activity-concurrency', bad]),
        2,
        `--activity-concurrency ${bad}`,
      );
  } finally {
    process.env = saved;
  }
});
