/**
 * Counters fed from outside the activities' outputs (issue 16): a re-seed's snapshot job counts in
 * `tidemark_reseeds_total` when its chunks are planned, the initial load does not; every lineage event that
 * fails to go out counts in `tidemark_lineage_delivery_failures_total` by destination, and the window goes on.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createServer } from 'node:net';
import { MockActivityEnvironment } from '@temporalio/testing';
import { activityMeter } from '../../../src/activities/metered.js';
import { TidemarkMetrics } from '../../../src/metrics/tidemark-metrics.js';
import { LineageEmitter } from '../../../src/lineage/emitter.js';
import { createLogger } from '../../../src/util/logger.js';
import type { PlanChunksInput, PlanChunksOutput } from '../../../src/activities/contracts.js';

const TABLE = {
  table: 'Claims.dbo.Claims',
  strategy: 'cdc',
  cadenceSeconds: 60,
  maxRowsPerSecond: 5000,
  database: 'Claims',
};

async function value(m: TidemarkMetrics, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = (await m.registry.getMetricsAsJSON()).find((x) => x.name === name);
  const v = metric?.values.find((x) => Object.entries(labels).every(([k, l]) => x.labels[k] === l));
  return Number(v?.value ?? NaN);
}

test('a re-seed counts once when its chunks are planned; the initial load and other jobs do not', async () => {
  const m = new TidemarkMetrics([TABLE]);
  const planChunks = activityMeter(m).wrap('planChunks', (_input: PlanChunksInput): Promise<PlanChunksOutput> =>
    Promise.resolve({ position: 'p', chunks: [] }),
  );
  const input: PlanChunksInput = {
    table: { id: TABLE.table, strategy: 'cdc' },
    job: { kind: 'snapshot', reason: 'change-log gap' },
    chunkRows: 10,
  };
  const run = (workflowId: string) =>
    new MockActivityEnvironment({ workflowExecution: { workflowId, runId: 'r' } }).run(planChunks, input);
  await run(`snapshot/${TABLE.table}/initial`);
  assert.equal(await value(m, 'tidemark_reseeds_total'), 0, 'the initial load is not a re-seed');
  await run(`snapshot/${TABLE.table}/reseed-42`);
  assert.equal(await value(m, 'tidemark_reseeds_total'), 1);
  await run(`snapshot/${TABLE.table}/reseed-42-2`);
  assert.equal(await value(m, 'tidemark_reseeds_total'), 2);
});

test('lineage events that cannot go out are counted by destination; submit never waits', async () => {
  const m = new TidemarkMetrics([TABLE]);
  assert.equal(await value(m, 'tidemark_lineage_delivery_failures_total', { destination: 'endpoint' }), 0);
  // An endpoint that is down: a port that was just closed refuses the connection.
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  const emitter = new LineageEmitter({
    endpoint: `http://127.0.0.1:${port}`,
    logger: createLogger({ name: 'test', level: 'silent' }),
    maxQueued: 1,
    onFailure: (destination) => m.lineageFailures.inc({ destination }),
  });
  const event = { event: { eventType: 'START' }, lakePath: 'x' };
  emitter.submit(() => Promise.resolve([event, event])); // taken at once by the pump
  emitter.submit(() => Promise.resolve([event])); // waits in the queue (it holds one job)
  emitter.submit(() => Promise.resolve([event])); // the queue is full: dropped
  await emitter.drain();
  assert.equal(await value(m, 'tidemark_lineage_delivery_failures_total', { destination: 'endpoint' }), 3);
  assert.equal(await value(m, 'tidemark_lineage_delivery_failures_total', { destination: 'queue' }), 1);
  assert.equal(emitter.counters.failed, 3);
  assert.equal(emitter.counters.dropped, 1);
});
