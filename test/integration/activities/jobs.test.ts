/**
 * The nightly and operator jobs through their activities against the real simulator and Azurite (no Temporal):
 * the late-update sweep (per-chunk comparison source vs lake, re-extracting only differing chunks), delete
 * reconciliation per key-range chunk, and a backfill run twice. Jobs are run the way chunked-jobs.ts runs them:
 * planChunks → runChunk per chunk → validate → commit, each chunk at `firstSeq + index`.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { randomBytes } from 'node:crypto';
import { createActivities, buildDependencies, type ActivityDeps } from '../../../src/activities/index.js';
import type { Activities } from '../../../src/activities/index.js';
import type { JobSpec } from '../../../src/domain/jobs.js';
import type { TableRef } from '../../../src/domain/table.js';
import { readWatermark as lakeWatermark } from '../../../src/lake/watermark.js';
import { LakeReader } from '../../../src/lake/reader.js';
import { tableContext } from '../../../src/capture/table-context.js';
import { verifyTable } from '../../../src/verify/verify-table.js';
import { createLogger } from '../../../src/util/logger.js';
import { azuriteForTests } from '../../support/stack.js';
import { runJob, syncTableWithActivities } from '../../support/activity-sync.js';
import {
  CLAIMS_PIPELINE_TABLES,
  pipelineConfig,
  startClaimsSource,
  type ClaimsSource,
} from '../../../scripts/demo/harness.js';

let source: ClaimsSource;
let deps: ActivityDeps;
let acts: Activities;

const NOTES: TableRef = { id: 'Claims.dbo.Notes', strategy: 'identity' };
const STAMPED: TableRef = { id: 'Claims.dbo.Stamped', strategy: 'updated_at' };
const CLAIMS: TableRef = { id: 'Claims.dbo.Claims', strategy: 'cdc' };

// Every type the type mapping supports, on an identity table (the strategy that sees neither updates nor deletes).
const ALL_TYPES = `b bit NULL, ti tinyint NULL, si smallint NULL, i int NULL, bi bigint NULL,
  d38 decimal(38,10) NULL, d9 decimal(9,2) NULL, m money NULL, sm smallmoney NULL, f float NULL, r real NULL,
  vc varchar(20) NULL, nvm nvarchar(max) NULL, ch char(5) NULL, vb varbinary(max) NULL, bn binary(4) NULL,
  u uniqueidentifier NULL, dt date NULL, tm time(7) NULL, dt2 datetime2(7) NULL, dt23 datetime2(3) NULL,
  dtm datetime NULL, sdt smalldatetime NULL, dto datetimeoffset(7) NULL, secret varchar(40) NULL, dropped varchar(10) NULL`;
const ROW_A = `1, 255, -32768, -2147483648, 9223372036854775807, 12345678901234567890.0123456789, 1234567.89,
  922337203685477.5807, -214748.3648, 0.1, 0.1, 'abc', N'ünï 😀 xyz', 'ab', 0x000102FF, 0x00010203,
  '6F9619FF-8B86-D011-B42D-00C04FD430C8', '0001-01-01', '23:59:59.9999999', '2026-01-02 03:04:05.1234567',
  '2026-01-02 03:04:05.123', '2026-01-02 03:04:05.997', '2026-01-02 03:04:00', '2026-01-02 03:04:05.1234567 +05:30',
  'patient', 'x'`;
const ROW_B = `0, 0, 0, 0, -9223372036854775808, -0.0000000001, 0.29, -922337203685477.5808, 0, -1.5e300, -3.4e38,
  '', N'', '', 0x, 0xFFFFFFFF, '00000000-0000-0000-0000-000000000000', '9999-12-31', '00:00:00',
  '1900-01-01 00:00:00.0000001', '9999-12-31 23:59:59.999', '1753-01-01 00:00:00', '1900-01-01 00:00:00',
  '2026-01-02 03:04:05.0000001 -08:00', NULL, NULL`;
const COLS = `b, ti, si, i, bi, d38, d9, m, sm, f, r, vc, nvm, ch, vb, bn, u, dt, tm, dt2, dt23, dtm, sdt, dto, secret, dropped`;
const NULLS = Array.from({ length: 26 }, () => 'NULL').join(', ');

before(async () => {
  source = await startClaimsSource({ workload: { rate: 0, longTransactionMs: 50, addColumnAt: [], widenAt: 100_000 } });
  const values = Array.from({ length: 30 }, (_v, i) => `(${[ROW_A, ROW_B, NULLS][i % 3]!})`).join(',\n');
  await source.admin.request().batch(`CREATE TABLE dbo.Notes (id bigint IDENTITY(1,1) PRIMARY KEY, ${ALL_TYPES});
    INSERT INTO dbo.Notes (${COLS}) VALUES ${values};
    CREATE TABLE dbo.Stamped (id int NOT NULL PRIMARY KEY, note varchar(20) NULL, updated_at datetime2(7) NOT NULL);
    INSERT INTO dbo.Stamped (id, note, updated_at)
      SELECT id, 'n', DATEADD(minute, -10, SYSUTCDATETIME()) FROM dbo.Notes;`);
  await source.workload.run({ operations: 150 });
  await source.workload.drain();
  await source.admin.request().batch('EXEC sim.run_cdc_capture');
  const { config } = pipelineConfig({
    sourcePort: source.sim.port,
    azuriteConnectionString: await azuriteForTests(),
    temporalAddress: '127.0.0.1:1',
    taskQueue: 'unused',
    container: `jobs-${randomBytes(4).toString('hex')}`,
    tables: [
      CLAIMS_PIPELINE_TABLES.cdc!,
      {
        name: 'dbo.Notes',
        capture: '{ strategy: identity, column: id }',
        phi: '[{ columns: [secret], action: hash }, { columns: [dropped], action: drop }]',
      },
      { name: 'dbo.Stamped', capture: '{ strategy: updated_at, column: updated_at, safetyLag: 1s }' },
    ],
  });
  deps = await buildDependencies(config, createLogger({ name: 'test', level: 'warn' }), { partRows: 40 });
  acts = createActivities(deps);
});

after(async () => {
  await deps?.close();
  await source?.stop();
});

async function assertVerified(table: TableRef, what: string) {
  const v = await verifyTable(deps, table);
  assert.deepEqual(
    { missing: v.missingInLake, extra: v.extraInLake, different: v.different, dups: v.duplicateEvents },
    { missing: 0, extra: 0, different: 0, dups: 0 },
    `${table.id} ${what}`,
  );
}

async function duplicateEvents(table: TableRef): Promise<number> {
  const ctx = await tableContext(deps, table);
  const reader = await LakeReader.open({ lake: ctx.lake });
  try {
    const keys = ctx.keyColumns.map((k) => `"${k}"`).join(', ');
    const [r] = await reader.scalars(
      `SELECT count(*)::BIGINT AS n FROM (SELECT 1 FROM changes GROUP BY ${keys}, _pos HAVING count(*) > 1)`,
    );
    return Number(r?.n ?? 0);
  } finally {
    await reader.close();
  }
}

test('identity, every type: a sweep of an unchanged table re-extracts nothing; a late update is found and fixed', async () => {
  await syncTableWithActivities(acts, NOTES);
  await source.admin.request().batch(`INSERT INTO dbo.Notes (${COLS}) VALUES (${ROW_A}), (${ROW_B})`);
  await syncTableWithActivities(acts, NOTES);
  await assertVerified(NOTES, 'after load');

  const clean = await runJob(acts, NOTES, { kind: 'sweep', days: 30 });
  assert.equal(clean.chunks, 4, '32 ids in chunks of 8');
  assert.deepEqual(
    { compared: clean.compared, reextracted: clean.reextracted, rows: clean.rows },
    {
      compared: 4,
      reextracted: 0,
      rows: 0,
    },
  );
  assert.equal(clean.sourceRowsRead, 32, 'every row of the period read once, nothing re-read');

  // Updates identity capture cannot see: one in a data column, one in a hashed PHI column, in different chunks.
  await source.admin
    .request()
    .batch(`UPDATE dbo.Notes SET d9 = 1.01 WHERE id = 5; UPDATE dbo.Notes SET secret = 'other' WHERE id = 20`);
  await syncTableWithActivities(acts, NOTES);
  const stale = await verifyTable(deps, NOTES);
  assert.equal(stale.different, 2, 'the lake missed both updates');

  const swept = await runJob(acts, NOTES, { kind: 'sweep', days: 30 });
  assert.deepEqual(
    { compared: swept.compared, reextracted: swept.reextracted, rows: swept.rows },
    {
      compared: 4,
      reextracted: 2,
      rows: 16,
    },
  );
  assert.equal(swept.sourceRowsRead, 32 + 16, 'differing chunks are read twice (compare, then re-extract)');
  await assertVerified(NOTES, 'after the sweep');

  const again = await runJob(acts, NOTES, { kind: 'sweep', days: 30 });
  assert.equal(again.reextracted, 0);
  assert.equal(await duplicateEvents(NOTES), 0);
});

test('identity: the sweep covers only the ids that landed in the last `days` days', async () => {
  const none = await runJob(acts, NOTES, { kind: 'sweep', days: 0 });
  assert.deepEqual({ chunks: none.chunks, read: none.sourceRowsRead }, { chunks: 0, read: 0 });
});

test('identity: reconciliation per key-range chunk tombstones deleted keys once', async () => {
  await source.admin.request().batch('DELETE FROM dbo.Notes WHERE id IN (2, 17, 31)');
  const r = await runJob(acts, NOTES, { kind: 'reconcile' });
  assert.ok(r.chunks >= 4, `chunked by key range (${r.chunks} chunks)`);
  assert.equal(r.rows, 3);
  assert.equal(r.sourceRowsRead, 29, 'the key set of the source, read once');
  await assertVerified(NOTES, 'after reconciliation');
  const again = await runJob(acts, NOTES, { kind: 'reconcile' });
  assert.equal(again.rows, 0, 'keys already tombstoned get no second tombstone');
  const sweep = await runJob(acts, NOTES, { kind: 'sweep', days: 30 });
  assert.equal(sweep.reextracted, 0, 'deleted keys alone do not make a sweep chunk differ');
});

test('updated_at: a write that did not stamp updated_at is found by the sweep', async () => {
  await syncTableWithActivities(acts, STAMPED);
  await assertVerified(STAMPED, 'after load');
  await source.admin.request().batch(`UPDATE dbo.Stamped SET note = 'late' WHERE id = 3`);
  await syncTableWithActivities(acts, STAMPED);
  assert.equal((await verifyTable(deps, STAMPED)).different, 1);
  const swept = await runJob(acts, STAMPED, { kind: 'sweep', days: 30 });
  assert.equal(swept.reextracted, 1);
  await assertVerified(STAMPED, 'after the sweep');
});

test('cdc: the same backfill twice writes nothing the second time; the watermark keeps the sync position', async () => {
  await syncTableWithActivities(acts, CLAIMS);
  const ctx = await tableContext(deps, CLAIMS);
  const before = (await lakeWatermark(ctx.lake))?.doc.position;
  const job: JobSpec = { kind: 'backfill', from: '2000-01-01', to: '2100-01-01' };
  const first = await runJob(acts, CLAIMS, job, 50);
  assert.equal(first.reextracted, 0, 'a backfill of an up-to-date lake finds nothing different');
  await source.admin.request().batch(`UPDATE TOP (3) dbo.Claims SET ClaimStatus = 'X'`);
  const second = await runJob(acts, CLAIMS, job, 50);
  assert.ok(second.reextracted >= 1 && second.rows > 0, 'a change not yet synced is re-extracted');
  const third = await runJob(acts, CLAIMS, job, 50);
  assert.deepEqual({ reextracted: third.reextracted, rows: third.rows }, { reextracted: 0, rows: 0 });
  assert.equal(await duplicateEvents(CLAIMS), 0);
  const mark = await lakeWatermark(ctx.lake);
  assert.equal(mark?.doc.sequence, third.lastSeq, 'the watermark points at the head manifest');
  assert.equal(mark?.doc.position, before, 'but carries the incremental sync position, not the backfill’s');
  assert.equal((await acts.readWatermark({ table: CLAIMS })).position, before);
  await source.admin.request().batch('EXEC sim.run_cdc_capture');
  await syncTableWithActivities(acts, CLAIMS);
  await assertVerified(CLAIMS, 'after backfills and windows');
});
