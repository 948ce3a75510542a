/**
 * runChunk reports where its time went (bench:e2e's initial load timeline, bench/load-steps.ts): the table's context,
 * the read's first and last rows, each segment filled, encoded and uploaded, the reading side's waits — offsets in
 * order, and timings and counts only (it travels through Temporal in the activity's result).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { TableRef } from '../../../src/domain/table.js';
import { startChunkTable, type ChunkTableStack } from './support/chunk-table.js';

let stack: ChunkTableStack;
const TABLE: TableRef = { id: 'Claims.dbo.ChunkSteps', strategy: 'rowversion' };
const ROWS = 40;
const job = { kind: 'snapshot' as const, reason: 'test' };

before(async () => {
  stack = await startChunkTable({ table: 'ChunkSteps', rows: ROWS, insertRows: ROWS, limits: '{}' });
});
after(() => stack?.stop());

test("runChunk reports where its time went, in order, with timings and counts only (bench:e2e's load timeline)", async () => {
  const plan = await stack.acts.planChunks({ table: TABLE, job, chunkRows: ROWS });
  const r = await stack.acts.runChunk({ table: TABLE, job, chunk: plan.chunks[0]!, attempt: 1, firstSeq: 1 });
  const s = r.steps!;
  assert.ok(s, 'the chunk reports its steps');
  const order = [s.setupMs, s.stageStartMs, s.readRequestedMs!, s.firstEventMs!, s.readEndMs!, s.endMs];
  assert.deepEqual(
    order,
    [...order].sort((a, b) => a - b),
    `steps in order: ${JSON.stringify(s)}`,
  );
  assert.equal(
    s.segments.reduce((n, g) => n + g.rows, 0),
    ROWS,
  );
  for (const g of s.segments) assert.ok(g.filledMs <= g.encodedMs! && g.encodedMs! <= g.uploadedMs!);
  assert.ok(s.source && s.source.waitedMs >= 0 && s.source.pausedMs >= 0);
  assert.ok(s.readIdleMs !== null && s.readIdleMs >= 0);
  // Timings and counts only: nothing of a row (the notes are 'row N') travels in the result.
  assert.doesNotMatch(JSON.stringify(s), /row \d/);
});
