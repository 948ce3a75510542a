import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { WindowPlan } from '../../../src/domain/window.js';
import {
  describeWindow,
  manifestWindowOf,
  sameWindow,
  windowOf,
  windowRefOf,
  type Manifest,
  type ManifestWindow,
} from '../../../src/lake/manifest.js';

const manifest = (sequence: number, window: ManifestWindow): Manifest => ({
  format: 'tidemark.manifest/1',
  table: 'raw/Claims.dbo.Claims',
  sequence,
  window,
  positions: { min: null, max: null },
  attemptId: 'a1',
  schemaVersion: 1,
  previousManifest: null,
  files: [],
  controlTotals: { rows: 0, rowsByOp: { c: 0, u: 0, d: 0, r: 0 }, sums: {} },
  committedAt: '2025-11-24T16:00:00.000Z',
  committedBy: 'test',
});

const chunkPlan: WindowPlan = {
  seq: 7,
  kind: 'snapshot',
  from: null,
  to: '00000000000000000abc',
  keyRange: { index: 2, count: 3, after: null, upTo: null },
  plannedAt: '2025-11-24T16:00:00.000Z',
};

test('a job chunk is recorded with explicit fields: chunk {kind, index, count}, no lower bound', () => {
  const ref = windowRefOf(chunkPlan);
  assert.deepEqual(manifestWindowOf(ref), {
    from: null,
    to: '00000000000000000abc',
    chunk: { kind: 'snapshot', index: 2, count: 3 },
  });
  assert.equal(describeWindow(ref), 'snapshot chunk 2/3 at 00000000000000000abc');
});

test('a change window is recorded with its bounds, and its refined end only when it differs', () => {
  const plan: WindowPlan = { seq: 3, kind: 'changes', from: '0a', to: '0f', plannedAt: '2025-11-24T16:00:00.000Z' };
  assert.deepEqual(manifestWindowOf(windowRefOf(plan)), { from: '0a', to: '0f' });
  assert.deepEqual(manifestWindowOf(windowRefOf(plan, '0f')), { from: '0a', to: '0f' });
  assert.deepEqual(manifestWindowOf(windowRefOf(plan, '0e')), { from: '0a', to: '0f', resume: '0e' });
  assert.equal(describeWindow(windowRefOf(plan)), '(0a, 0f]');
});

test("a manifest of the previous version ('<kind>:<index>/<count>' in from) reads as the same chunk", () => {
  const legacy = manifest(7, { from: 'snapshot:2/3', to: '00000000000000000abc' });
  const current = manifest(7, manifestWindowOf(windowRefOf(chunkPlan)));
  assert.deepEqual(windowOf(legacy), windowOf(current));
  assert.deepEqual(windowOf(legacy).chunk, { kind: 'snapshot', index: 2, count: 3 });
  assert.equal(windowOf(legacy).from, null);
  assert.ok(sameWindow(windowOf(legacy), windowRefOf(chunkPlan)));
  // Another chunk, job kind or read position at the same sequence is another window.
  assert.ok(
    !sameWindow(windowOf(legacy), windowRefOf({ ...chunkPlan, keyRange: { ...chunkPlan.keyRange!, index: 1 } })),
  );
  assert.ok(!sameWindow(windowOf(legacy), windowRefOf({ ...chunkPlan, kind: 'backfill' })));
  assert.ok(!sameWindow(windowOf(legacy), windowRefOf({ ...chunkPlan, to: '00000000000000000abd' })));
});

test('a change window is never mistaken for a chunk, and resume is not part of a window identity', () => {
  const m = manifest(4, { from: '0a', to: '0f', resume: '0e' });
  assert.equal(windowOf(m).chunk, undefined);
  assert.ok(sameWindow(windowOf(m), { sequence: 4, from: '0a', to: '0f' }));
  assert.ok(!sameWindow(windowOf(m), { sequence: 5, from: '0a', to: '0f' }));
  assert.ok(
    !sameWindow(windowOf(m), { sequence: 4, from: null, to: '0f', chunk: { kind: 'sweep', index: 0, count: 1 } }),
  );
});
