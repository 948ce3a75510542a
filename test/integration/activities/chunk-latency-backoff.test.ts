/**
 * The application-latency back-off (`limits.latencyBackoff`) reaches chunk reads: a snapshot chunk of a table with
 * the back-off configured reads under a cap the back-off sets (a law of its own, `schema.table/chunks`, apart from
 * the windows'). Its reads are held for a baseline; when the application's statement — the probe, a keyed lookup
 * like the application's — gets slower while the chunk reads (sim/faults stalls only that statement), the chunk's
 * cap halves and the worker's throttle counts the back-offs; the chunk still stages all its rows. Before, chunk
 * reads had no limiter unless `maxChunkRowsPerSecond` was set, and never one the back-off lowered.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { TableRef } from '../../../src/domain/table.js';
import { eventually } from '../../support/eventually.js';
import { startChunkTable, type ChunkTableStack } from './support/chunk-table.js';

let stack: ChunkTableStack;
let source: ChunkTableStack['source'];
let deps: ChunkTableStack['deps'];
let acts: ChunkTableStack['acts'];

const TABLE: TableRef = { id: 'Claims.dbo.ChunkBackoff', strategy: 'rowversion' };
/** Three of the chunk read's batches (5,000 rows each): the limiter and the hold act between batches. */
const ROWS = 12_000;
/** The probe: a keyed lookup, as the application's statements (the fault below stalls only it). */
const PROBE = 'SELECT note FROM dbo.ChunkBackoff WHERE id = 7';
/** The chunk's own cap, so that the read lasts a few seconds: the back-off halves it from there. */
const CAP = 3000;

before(async () => {
  stack = await startChunkTable({
    table: 'ChunkBackoff',
    rows: ROWS,
    insertRows: 1000,
    limits: `{ maxChunkRowsPerSecond: ${CAP}, latencyBackoff: { maxIncreasePercent: 100, probe: "${PROBE}", probeInterval: 100ms } }`,
  });
  ({ source, deps, acts } = stack);
});

after(() => stack?.stop());

test('a snapshot chunk reads under the latency back-off: its cap halves when the application slows', async (t) => {
  const job = { kind: 'snapshot' as const, reason: 'test' };
  const plan = await acts.planChunks({ table: TABLE, job, chunkRows: ROWS });
  assert.equal(plan.chunks.length, 1);
  const backoffsBefore = deps.source.throttle.stats.backoffs;
  const chunk = acts.runChunk({ table: TABLE, job, chunk: plan.chunks[0]!, attempt: 1, firstSeq: 1 });
  let fault: { cancel(): void } | undefined;
  try {
    // The chunk's read starts the probe and is held until a baseline is taken (the application alone).
    await eventually(() => {
      const monitor = deps.source.latencyMonitors()[0];
      assert.ok(monitor, 'no latency monitor: the chunk read does not use the back-off');
      assert.ok(monitor.baselineMs() !== undefined, 'a baseline');
      return Promise.resolve();
    }, 20_000);
    // Then the application's statement gets slower while the chunk reads.
    fault = source.sim.faults.stall({ match: { text: PROBE }, ms: 100, times: 'always' });
    await eventually(() => {
      const cap = deps.source.backoffRateOf('dbo.ChunkBackoff/chunks');
      assert.ok(cap !== undefined && cap <= CAP / 4, `the chunk's cap halved twice (now ${cap})`);
      return Promise.resolve();
    }, 20_000);
  } finally {
    fault?.cancel();
  }
  const result = await chunk;
  t.diagnostic(`back-offs ${deps.source.throttle.stats.backoffs - backoffsBefore}`);
  assert.ok(deps.source.throttle.stats.backoffs - backoffsBefore >= 2, 'the worker counts the back-offs');
  assert.ok(deps.source.throttle.stats.backoffWaitMs > 0, 'the hold for the baseline counts as back-off wait');
  assert.equal(result.staged?.rows, ROWS, 'the chunk staged all its rows');
});
