/**
 * End to end, one table per capture strategy, on the real stack: the simulator with the claims workload →
 * Tidemark workers as their own OS processes (`src/worker.ts`) → the Temporal dev server → Azurite.
 *
 * - dbo.ClaimLines (CDC; gains a column with a new capture instance and has a column widened mid-run),
 *   dbo.Providers (Change Tracking), dbo.ClaimPayments (rowversion), dbo.ProviderNotes (updated_at),
 *   dbo.EligibilityChecks (identity).
 * - Workload: inserts, updates, updates of rows 30 days old, deletes; after each phase the lake's latest state
 *   equals the source exactly (verify: every column of every row, and no duplicate (key, position)).
 * - A worker is SIGKILLed while it extracts a ClaimLines window; two new worker processes on the same task queue
 *   finish it (a retried attempt of the same window) and share the work; the lake still equals the source.
 * - What a strategy cannot see (deletes for rowversion / updated_at / identity; un-stamped updates for
 *   updated_at; any update for identity) is asserted to be missing exactly, then healed by the nightly jobs.
 *
 * Tables are woken with the workflow's own pause + resume signals instead of waiting for the 1-minute cadence.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection, decodePendingActivityState } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { FAILURE_CONVERTER_PATH } from '../../src/temporal/data-converter.js';
import { WORKFLOW_BUNDLE, WORKFLOWS_SOURCE } from '../../src/worker.js';
import { buildDependencies, type ActivityDeps } from '../../src/activities/index.js';
import type { TableRef } from '../../src/domain/table.js';
import { tableContext } from '../../src/capture/table-context.js';
import { latestSchema } from '../../src/lake/schema-registry.js';
import { createLogger } from '../../src/util/logger.js';
import { pauseSignal, resumeSignal, statusQuery } from '../../src/workflows/messages.js';
import { tableSyncWorkflowId } from '../../src/workflows/table-sync.js';
import { azuriteForTests, temporalForTests } from '../support/stack.js';
import {
  CLAIMS_PIPELINE_TABLES,
  pipelineConfig,
  startClaimsSource,
  waitUntilVerified,
  type ClaimsSource,
} from '../../scripts/demo/harness.js';
import { startWorkerProcess, type WorkerProcess } from './support/worker-process.js';
import { assertTablesConverge, runTidemark, terminateTableSyncs, verifySummary } from './support/pipeline-helpers.js';

const LINES: TableRef = { id: 'Claims.dbo.ClaimLines', strategy: 'cdc' };
const PROVIDERS: TableRef = { id: 'Claims.dbo.Providers', strategy: 'change_tracking' };
const PAYMENTS: TableRef = { id: 'Claims.dbo.ClaimPayments', strategy: 'rowversion' };
const NOTES: TableRef = { id: 'Claims.dbo.ProviderNotes', strategy: 'updated_at' };
const CHECKS: TableRef = { id: 'Claims.dbo.EligibilityChecks', strategy: 'identity' };
const TABLES = [LINES, PROVIDERS, PAYMENTS, NOTES, CHECKS];

/** Workload operation numbers (counted from the first seed operation) of ClaimLines' schema changes. */
const SEED_OPERATIONS = 150;
const ADD_COLUMN_AT = 200;
const WIDEN_AT = 260;
/** ClaimLines is read at this rate, so a window of a few thousand rows takes seconds (time to kill a worker). */
const LINES_ROWS_PER_SECOND = 200;

let source: ClaimsSource;
let deps: ActivityDeps;
let connection: Connection;
let client: Client;
let dir: string;
let configFile: string;
let workerEnv: Record<string, string>;
const workers: WorkerProcess[] = [];
const quietBundler = new DefaultLogger('WARN');

async function startWorker(
  name: string,
  options: { nodeEnv?: string; activityConcurrency?: number } = {},
): Promise<WorkerProcess> {
  const w = await startWorkerProcess({ configFile, env: workerEnv, logFile: join(dir, `${name}.log`), ...options });
  workers.push(w);
  return w;
}

before(async () => {
  source = await startClaimsSource({
    cdcPollMs: 500,
    workload: {
      rate: 0,
      longTransactionMs: 200,
      // Stamps in the past are the sweep's business (asserted separately below), not the live phases'.
      skewProbability: 0,
      addColumnAt: [ADD_COLUMN_AT],
      widenAt: WIDEN_AT,
    },
  });
  await source.workload.run({ operations: SEED_OPERATIONS });
  await source.workload.drain();
  // Rows from 30 days ago in the tables whose capture keys on time or ids, for the late updates below.
  for (let i = 0; i < 3; i++)
    await source.admin.request().batch(
      `INSERT INTO dbo.ClaimPayments (ClaimId, PaidDate, Amount, PaymentMethod)
         VALUES (${i + 1}, CAST(DATEADD(day, -30, SYSUTCDATETIME()) AS date), ${100 + i}.25, 'CHECK');
       INSERT INTO dbo.ProviderNotes (ProviderId, NoteText, UpdatedAt)
         VALUES (1001, N'Old note ${i}', DATEADD(day, -30, SYSUTCDATETIME()));
       INSERT INTO dbo.EligibilityChecks (MemberId, PayerId, CheckedAt, Result)
         VALUES ('M10000${i}', 7, DATEADD(day, -30, SYSUTCDATETIME()), 'ELIGIBLE');`,
    );
  const temporalAddress = await temporalForTests();
  const t = CLAIMS_PIPELINE_TABLES;
  const { yaml, env, config } = pipelineConfig({
    sourcePort: source.sim.port,
    azuriteConnectionString: await azuriteForTests(),
    temporalAddress,
    taskQueue: `e2e-strategies-${randomBytes(4).toString('hex')}`,
    container: `e2e-strategies-${randomBytes(4).toString('hex')}`,
    tables: [
      { ...t.cdc_lines!, limits: `{ maxRowsPerSecond: ${LINES_ROWS_PER_SECOND} }` },
      t.change_tracking!,
      t.rowversion!,
      t.updated_at!,
      t.identity!,
    ],
  });
  dir = await mkdtemp(join(tmpdir(), 'tidemark-e2e-strategies-'));
  configFile = join(dir, 'tidemark.yaml');
  await writeFile(configFile, yaml);
  workerEnv = env;
  Object.assign(process.env, env);
  deps = await buildDependencies(config, createLogger({ name: 'e2e', level: 'warn' }));
  connection = await Connection.connect({ address: temporalAddress });
  client = new Client({ connection });
  await startWorker('worker-a');
  const started = await tidemark('start');
  assert.equal(started.code, 0, started.err);
});

after(async () => {
  await terminateTableSyncs(client, TABLES);
  await connection?.close();
  for (const w of workers) await w.stop().catch(() => undefined);
  await deps?.close();
  await source?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const tidemark = (...args: string[]) => runTidemark(configFile, dir, args);

async function execute(text: string): Promise<number> {
  const r = await source.admin.request().batch(text);
  return r.rowsAffected.reduce((s, n) => s + n, 0);
}

const assertConverges = (phase: string, tables: TableRef[] = TABLES) =>
  assertTablesConverge(deps, client, tables, phase, 150_000);

test('initial load of one table per capture strategy: the lake equals the source', async () => {
  await assertConverges('after the initial load');
});

test('inserts, updates, 30-day-late updates, an added and a widened ClaimLines column flow into the lake', async () => {
  // The workload passes ADD_COLUMN_AT and WIDEN_AT in this run: ALTER TABLE ADD + a new capture instance, then
  // ALTER COLUMN smallint → int, while the tables sync.
  await source.workload.run({ operations: 150 });
  // Late updates of rows created 30 days ago, by writers that stamp UpdatedAt (what every strategy but identity sees).
  assert.ok(
    (await execute(
      `UPDATE dbo.ClaimLines SET PaidAmount = PaidAmount + 1, NetworkTier = N'late', UpdatedAt = SYSUTCDATETIME()
         WHERE CreatedAt < DATEADD(day, -20, SYSUTCDATETIME())`,
    )) > 0,
  );
  assert.equal(
    await execute(
      `UPDATE dbo.ClaimPayments SET Amount = Amount + 7 WHERE PaidDate < CAST(DATEADD(day, -20, SYSUTCDATETIME()) AS date)`,
    ),
    3,
  );
  assert.equal(
    await execute(
      `UPDATE dbo.ProviderNotes SET NoteText = NoteText + N' (late)', UpdatedAt = SYSUTCDATETIME() WHERE NoteText = N'Old note 0'`,
    ),
    1,
  );
  assert.ok(
    (await execute(`UPDATE dbo.Providers SET IsActive = 0, UpdatedAt = SYSUTCDATETIME() WHERE ProviderId = 1002`)) > 0,
  );
  await source.workload.run({ operations: 60 });
  await source.workload.drain();
  await assertConverges('after live changes and schema changes');
  // The lake's schema of ClaimLines went through both changes without an operator: NetworkTier added (nullable),
  // PricingVersion widened smallint → int.
  const lake = (await tableContext(deps, LINES)).lake;
  const schema = await latestSchema(lake.store, lake.layout);
  const column = (name: string) => schema?.columns.find((c) => c.name === name);
  assert.deepEqual(
    { networkTier: column('NetworkTier')?.nullable, pricingVersion: column('PricingVersion')?.type.kind },
    { networkTier: true, pricingVersion: 'int32' },
    JSON.stringify(schema?.changes),
  );
  assert.ok((schema?.version ?? 0) >= 2, `schema versions: ${schema?.version}`);
});

/**
 * Polls the table's workflow until an extractWindow activity runs on `worker`; returns the sequence of the last
 * window committed before it.
 */
async function waitForExtraction(table: TableRef, worker: WorkerProcess, timeoutMs: number): Promise<number> {
  const handle = client.workflow.getHandle(tableSyncWorkflowId(table.id));
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const d = await handle.describe();
    const running = (d.raw.pendingActivities ?? []).find(
      (a) => a.activityType?.name === 'extractWindow' && decodePendingActivityState(a.state) === 'STARTED',
    );
    const status = await handle.query(statusQuery);
    if (running && running.lastWorkerIdentity === worker.identity) return status.lastCommitted?.seq ?? 0;
    await sleep(100);
  }
  throw new Error(`${table.id}: no extractWindow ran on ${worker.identity} within ${timeoutMs} ms`);
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await sleep(200);
  }
}

interface ActivityRun {
  type: string;
  identity: string;
  attempt: number;
}

/** Every started activity of a workflow's history (type, worker identity, attempt). */
async function activityRuns(workflowId: string): Promise<ActivityRun[]> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const types = new Map<string, string>();
  const out: ActivityRun[] = [];
  for (const e of history.events ?? []) {
    const scheduled = e.activityTaskScheduledEventAttributes;
    if (scheduled) types.set(String(e.eventId), scheduled.activityType?.name ?? '');
    const started = e.activityTaskStartedEventAttributes;
    if (started)
      out.push({
        type: types.get(String(started.scheduledEventId)) ?? '',
        identity: started.identity ?? '',
        attempt: started.attempt ?? 1,
      });
  }
  return out;
}

test('a worker killed mid-window: two new worker processes finish the window and share the work; the lake equals the source', async () => {
  const [workerA] = workers;
  assert.ok(workerA);
  // Paused while the backlog is written and captured, so the next window is the whole backlog.
  const lines = client.workflow.getHandle(tableSyncWorkflowId(LINES.id));
  await lines.signal(pauseSignal, { reason: 'test: build a backlog' });
  await waitFor(async () => (await lines.query(statusQuery)).mode === 'paused', 60_000, 'ClaimLines paused');
  // A backlog that takes ClaimLines seconds to read at its rows/s limit: 3 copies of every line, as new lines.
  let backlog = 0;
  for (const offset of [100, 200, 400])
    backlog += await execute(
      `INSERT INTO dbo.ClaimLines (ClaimId, LineNumber, ServiceDate, ProcedureCode, Modifier1, Modifier2, DiagnosisCode1,
         DiagnosisCode2, RevenueCode, PlaceOfService, Units, BilledAmount, AllowedAmount, PaidAmount, CopayAmount,
         CoinsuranceAmount, DeductibleAmount, RenderingNpi, LineStatus, IsAdjusted, AdjustmentReason, PricingVersion,
         LineGuid, ReceivedAt, RemittanceTrace, CreatedAt, UpdatedAt, NetworkTier)
       SELECT ClaimId, LineNumber + ${offset}, ServiceDate, ProcedureCode, Modifier1, Modifier2, DiagnosisCode1,
         DiagnosisCode2, RevenueCode, PlaceOfService, Units, BilledAmount, AllowedAmount, PaidAmount, CopayAmount,
         CoinsuranceAmount, DeductibleAmount, RenderingNpi, LineStatus, IsAdjusted, AdjustmentReason, PricingVersion,
         NEWID(), ReceivedAt, RemittanceTrace, CreatedAt, SYSUTCDATETIME(), N'copy'
       FROM dbo.ClaimLines WHERE LineNumber < 100`,
    );
  assert.ok(backlog >= 3 * LINES_ROWS_PER_SECOND, `backlog of ${backlog} lines`);
  await source.workload.run({ operations: 40 });
  await source.workload.drain();
  await execute('EXEC sim.run_cdc_capture'); // the backlog is in the change tables before the window is planned
  await lines.signal(resumeSignal);
  const committedBefore = await waitForExtraction(LINES, workerA, 120_000);
  await sleep(1500); // some of the window is read and staged
  await workerA.kill();
  // Killed mid-window: the extraction is still pending on the dead worker (until its heartbeat times out).
  const pending = (await lines.describe()).raw.pendingActivities ?? [];
  assert.ok(
    pending.some((a) => a.activityType?.name === 'extractWindow' && a.lastWorkerIdentity === workerA.identity),
    'the extraction was still running when worker A was killed',
  );

  // While no worker runs, the source keeps changing.
  await source.workload.run({ operations: 60 });
  await source.workload.drain();
  const workerB = await startWorker('worker-b', { activityConcurrency: 2 });
  assert.equal(workerB.activityConcurrency, 2);
  // The other one as in production: NODE_ENV=production with the pre-built workflow bundle (what
  // `npm run build:workflows` writes); both run the same workflow code, so either replays the other's histories.
  const { code } = await bundleWorkflowCode({
    workflowsPath: WORKFLOWS_SOURCE,
    failureConverterPath: FAILURE_CONVERTER_PATH,
    logger: quietBundler,
  });
  await mkdir(dirname(WORKFLOW_BUNDLE), { recursive: true });
  await writeFile(WORKFLOW_BUNDLE, code);
  const workerC = await startWorker('worker-c', { nodeEnv: 'production' });
  assert.equal(workerC.bundle, true, 'the production worker loaded the pre-built bundle');
  await assertConverges('after a worker was killed mid-window');

  const status = await client.workflow.getHandle(tableSyncWorkflowId(LINES.id)).query(statusQuery);
  assert.ok((status.lastCommitted?.seq ?? 0) > committedBefore, `the interrupted window committed`);
  const lineRuns = await activityRuns(tableSyncWorkflowId(LINES.id));
  const retried = lineRuns.filter((r) => r.type === 'extractWindow' && r.attempt >= 2);
  assert.ok(
    retried.some((r) => r.identity === workerB.identity || r.identity === workerC.identity),
    `the killed extraction was retried on a new worker: ${JSON.stringify(retried)}`,
  );
  const identities = new Set<string>();
  for (const t of TABLES) for (const r of await activityRuns(tableSyncWorkflowId(t.id))) identities.add(r.identity);
  assert.ok(identities.has(workerB.identity) && identities.has(workerC.identity), `both new workers ran activities`);
  // Graceful shutdown: SIGTERM stops polling, lets in-flight tasks finish, exits 0; worker C carries on alone.
  assert.equal(await workerB.stop(), 0, `worker B's exit code (log: ${workerB.logFile})`);
});

test('what a strategy cannot see is missing exactly; CDC and Change Tracking carry deletes; rowversion deletes are reconciled', async () => {
  // Un-stamped late updates (the writer forgets UpdatedAt) and late updates of identity-only rows.
  assert.equal(
    await execute(`UPDATE dbo.ProviderNotes SET NoteText = N'unstamped edit' WHERE NoteText = N'Old note 1'`),
    1,
  );
  assert.equal(
    await execute(
      `UPDATE dbo.EligibilityChecks SET Result = 'APPEALED' WHERE CheckedAt < DATEADD(day, -20, SYSUTCDATETIME())`,
    ),
    3,
  );
  // Deletes everywhere.
  assert.equal(await execute(`DELETE TOP (3) FROM dbo.ClaimLines WHERE LineNumber < 100`), 3);
  assert.equal(await execute(`DELETE FROM dbo.Providers WHERE ProviderId = 1003`), 1);
  assert.equal(await execute(`DELETE TOP (2) FROM dbo.ClaimPayments WHERE PaymentMethod <> 'CHECK'`), 2);
  assert.equal(await execute(`DELETE TOP (2) FROM dbo.ProviderNotes WHERE NoteText LIKE N'Credentialing%'`), 2);
  assert.equal(
    await execute(`DELETE TOP (2) FROM dbo.EligibilityChecks WHERE CheckedAt > DATEADD(day, -1, SYSUTCDATETIME())`),
    2,
  );
  await assertConverges('after deletes', [LINES, PROVIDERS]);

  // Wake the others until their windows are past the changes, then compare: exactly the invisible part differs.
  const expected: Record<string, { extra: number; different: number }> = {
    [PAYMENTS.id]: { extra: 2, different: 0 },
    [NOTES.id]: { extra: 2, different: 1 },
    [CHECKS.id]: { extra: 2, different: 3 },
  };
  for (const table of [PAYMENTS, NOTES, CHECKS]) {
    const want = { table: table.id, phase: 'invisible changes', missing: 0, ...expected[table.id]!, dups: 0 };
    // Wakes the table until its windows are past the changes and the lake shows exactly the expected difference.
    const last = await waitUntilVerified(deps, client, table, {
      timeoutMs: 90_000,
      until: (v) => isDeepStrictEqual(verifySummary(table, 'invisible changes', v), want),
    });
    assert.deepEqual(verifySummary(table, 'invisible changes', last), want);
  }

  const r = await tidemark('reconcile', '--table', 'dbo.ClaimPayments', '--json');
  assert.equal(r.code, 0, r.err);
  assert.equal((JSON.parse(r.out) as { rows: number }).rows, 2);
  await assertConverges('after reconciling rowversion deletes', [PAYMENTS]);
});

test('nightly jobs heal what updated_at and identity cannot see: reconcile writes tombstones, the sweep re-reads late updates', async () => {
  const expected: Record<string, { tombstones: number }> = {
    'dbo.ProviderNotes': { tombstones: 2 },
    'dbo.EligibilityChecks': { tombstones: 2 },
  };
  for (const [table, want] of Object.entries(expected)) {
    const r = await tidemark('reconcile', '--table', table, '--json');
    assert.equal(r.code, 0, r.err);
    assert.equal((JSON.parse(r.out) as { rows: number }).rows, want.tombstones, `${table}: tombstones`);
    const s = await tidemark('sweep', '--table', table, '--days', '30', '--json');
    assert.equal(s.code, 0, s.err);
  }
  await assertConverges('after the nightly jobs', [NOTES, CHECKS]);
  // A second night finds nothing to do.
  for (const table of Object.keys(expected)) {
    const r = await tidemark('reconcile', '--table', table, '--json');
    assert.equal((JSON.parse(r.out) as { rows: number }).rows, 0, `${table}: nothing to reconcile`);
  }
  await assertConverges('after a second night', TABLES);
});
