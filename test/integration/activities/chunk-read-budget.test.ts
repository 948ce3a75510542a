/**
 * Memory independent of how many chunks a worker is handed (issue 14): four snapshot chunks run at once in one
 * process — what a worker with 4 activity slots does with a job's 4 lanes — open at most the process's chunk read
 * budget of source reads at once (2 by default, capture/chunk-read-budget.ts), and every chunk still stages its
 * rows. Observed from the source: each chunk read holds a SNAPSHOT transaction for its read, so the simulator's
 * sessions with an open transaction are the reads in progress. Reads are slowed by the chunk's own rows/s cap so
 * that they overlap.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { TableRef } from '../../../src/domain/table.js';
import { SIM_CREDENTIALS } from '../../../sim/index.js';
import { startChunkTable, type ChunkTableStack } from './support/chunk-table.js';

let stack: ChunkTableStack;
let source: ChunkTableStack['source'];
let acts: ChunkTableStack['acts'];

const WIDE: TableRef = { id: 'Claims.dbo.ChunkReads', strategy: 'rowversion' };
const ROWS = 2000;
const CHUNK_ROWS = 500;

before(async () => {
  // 500 rows per chunk at 250 rows/s: each read lasts about 2 s.
  stack = await startChunkTable({
    table: 'ChunkReads',
    rows: ROWS,
    insertRows: 500,
    limits: '{ maxChunkRowsPerSecond: 250 }',
  });
  ({ source, acts } = stack);
});

after(() => stack?.stop());

/** Sessions of the extractor's login inside a transaction: the chunk reads in progress. */
async function readsInProgress(): Promise<number> {
  const r = await source.admin.request().query<{ n: number }>(
    `SELECT COUNT(*) AS n FROM sys.dm_exec_sessions
      WHERE login_name = N'${SIM_CREDENTIALS.extractor.user}' AND open_transaction_count > 0`,
  );
  return r.recordset[0]?.n ?? 0;
}

test('four chunks run at once in one worker process read the source at most two at a time, and all stage their rows', async () => {
  const job = { kind: 'snapshot' as const, reason: 'test' };
  const plan = await acts.planChunks({ table: WIDE, job, chunkRows: CHUNK_ROWS });
  assert.equal(plan.chunks.length, ROWS / CHUNK_ROWS, 'the table is planned as four chunks');
  let running = true;
  let most = 0;
  const sampler = (async () => {
    while (running) {
      most = Math.max(most, await readsInProgress());
      await sleep(20);
    }
  })();
  const results = await Promise.all(
    plan.chunks.map((chunk) => acts.runChunk({ table: WIDE, job, chunk, attempt: 1, firstSeq: 1 })),
  ).finally(() => (running = false));
  await sampler;
  assert.ok(most >= 1, 'the sampler saw the chunks read');
  assert.ok(most <= 2, `chunk reads at once in one process: ${most}, expected at most the budget of 2`);
  assert.deepEqual(
    results.map((r) => r.staged?.rows),
    plan.chunks.map(() => CHUNK_ROWS),
    'every chunk staged its rows',
  );
});
