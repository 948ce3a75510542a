/**
 * Incremental reads never scan: on a 50 000-row claim-line table, each strategy's plan + read of a window of
 * 1 000 changes reads at most 1.05 source-table rows per changed row (the simulator's rows-read accounting).
 * Identity too: its plan is one seek for the bound, the read finds the gaps.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { discoverTable, type TableDiscovery } from '../../../src/source/discovery.js';
import { RowversionStrategy } from '../../../src/source/strategies/rowversion.js';
import { UpdatedAtStrategy } from '../../../src/source/strategies/updated-at.js';
import { IdentityStrategy } from '../../../src/source/strategies/identity.js';
import { CdcStrategy } from '../../../src/source/strategies/cdc.js';
import type { SourceConnection } from '../../../src/source/connection.js';
import type { CaptureStrategy } from '../../../src/source/strategies/types.js';
import { poll, startSourceSim, type SourceSim } from '../../support/source-sim.js';

const ROWS = 50_000;
const CHANGED = 1_000;
let s: SourceSim;
let conn: SourceConnection;
let d: TableDiscovery;

before(async () => {
  s = await startSourceSim({ seed: 7, seedRows: ROWS });
  await s.admin.request().batch(`ALTER DATABASE Claims SET ALLOW_SNAPSHOT_ISOLATION ON;
    CREATE INDEX IX_ClaimLines_rv ON dbo.ClaimLines (row_version);
    CREATE INDEX IX_ClaimLines_updated_at ON dbo.ClaimLines (updated_at);`);
  conn = await s.connect();
  d = await discoverTable(conn, 'dbo', 'ClaimLines');
});
after(() => s?.stop());

/** Rows the extractor's SELECTs read from dbo.ClaimLines since statement `since`. */
function sourceRowsRead(since: number): { rows: number; scans: number } {
  let rows = 0;
  let scans = 0;
  for (const st of s.sim.engine.admin.statementStats()) {
    if (st.statementId <= since || !/^\s*SELECT/i.test(st.text)) continue;
    for (const a of st.accesses)
      if (a.table.toLowerCase() === 'claimlines') {
        rows += a.rowsRead;
        if (a.kind === 'scan') scans++;
      }
  }
  return { rows, scans };
}
const mark = () => Math.max(0, ...s.sim.engine.admin.statementStats().map((x) => x.statementId));

async function measure(st: CaptureStrategy, last: string | null, change: () => Promise<unknown>) {
  await change();
  const since = mark();
  const w = await poll(st, last);
  return { ...sourceRowsRead(since), emitted: w.rows.length, position: w.position };
}

const touch = (from: number) =>
  s.admin.request().batch(
    `UPDATE dbo.ClaimLines SET notes = N'repriced', updated_at = SYSUTCDATETIME()
      WHERE claim_line_id BETWEEN ${from} AND ${from + CHANGED - 1}`,
  );

test('rowversion reads ≤ 1.05 source rows per changed row', async (t) => {
  const st = new RowversionStrategy(conn, d, 'row_version');
  const start = (await st.planWindow(null)).to;
  const m = await measure(st, start, () => touch(20_001));
  t.diagnostic(`${m.rows} source rows read for ${m.emitted} changes`);
  assert.equal(m.emitted, CHANGED);
  assert.equal(m.scans, 0);
  assert.ok(m.rows <= CHANGED * 1.05, `read ${m.rows} rows for ${CHANGED} changes`);
});

test('updated_at reads ≤ 1.05 source rows per changed row (overlap of older windows is small)', async (t) => {
  const st = new UpdatedAtStrategy(conn, d, 'updated_at', { lookbackMs: 200, safetyLagMs: 0 });
  await new Promise((r) => setTimeout(r, 300));
  const start = (await st.planWindow(null)).to;
  await new Promise((r) => setTimeout(r, 5));
  const m = await measure(st, start, () => touch(30_001));
  t.diagnostic(`${m.rows} source rows read for ${m.emitted} changes`);
  assert.equal(m.emitted, CHANGED);
  assert.equal(m.scans, 0);
  assert.ok(m.rows <= CHANGED * 1.05, `read ${m.rows} rows for ${CHANGED} changes`);
});

test('identity reads ≤ 1.05 source rows per new row (one seek at planning, gaps found by the read)', async (t) => {
  const st = new IdentityStrategy(conn, d, 'claim_line_id');
  const first = await poll(st, null);
  const m = await measure(st, first.position, () =>
    s.admin.request()
      .batch(`INSERT INTO dbo.ClaimLines (claim_id, line_no, member_id, provider_id, service_date, procedure_code,
        diagnosis_code, revenue_code, units, billed_amount, allowed_amount, paid_amount, copay, status, is_adjusted,
        place_of_service, rendering_npi, created_at, updated_at, source_system)
      SELECT TOP (${CHANGED}) claim_id, line_no + 100, member_id, provider_id, service_date, procedure_code, diagnosis_code,
        revenue_code, units, billed_amount, allowed_amount, paid_amount, copay, status, is_adjusted, place_of_service,
        rendering_npi, created_at, updated_at, source_system FROM dbo.ClaimLines ORDER BY claim_line_id`),
  );
  t.diagnostic(`${m.rows} source rows read for ${m.emitted} changes`);
  assert.equal(m.emitted, CHANGED);
  assert.equal(m.scans, 0);
  assert.ok(m.rows <= CHANGED * 1.05, `read ${m.rows} rows for ${CHANGED} new rows`);
});

test('cdc never reads the source table', async () => {
  await s.admin.request().batch(`EXEC sys.sp_cdc_enable_db;
    EXEC sys.sp_cdc_enable_table @source_schema = N'dbo', @source_name = N'ClaimLines', @role_name = NULL;
    EXEC sys.sp_cdc_stop_job @job_type = N'capture';
    EXEC sys.sp_cdc_scan @maxtrans = 500, @maxscans = 10, @continuous = 0;`);
  const st = new CdcStrategy(conn, await discoverTable(conn, 'dbo', 'ClaimLines'));
  const start = (await st.planWindow(null)).to;
  const m = await measure(st, start, async () => {
    await touch(40_001);
    await s.admin.request().batch('EXEC sys.sp_cdc_scan @maxtrans = 500, @maxscans = 10, @continuous = 0');
  });
  assert.equal(m.emitted, CHANGED);
  assert.equal(m.rows, 0);
});
