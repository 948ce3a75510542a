/**
 * `tidemark status` shows, per table, its freshness bound, retention horizon and last data-quality result (issue
 * 16), with the real CLI on the real stack (simulator → worker in this process → Temporal dev server → Azurite):
 * a CDC table's horizon is the cleanup job's retention minus how far behind it is, Change Tracking's the
 * database's retention, rowversion has none (`-`); the last data-quality result is the newest manifest's receipt
 * (the CDC table's windows are compared at the source: `source agreed`); and a source that cannot be read for
 * retention shows `unknown`, not a failure of `status`.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { TableStatusRow } from '../../src/cli/status.js';
import { tableRef } from '../../src/config/tables.js';
import { syncNowSignal } from '../../src/workflows/messages.js';
import { tableSyncWorkflowId } from '../../src/workflows/table-sync.js';
import { runTidemark, terminateTableSyncs } from './support/pipeline-helpers.js';
import { startPipelineWorker, type PipelineWorker } from './support/pipeline-worker.js';
import { CLAIMS_PIPELINE_TABLES, startClaimsSource, type ClaimsSource } from '../../scripts/demo/harness.js';

const CDC = 'Claims.dbo.Claims';
const CT = 'Claims.dbo.Providers';
const RV = 'Claims.dbo.ClaimPayments';
let source: ClaimsSource;
let p: PipelineWorker;

before(async () => {
  source = await startClaimsSource({
    cdcPollMs: 500,
    workload: { rate: 0, longTransactionMs: 200, addColumnAt: [], widenAt: 1_000_000 },
  });
  await source.workload.run({ operations: 40 });
  await source.workload.drain();
  p = await startPipelineWorker(source, 'status-details', [
    { ...CLAIMS_PIPELINE_TABLES.cdc!, quality: '{ controlTotals: [TotalBilled], sourceCheckEvery: 1 }' },
    CLAIMS_PIPELINE_TABLES.change_tracking!,
    CLAIMS_PIPELINE_TABLES.rowversion!,
  ]);
});

after(async () => {
  await terminateTableSyncs(p?.client, p?.config.tables.map((t) => tableRef(p.config, t)) ?? []);
  await p?.close();
  await source?.stop();
});

async function tidemark(env: Record<string, string>, args: string[], configFile = p.configFile) {
  return runTidemark(configFile, p.dir, args, { ...process.env, ...p.env, TIDEMARK_PROGRESS: 'off', ...env });
}

async function statusJson(
  env: Record<string, string> = {},
  configFile?: string,
): Promise<Record<string, TableStatusRow>> {
  const r = await tidemark(env, ['status', '--json'], configFile);
  return Object.fromEntries((JSON.parse(r.out) as TableStatusRow[]).map((row) => [row.table, row]));
}

/** Changes at the source, then the CDC table's next window planned now, until it committed a window with rows. */
async function landChanges(after: number): Promise<number> {
  await source.workload.run({ operations: 20 });
  await source.workload.drain();
  const deadline = Date.now() + 60_000;
  for (;;) {
    await p.client.workflow.getHandle(tableSyncWorkflowId(CDC)).signal(syncNowSignal);
    await sleep(1000);
    const row = (await statusJson())[CDC];
    const last = row?.status?.lastCommitted;
    if (last && last.seq > after && last.rows > 0) return last.seq;
    if (Date.now() > deadline) assert.fail(`no window with rows after #${after}: ${JSON.stringify(row?.status)}`);
  }
}

test('status: freshness bound, retention horizon and the last data-quality result per table', async () => {
  const started = await tidemark({}, ['start', '--wait']);
  assert.equal(started.code, 0, started.err);
  const first = (await statusJson())[CDC]!.status!.lastCommitted?.seq ?? 0;
  const a = await landChanges(first);
  const b = await landChanges(a);

  // What the source is configured to keep, asked as a DBA would.
  const [cleanup] = (
    await source.admin.request().query<{ job_type: string; retention: number }>('EXEC sys.sp_cdc_help_jobs')
  ).recordset.filter((j) => j.job_type.trim() === 'cleanup');
  const [ct] = (
    await source.admin
      .request()
      .query<{ retention_period: number; retention_period_units: number }>(
        'SELECT retention_period, retention_period_units FROM sys.change_tracking_databases WHERE database_id = DB_ID()',
      )
  ).recordset;
  const cdcRetentionHours = cleanup!.retention / 60;
  const ctRetentionHours =
    ct!.retention_period * (ct!.retention_period_units === 3 ? 24 : ct!.retention_period_units === 2 ? 1 : 1 / 60);

  const rows = await statusJson();
  const cdc = rows[CDC]!;
  // Existing fields are still there (scripts read them).
  assert.equal(cdc.state, 'running');
  assert.ok(cdc.status && cdc.status.lastCommitted!.seq >= b);
  // CDC: the cleanup job's retention minus how far behind the committed position is (seconds here, not hours).
  assert.equal(cdc.retentionHorizon?.by, 'cdc_cleanup');
  assert.equal(cdc.retentionHorizon?.retentionHours, cdcRetentionHours, JSON.stringify(cdc.retentionHorizon));
  const cdcHours = cdc.retentionHorizon.hours!;
  assert.ok(cdcHours <= cdcRetentionHours && cdcHours >= cdcRetentionHours - 0.1, `cdc horizon ${cdcHours}h`);
  // Change Tracking: the database's retention, the same way.
  const ctRow = rows[CT]!;
  assert.equal(ctRow.retentionHorizon?.by, 'change_tracking');
  assert.equal(ctRow.retentionHorizon?.retentionHours, ctRetentionHours);
  const ctHours = ctRow.retentionHorizon.hours!;
  assert.ok(ctHours <= ctRetentionHours && ctHours >= ctRetentionHours - 0.1, `ct horizon ${ctHours}h`);
  // rowversion reads the table itself: nothing expires.
  assert.deepEqual(rows[RV]!.retentionHorizon, { by: null, retentionHours: null, hours: null });

  // The last data-quality result: the newest manifest's receipt; the CDC windows were compared at the source.
  const newest = cdc.status.lastCommitted!.seq;
  assert.equal(cdc.dataQuality?.result, 'passed');
  assert.equal(cdc.dataQuality?.window, newest);
  assert.deepEqual(cdc.dataQuality?.checks, { nullKeys: 0, duplicateKeyPositions: 0 });
  assert.equal(cdc.dataQuality?.source, 'agreed');
  assert.equal(rows[RV]!.dataQuality?.result, 'passed');
  assert.equal(rows[RV]!.dataQuality?.source, 'not sampled');

  // Freshness: an upper bound from the manifests, for the newest window with events (b, or a later one).
  assert.equal(cdc.freshness?.basis, 'upper_bound');
  assert.ok(cdc.freshness.window >= b, `freshness of window ${cdc.freshness.window}`);
  assert.ok(cdc.freshness.seconds >= 0 && cdc.freshness.seconds < 600, `freshness ${cdc.freshness.seconds}s`);

  // The human table: the first line as before, the new values on a second line within 120 columns.
  const text = await tidemark({}, ['status']);
  assert.equal(text.code, 0, text.err);
  assert.match(text.out, /^TABLE\s+STRATEGY\s+STATE\s+LAST WINDOW\s+POSITION\s+LAG\s+CAPTURE LAG/m);
  const lines = text.out.split('\n');
  const detail = (table: string) => lines[lines.findIndex((l) => l.startsWith(`${table} `)) + 1] ?? '';
  assert.match(
    detail(CDC),
    new RegExp(
      `^  freshness ≤\\d+s \\(upper bound\\) · retention horizon \\d+\\.\\dh of ${cdcRetentionHours}h · data quality #${newest} passed, source agreed$`,
    ),
  );
  assert.match(
    detail(CT),
    new RegExp(
      ` · retention horizon \\d+\\.\\dh of ${ctRetentionHours}h · data quality #\\d+ passed, source not sampled$`,
    ),
  );
  assert.match(detail(RV), / · retention horizon - · data quality #\d+ passed, source not sampled$/);
  for (const l of lines.filter((x) => x.startsWith('  '))) assert.ok(l.length <= 120, `${l.length} columns: ${l}`);

  // A source that cannot be read for retention (here: the login is refused) shows unknown; status still answers.
  const refused = { TIDEMARK_SOURCE_PASSWORD: 'not-the-password-1' };
  const unread = await statusJson(refused);
  assert.equal(unread[CDC]!.state, 'running');
  assert.equal(unread[CDC]!.retentionHorizon?.hours, null);
  assert.match(unread[CDC]!.retentionHorizon?.unknown ?? '', /the source could not be read/);
  assert.equal(unread[CT]!.retentionHorizon?.hours, null);
  assert.equal(unread[CDC]!.dataQuality?.result, 'passed');
  assert.doesNotMatch(JSON.stringify(unread), /not-the-password-1/);
  const unreadText = await tidemark(refused, ['status']);
  assert.equal(unreadText.code, 0, unreadText.err);
  assert.match(
    unreadText.out,
    /^ {2}freshness .* · retention horizon unknown · data quality #\d+ passed, source agreed$/m,
  );
});
