/**
 * A window read hands its change rows on in small batches while its consumer is slow, as a snapshot chunk's read
 * does: the rows are decoded and staged while their objects are young (docs/performance.md, "What survives the
 * worker's scavenges"). With 5,000-row batches and 4 waiting, a 3,000-change window came as one batch.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { discoverTable } from '../../../src/source/discovery.js';
import { CdcStrategy } from '../../../src/source/strategies/cdc.js';
import { RowversionStrategy } from '../../../src/source/strategies/rowversion.js';
import type { SourceConnection } from '../../../src/source/connection.js';
import type { CaptureStrategy } from '../../../src/source/strategies/types.js';
import { startSourceSim, type SourceSim } from '../../support/source-sim.js';
import { consumeSlowly } from '../../support/slow-consumer.js';

const CHANGED = 3_000;
let s: SourceSim;
let conn: SourceConnection;

before(async () => {
  s = await startSourceSim({ seed: 11, seedRows: 10_000 });
  await s.admin.request().batch(`EXEC sys.sp_cdc_enable_db;
    EXEC sys.sp_cdc_enable_table @source_schema = N'dbo', @source_name = N'ClaimLines', @role_name = NULL;
    EXEC sys.sp_cdc_stop_job @job_type = N'capture';
    EXEC sys.sp_cdc_scan @maxtrans = 500, @maxscans = 10, @continuous = 0;`);
  conn = await s.connect();
});
after(() => s?.stop());

/** Batch sizes and the changed keys of one window after `start`, read by a consumer slower than the driver. */
async function readSlowly(st: CaptureStrategy, start: string | null) {
  const window = await st.planWindow(start);
  assert.equal(window.empty, false, 'the window holds the changes');
  const key = st.columns.findIndex((c) => c.name === 'claim_line_id');
  const { rows, largest } = await consumeSlowly(st.readWindow(window));
  return { largest, keys: new Set(rows.map((r) => r.values[key])) };
}

const touch = (from: number) =>
  s.admin
    .request()
    .batch(
      `UPDATE dbo.ClaimLines SET notes = N'repriced' WHERE claim_line_id BETWEEN ${from} AND ${from + CHANGED - 1}`,
    );

for (const [name, make, capture] of [
  ['cdc', (d) => new CdcStrategy(conn, d), true],
  ['rowversion', (d) => new RowversionStrategy(conn, d, 'row_version'), false],
] as const satisfies readonly (readonly [
  string,
  (d: Awaited<ReturnType<typeof discoverTable>>) => CaptureStrategy,
  boolean,
])[]) {
  test(`a ${name} window read hands its rows on in batches of at most 256 while the consumer is slow`, async () => {
    const st = make(await discoverTable(conn, 'dbo', 'ClaimLines'));
    const start = (await st.planWindow(null)).to;
    const from = name === 'cdc' ? 1 : 5_001;
    await touch(from);
    if (capture) await s.admin.request().batch('EXEC sys.sp_cdc_scan @maxtrans = 500, @maxscans = 10, @continuous = 0');
    const { largest, keys } = await readSlowly(st, start);
    assert.equal(keys.size, CHANGED, 'every changed row once');
    assert.ok(largest <= 256, `batches of at most 256 rows (largest ${largest})`);
  });
}
