/**
 * `tidemark_throttle_rows_per_second` and `tidemark_throttle_limit_rows_per_second` show the job chunk reads' cap
 * beside the windows' (`reads="chunk"` / `reads="window"`): the chunk cap configured (or the back-off's ceiling)
 * from the start, and the cap a chunk read's latency back-off set after each `runChunk`. Before, the gauges had
 * the windows' cap only, so a chunk read slowed by its back-off did not show.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TidemarkMetrics } from '../../../src/metrics/tidemark-metrics.js';
import { activityMeter } from '../../../src/activities/metered.js';

const TABLE = 'Claims.dbo.Claims';
const counters = { slotWaitMs: 0, rateWaitMs: 0, backoffWaitMs: 0, backoffs: 0 };

function gauge(text: string, name: string, path: string): number | undefined {
  const line = text
    .split('\n')
    .find((l) => l.startsWith(`${name}{`) && l.includes(`table="${TABLE}"`) && l.includes(`reads="${path}"`));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

test('the chunk reads have a throttle series of their own, set by the chunk back-off after each runChunk', async () => {
  const metrics = new TidemarkMetrics([
    {
      table: TABLE,
      strategy: 'rowversion',
      cadenceSeconds: 10,
      maxRowsPerSecond: 50_000,
      chunkMaxRowsPerSecond: 3000,
      database: 'Claims',
    },
  ]);
  let text = await metrics.text();
  assert.equal(gauge(text, 'tidemark_throttle_limit_rows_per_second', 'window'), 50_000);
  assert.equal(gauge(text, 'tidemark_throttle_limit_rows_per_second', 'chunk'), 3000);
  assert.equal(gauge(text, 'tidemark_throttle_rows_per_second', 'chunk'), 3000, 'the chunk cap before any read');

  // The back-offs: the chunks' law halved its cap twice; the windows' once.
  const rates = { window: 25_000, chunk: 750 };
  const meter = activityMeter(
    metrics,
    () => counters,
    (_table, path) => rates[path],
  );
  await meter.wrap('runChunk', () => Promise.resolve({}))({ table: { id: TABLE, strategy: 'rowversion' } } as never);
  text = await metrics.text();
  assert.equal(gauge(text, 'tidemark_throttle_rows_per_second', 'chunk'), 750, 'the chunk back-off shows');
  assert.equal(gauge(text, 'tidemark_throttle_rows_per_second', 'window'), 50_000, 'the windows keep theirs');

  await meter.wrap('extractWindow', () => Promise.resolve({}))({
    table: { id: TABLE, strategy: 'rowversion' },
  } as never);
  text = await metrics.text();
  assert.equal(gauge(text, 'tidemark_throttle_rows_per_second', 'window'), 25_000, "the windows' back-off shows");
  assert.equal(gauge(text, 'tidemark_throttle_rows_per_second', 'chunk'), 750);
});

test('a table whose chunk reads are uncapped has no chunk series', async () => {
  const metrics = new TidemarkMetrics([
    { table: TABLE, strategy: 'cdc', cadenceSeconds: 10, maxRowsPerSecond: 50_000, database: 'Claims' },
  ]);
  const text = await metrics.text();
  assert.equal(gauge(text, 'tidemark_throttle_rows_per_second', 'window'), 50_000);
  assert.equal(gauge(text, 'tidemark_throttle_rows_per_second', 'chunk'), undefined);
});
