/** A bad --activity-concurrency stops the worker before it connects (exit 2) instead of reaching Temporal as NaN. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { main } from '../../../src/worker.js';

const EXAMPLE = fileURLToPath(new URL('../../../tidemark.example.yaml', import.meta.url));

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

test('a --chunk-reads that is not a whole number ≥ 1 stops the worker before it connects (exit 2)', async () => {
  const saved = { ...process.env };
  Object.assign(process.env, {
    TIDEMARK_SOURCE_PASSWORD: 'unit-test-password',
    TIDEMARK_PHI_HASH_KEY: 'hk-0123456789abcdef0123456789abcdef',
  });
  try {
    for (const bad of ['lots', '0', '1.5'])
      assert.equal(await main(['--config', EXAMPLE, '--chunk-reads', bad]), 2, `--chunk-reads ${bad}`);
  } finally {
    process.env = saved;
  }
});
