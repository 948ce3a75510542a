/**
 * Job chunks in the manifest chain: how the lake records them, and where it says a table stands — for lakes
 * written by this version (explicit `window.chunk`) and by the previous one (`window.from` = "<kind>:<i>/<n>").
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { WindowPlan } from '../../../src/domain/window.js';
import {
  advanceWatermark,
  commitManifest,
  readManifest,
  readWatermark,
  tablePosition,
  windowRefOf,
  type LakeTable,
  type WindowRef,
} from '../../../src/lake/commit.js';
import { WindowConflictError } from '../../../src/lake/errors.js';
import { TableLayout } from '../../../src/lake/layout.js';
import { freshStore } from '../../support/lake.js';

const SNAPSHOT_AT = '00000000000000000100';
const BACKFILL_AT = '00000000000000000200';
const EMPTY = { attemptId: 'a1', schemaVersion: 1, files: [], rows: 0, minPosition: null, maxPosition: null };
const NO_OPS = { c: 0, u: 0, d: 0, r: 0 };

async function freshLake(label: string): Promise<LakeTable> {
  const { store } = await freshStore(label);
  return { store, layout: new TableLayout('raw', { db: 'Claims', schema: 'dbo', table: 'Claims' }) };
}

const chunk = (seq: number, kind: WindowPlan['kind'], index: number, count: number, to: string): WindowPlan => ({
  seq,
  kind,
  from: null,
  to,
  keyRange: { index, count, after: null, upTo: null },
  plannedAt: '2025-11-24T16:00:00.000Z',
});

/** Commits an empty window through the real commit step. */
async function commit(lake: LakeTable, window: WindowRef) {
  return commitManifest({
    lake,
    window,
    staged: { ...EMPTY, opCounts: NO_OPS },
    validated: { controlTotals: { rows: 0, rowsByOp: NO_OPS, sums: {} } },
    committedBy: 'test',
  });
}

/** Writes a manifest as the previous version did: a chunk's identity encoded into `window.from`. */
async function writeLegacyManifest(lake: LakeTable, sequence: number, from: string, to: string): Promise<void> {
  const doc = {
    format: 'tidemark.manifest/1',
    table: lake.layout.id,
    sequence,
    window: { from, to },
    positions: { min: null, max: null },
    attemptId: 'old',
    schemaVersion: 1,
    previousManifest: sequence > 1 ? lake.layout.manifestPath(sequence - 1) : null,
    files: [],
    controlTotals: { rows: 0, rowsByOp: NO_OPS, sums: {} },
    committedAt: '2025-11-24T16:00:00.000Z',
    committedBy: 'older-version',
  };
  await lake.store.putIfAbsent(lake.layout.manifestPath(sequence), `${JSON.stringify(doc, null, 2)}\n`);
}

test('new manifests record a chunk as explicit fields; the lake computes the position from them itself', async () => {
  const lake = await freshLake('chunks');
  await commit(lake, windowRefOf(chunk(1, 'snapshot', 0, 2, SNAPSHOT_AT)));
  // A snapshot without its last chunk is incomplete: no position yet.
  assert.deepEqual(await tablePosition(lake), { position: null, lastSeq: 1 });
  await commit(lake, windowRefOf(chunk(2, 'snapshot', 1, 2, SNAPSHOT_AT)));
  const m = await readManifest(lake, 2);
  assert.deepEqual(m?.window, { from: null, to: SNAPSHOT_AT, chunk: { kind: 'snapshot', index: 1, count: 2 } });
  assert.deepEqual(await tablePosition(lake), { position: SNAPSHOT_AT, lastSeq: 2 });
  // A change window moves the position (to its refined end); a backfill chunk after it does not.
  await commit(lake, { sequence: 3, from: SNAPSHOT_AT, to: '00000000000000000150', resume: '00000000000000000140' });
  await commit(lake, windowRefOf(chunk(4, 'backfill', 0, 1, BACKFILL_AT)));
  assert.deepEqual(await tablePosition(lake), { position: '00000000000000000140', lastSeq: 4 });
  assert.deepEqual(await tablePosition(lake, 2), { position: SNAPSHOT_AT, lastSeq: 2 });
  // The watermark carries that position, with no help from the caller.
  await advanceWatermark({ lake, sequence: 4 });
  const wm = await readWatermark(lake);
  assert.equal(wm?.doc.sequence, 4);
  assert.equal(wm?.doc.position, '00000000000000000140');
});

test('a lake written by the previous version: its chunk windows read, retry and conflict as before', async () => {
  const lake = await freshLake('legacy');
  await writeLegacyManifest(lake, 1, 'snapshot:0/2', SNAPSHOT_AT);
  await writeLegacyManifest(lake, 2, 'snapshot:1/2', SNAPSHOT_AT);
  await writeLegacyManifest(lake, 3, 'sweep:0/1', BACKFILL_AT);
  assert.deepEqual(await tablePosition(lake), { position: SNAPSHOT_AT, lastSeq: 3 });
  await advanceWatermark({ lake, sequence: 3 });
  assert.equal((await readWatermark(lake))?.doc.position, SNAPSHOT_AT);
  // A retry of a chunk the previous version committed is the same window: a no-op.
  const retry = await commit(lake, windowRefOf(chunk(2, 'snapshot', 1, 2, SNAPSHOT_AT)));
  assert.equal(retry.status, 'already-committed');
  assert.equal(retry.attemptId, 'old');
  // Another chunk at that sequence is a conflict, typed.
  await assert.rejects(commit(lake, windowRefOf(chunk(2, 'snapshot', 0, 2, SNAPSHOT_AT))), (err: unknown) => {
    assert.ok(err instanceof WindowConflictError);
    assert.match(err.message, /already committed for window snapshot chunk 1\/2 at 0+100, not snapshot chunk 0\/2/);
    return true;
  });
});
