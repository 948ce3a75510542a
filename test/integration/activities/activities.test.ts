/**
 * The activities against the real simulator and Azurite, called directly (no Temporal): a snapshot through
 * planChunks/runChunk, then incremental windows through planWindow/extractWindow, each validated and committed;
 * the lake's latest state equals the source (verify), and readWatermark finds where the lake stands.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities, buildDependencies, type ActivityDeps } from '../../../src/activities/index.js';
import type { Activities } from '../../../src/activities/index.js';
import type { ExtractWindowOutput } from '../../../src/activities/contracts.js';
import type { TableRef } from '../../../src/domain/table.js';
import { verifyTable } from '../../../src/verify/verify-table.js';
import { LakeReader } from '../../../src/lake/reader.js';
import { tableContext } from '../../../src/capture/table-context.js';
import sql from 'mssql';
import { createLogger } from '../../../src/util/logger.js';
import { azuriteForTests } from '../../support/stack.js';
import { syncTableWithActivities } from '../../support/activity-sync.js';
import {
  CLAIMS_PIPELINE_TABLES,
  pipelineConfig,
  startClaimsSource,
  type ClaimsSource,
} from '../../../scripts/demo/harness.js';

let source: ClaimsSource;
let deps: ActivityDeps;
let acts: Activities;

before(async () => {
  source = await startClaimsSource({ workload: { rate: 0, longTransactionMs: 50, addColumnAt: [], widenAt: 100_000 } });
  await source.admin
    .request()
    .batch('CREATE TABLE dbo.IdLines (Id bigint IDENTITY(1,1) NOT NULL PRIMARY KEY, Note varchar(20) NULL)');
  const { config } = pipelineConfig({
    sourcePort: source.sim.port,
    azuriteConnectionString: await azuriteForTests(),
    temporalAddress: '127.0.0.1:1',
    taskQueue: 'unused',
    container: `act-${randomBytes(4).toString('hex')}`,
    tables: [
      CLAIMS_PIPELINE_TABLES.cdc!,
      CLAIMS_PIPELINE_TABLES.rowversion!,
      CLAIMS_PIPELINE_TABLES.change_tracking!,
      { name: 'dbo.IdLines', capture: '{ strategy: identity, column: Id }' },
      CLAIMS_PIPELINE_TABLES.updated_at!,
      CLAIMS_PIPELINE_TABLES.identity!,
    ],
  });
  deps = await buildDependencies(config, createLogger({ name: 'test', level: 'warn' }), { partRows: 40 });
  acts = createActivities(deps);
});

after(async () => {
  await deps?.close();
  await source?.stop();
});

type Extract = Activities['extractWindow'];
/** Runs extractWindow in a mock activity context (attempt, heartbeat details, cancellation). */
const run = (env: MockActivityEnvironment, i: Parameters<Extract>[0]) =>
  env.run<[Parameters<Extract>[0]], ExtractWindowOutput, Extract>((input) => acts.extractWindow(input), i);

const syncTable = async (table: TableRef): Promise<number> => (await syncTableWithActivities(acts, table)).seq;

for (const [strategy, id] of [
  ['cdc', 'Claims.dbo.Claims'],
  ['rowversion', 'Claims.dbo.ClaimPayments'],
  ['change_tracking', 'Claims.dbo.Providers'],
  // updated_at: every window re-reads a 15-minute overlap, which the lake's events de-duplicate (no dups below).
  ['updated_at', 'Claims.dbo.ProviderNotes'],
  ['identity', 'Claims.dbo.EligibilityChecks'],
] as const) {
  test(`${strategy}: snapshot, then windows; the lake's latest state equals the source`, async () => {
    const table: TableRef = { id, strategy };
    // updated_at's windows end `safetyLag` (1 s here) behind the source clock: a row written within that second is
    // the next window's, by design. So its last sync waits that long after the last write, or verify finds the
    // last second's rows missing (it did, 2 runs of 7, once the simulator's reads got faster).
    const settled = () => (strategy === 'updated_at' ? sleep(1_200) : undefined);
    await source.workload.run({ operations: 120 });
    await source.workload.drain();
    await source.admin.request().batch('EXEC sim.run_cdc_capture');
    await syncTable(table);
    await source.workload.run({ operations: 150 });
    await source.workload.drain();
    await source.admin.request().batch('EXEC sim.run_cdc_capture');
    await settled();
    const last = await syncTable(table);
    assert.ok(last > 1);
    const v = await verifyTable(deps, table);
    assert.equal(v.sourceRows > 0, true);
    assert.deepEqual(
      { missing: v.missingInLake, extra: v.extraInLake, different: v.different, dups: v.duplicateEvents },
      { missing: 0, extra: 0, different: 0, dups: 0 },
    );
    assert.equal(v.sourceChecksum, v.lakeChecksum);
  });
}

test('an extraction interrupted after staged segments resumes from its heartbeat, reusing what it staged', async () => {
  const table: TableRef = { id: 'Claims.dbo.Claims', strategy: 'cdc' };
  await source.workload.run({ operations: 200 });
  await source.workload.drain();
  await source.admin.request().batch('EXEC sim.run_cdc_capture');
  const mark = await acts.readWatermark({ table });
  const plan = await acts.planWindow({ table, lastPosition: mark.position, seq: mark.lastSeq + 1 });
  assert.ok(plan.window);
  const window = plan.window;

  const first = new MockActivityEnvironment({ attempt: 1 });
  let last: { segments: number; files: unknown[] } | undefined;
  first.on('heartbeat', (d: { segments: number; files: unknown[] }) => {
    last = d;
    if (d.segments >= 2) first.cancel();
  });
  await assert.rejects(run(first, { table, window, attempt: 1 }));
  assert.ok(last && last.segments >= 2, 'two segments staged before the interruption');

  const resumed = new MockActivityEnvironment({ attempt: 2, heartbeatDetails: last });
  const extract = await run(resumed, { table, window, attempt: 1 });
  const full = await run(new MockActivityEnvironment({ attempt: 3 }), { table, window, attempt: 1 });
  assert.equal(extract.rows, full.rows);
  assert.deepEqual(extract.opCounts, full.opCounts);
  // Where a window's staging spent its time (bench:e2e's window timeline): in order, numbers only.
  const s = full.steps;
  assert.ok(s, 'the extraction reports its steps');
  assert.ok(s.segments.length >= 2);
  assert.equal(
    s.segments.reduce((n, g) => n + g.rows, 0),
    full.rows,
  );
  for (const g of s.segments) assert.ok(g.filledMs <= g.encodedMs! && g.encodedMs! <= g.uploadedMs!);
  assert.ok(s.stageStartMs <= s.firstEventMs! && s.firstEventMs! <= s.readEndMs! && s.readEndMs! <= s.endMs);
  assert.ok(s.source && s.source.pausedMs >= 0 && s.source.waitedMs >= 0, "the CDC read's stream waits");
  const leaves = (v: unknown): unknown[] =>
    v !== null && typeof v === 'object' ? Object.values(v).flatMap(leaves) : [v];
  assert.ok(
    leaves(s).every((v) => v === null || typeof v === 'number'),
    'timings and counts only',
  );
  for (const f of last.files as { path: string }[])
    assert.ok(
      extract.files.some((g) => g.path === f.path),
      'segments staged before the interruption are reused',
    );

  const validation = await acts.validateWindow({ table, window, extract });
  const c = await acts.commitManifest({ table, window, extract, validation });
  await acts.advanceWatermark({ table, seq: window.seq, position: window.to, manifestPath: c.manifestPath });
  const v = await verifyTable(deps, table);
  assert.equal(v.ok, true, JSON.stringify(v));
});

test('identity: a retry that sees a late commit below what was staged starts over; the window commits the position of the attempt it commits, exactly once', async () => {
  const table: TableRef = { id: 'Claims.dbo.IdLines', strategy: 'identity' };
  const insert = (n: number) =>
    source.admin.request().batch(`INSERT INTO dbo.IdLines (Note) SELECT TOP (${n}) 'x' FROM dbo.Claims`);
  await source.workload.run({ operations: 150 });
  await source.workload.drain();
  await source.admin.request().batch(`INSERT INTO dbo.IdLines (Note) VALUES ('a'), ('b')`);
  // Id 3 is taken by a transaction that stays open while ids 4… commit.
  const late = new sql.Transaction(source.admin);
  await late.begin();
  await late.request().query(`INSERT INTO dbo.IdLines (Note) VALUES ('late')`);
  await insert(120);
  const mark = await acts.readWatermark({ table });
  assert.equal(mark.position, null);
  // Identity tables have no snapshot job yet: start from high-water 0 (every id is a new row).
  const plan = await acts.planWindow({ table, lastPosition: '00000000000000000000', seq: 1 });
  assert.ok(plan.window);
  const window = plan.window;

  type Beat = { segments: number; files: unknown[] };
  const first = new MockActivityEnvironment({ attempt: 1 });
  let beat1: Beat | undefined;
  first.on('heartbeat', (d: Beat) => {
    beat1 = d;
    if (d.segments >= 2) first.cancel();
  });
  await assert.rejects(run(first, { table, window, attempt: 1 }));
  assert.ok(beat1 && beat1.segments >= 2);

  await late.commit(); // id 3 now visible: the re-read no longer matches the 80 events staged
  const second = new MockActivityEnvironment({ attempt: 2, heartbeatDetails: beat1 });
  let beat2: Beat | undefined;
  second.on('heartbeat', (d: Beat) => (beat2 = d));
  await assert.rejects(run(second, { table, window, attempt: 1 }), /differs from the staged segments/);
  assert.equal(beat2?.segments, 0, 'the restart is recorded so the next attempt does not resume stale segments');

  const third = await run(new MockActivityEnvironment({ attempt: 3, heartbeatDetails: beat2 }), {
    table,
    window,
    attempt: 1,
  });
  assert.equal(third.rows, 123);
  assert.equal(third.resumePosition, '00000000000000000123', 'id 3 was read: no gap left open');
  assert.ok((third.sourceRowsRead ?? 0) <= 123 * 1.05);
  const validation = await acts.validateWindow({ table, window, extract: third });
  const c = await acts.commitManifest({ table, window, extract: third, validation });
  assert.equal(c.resumePosition, third.resumePosition);
  // A no-op retry from an attempt that read less still returns what the committed manifest recorded.
  const stale = { ...third, resumePosition: '00000000000000000123~3-3@1' };
  const again = await acts.commitManifest({ table, window, extract: stale, validation });
  assert.deepEqual([again.alreadyCommitted, again.resumePosition], [true, third.resumePosition]);
  await acts.advanceWatermark({ table, seq: 1, position: c.resumePosition, manifestPath: c.manifestPath });
  assert.deepEqual(await acts.readWatermark({ table }), { position: third.resumePosition, lastSeq: 1 });
  assert.equal((await acts.planWindow({ table, lastPosition: third.resumePosition, seq: 2 })).window, null);

  const reader = await LakeReader.open({ lake: (await tableContext(deps, table)).lake });
  try {
    const [n] = await reader.scalars(
      'SELECT count(*)::INT AS n, count(DISTINCT "Id")::INT AS ids, max("Id")::INT AS top FROM changes',
    );
    assert.deepEqual([n?.n, n?.ids, n?.top], [123, 123, 123], 'ids 1…123 each landed once');
  } finally {
    await reader.close();
  }
});
