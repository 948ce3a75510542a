/**
 * The latency monitor (src/source/latency-monitor.ts) between its probe and the tables' laws, fed samples directly
 * (`probe: 'fed'`, no probe thread): which samples make the baseline, that each decision of a law is told with the
 * law's own record, and when it holds the reads for a fresh baseline.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { BackoffDecisionRecord } from '../../../src/source/latency-backoff.js';
import { LatencyMonitor } from '../../../src/source/latency-monitor.js';
import { SourceThrottle } from '../../../src/source/throttle.js';

const TARGET = { pool: { server: 'unused', database: 'unused' } } as never;

function monitor() {
  const throttle = new SourceThrottle({ maxConcurrentQueries: 4, maxRowsPerSecond: 1_000_000 });
  const told: [string, BackoffDecisionRecord][] = [];
  const m = new LatencyMonitor(
    throttle,
    TARGET,
    { statement: 'SELECT 1', intervalMs: 250 },
    { probe: 'fed', settleMs: 0, onDecision: (table, d) => told.push([table, d]) },
  );
  const t = m.table('dbo.T', { maxRowsPerSecond: 10_000, maxIncreasePercent: 5 });
  let at = Date.now();
  const feed = (...ms: number[]) => {
    for (const x of ms) m.feed({ at: (at += 250), ms: x });
  };
  return { throttle, m, t, told, feed };
}

test('each decision of a table law is told once, with the record the law returned', async () => {
  const { throttle, m, t, told, feed } = monitor();
  feed(10, 10, 10, 10, 10); // Tidemark reads nothing: the baseline
  assert.equal(m.baselineMs(), 10);
  const release = await throttle.acquire(); // a query runs: the samples are "reading"
  t.reading();
  feed(15, 15);
  assert.equal(told.length, 0, 'no decision before three samples');
  feed(15); // +50%: far over, halves
  assert.deepEqual(told, [
    [
      'dbo.T',
      {
        decision: 'backoff',
        fromRowsPerSecond: 10_000,
        toRowsPerSecond: 5_000,
        medianMs: 15,
        limitMs: 10.5,
        baselineMs: 10,
      },
    ],
  ]);
  assert.equal(t.rowsPerSecond(), 5_000);
  assert.equal(throttle.stats.backoffs, 1, 'the back-off is counted on the connection');
  release();
  await m.close();
});

test('probes far below a baseline taken in a stall hold the reads for a fresh one, without a back-off', async () => {
  const { throttle, m, t, told, feed } = monitor();
  feed(3_000, 3_000, 3_000, 3_000, 3_000); // the source stalled while Tidemark read nothing
  const release = await throttle.acquire();
  t.reading();
  feed(10, 10, 10, 10, 10, 10); // two decisions, far below the baseline
  assert.equal(told.length, 2);
  assert.deepEqual(
    told.map(([, d]) => d.decision),
    ['none', 'none'],
    'no climb judged against a stalled baseline',
  );
  assert.equal(m.stats.holds, 1, 'the reads are held for a fresh baseline');
  assert.equal(throttle.stats.backoffs, 0);
  release();
  feed(10, 10, 10, 10, 10); // held: these make the fresh baseline
  assert.equal(m.baselineMs(), 10);
  await m.close();
});
