/**
 * Sub-range windows of the watermark strategies (issue 14) on the real stack (simulator over TCP, Azurite,
 * Temporal, one worker in this process): an updated_at table and an identity table, each with a backlog over
 * `limits.subRangeRows`, commit it as ONE window staged by several sub-range activities, and the lake equals the
 * source with no duplicate (key, position). The updated_at backlog is written in statements of 500 rows stamped
 * with one `SYSUTCDATETIME()` each, so every cut falls among equal timestamps; the identity backlog has a
 * rolled-back id (a gap of the window's end, fixed at plan time) and an id held open across the plan, committed
 * after the sub-ranges are read, which the next window lands.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import type sql from 'mssql';
import { buildDependencies, type ActivityDeps } from '../../src/activities/index.js';
import type { TableRef } from '../../src/domain/table.js';
import { createLogger } from '../../src/util/logger.js';
import { pauseSignal, resumeSignal, statusQuery, syncNowSignal } from '../../src/workflows/messages.js';
import { tableSyncWorkflow, tableSyncWorkflowId } from '../../src/workflows/table-sync.js';
import { startWorker, type RunningWorker } from '../../src/worker.js';
import { pipelineConfig, startClaimsSource, type ClaimsSource } from '../../scripts/demo/harness.js';
import { azuriteForTests, temporalForTests } from '../support/stack.js';
import { eventually as until } from '../support/eventually.js';
import { assertExactlyOnce, committedManifests, lakeOf, subRangesOf } from './support/sub-range-lake.js';

const eventually = <T>(check: () => Promise<T>, timeoutMs: number, what: string): Promise<T> =>
  until(check, timeoutMs).catch((err: unknown) => {
    throw new Error(`${what}: ${(err as Error).message}`);
  });

const NOTES: TableRef = { id: 'Claims.dbo.NotesBurst', strategy: 'updated_at' };
const CHECKS: TableRef = { id: 'Claims.dbo.ChecksBurst', strategy: 'identity' };

let source: ClaimsSource;
let deps: ActivityDeps;
let worker: RunningWorker | undefined;
let connection: Connection;
let client: Client;
const handles: WorkflowHandle[] = [];
const logger = createLogger({ name: 'e2e-sub-range-watermarks', level: 'warn' });

before(async () => {
  source = await startClaimsSource({ workload: { rate: 0, longTransactionMs: 50, addColumnAt: [], widenAt: 1e6 } });
  await source.admin.request().batch(`ALTER DATABASE Claims SET ALLOW_SNAPSHOT_ISOLATION ON;
    CREATE TABLE dbo.NotesBurst (id int NOT NULL PRIMARY KEY, note varchar(20) NULL, updated_at datetime2(7) NOT NULL);
    CREATE INDEX IX_NotesBurst_updated_at ON dbo.NotesBurst (updated_at);
    CREATE TABLE dbo.ChecksBurst (id int IDENTITY(1,1) PRIMARY KEY, note varchar(20) NULL);`);
  await insertNotes(1, 10);
  await insertChecks(10);
  const temporalAddress = await temporalForTests();
  const made = pipelineConfig({
    sourcePort: source.sim.port,
    azuriteConnectionString: await azuriteForTests(),
    temporalAddress,
    taskQueue: `e2e-subrange-wm-${randomBytes(4).toString('hex')}`,
    container: `e2e-subrange-wm-${randomBytes(4).toString('hex')}`,
    tables: [
      {
        name: 'dbo.NotesBurst',
        capture: '{ strategy: updated_at, column: updated_at, safetyLag: 1s }',
        limits: '{ subRangeRows: 1000 }',
      },
      { name: 'dbo.ChecksBurst', capture: '{ strategy: identity, column: id }', limits: '{ subRangeRows: 1000 }' },
    ],
    cadence: '10m',
  });
  deps = await buildDependencies(made.config, logger);
  worker = await startWorker({ config: made.config, logger, deps, shutdownGraceTime: '2s' });
  connection = await Connection.connect({ address: temporalAddress });
  client = new Client({ connection });
  for (const table of [NOTES, CHECKS])
    handles.push(
      await client.workflow.start(tableSyncWorkflow, {
        taskQueue: made.config.temporal.taskQueue,
        workflowId: tableSyncWorkflowId(table.id),
        args: [{ table, cadenceSeconds: 600, timeouts: { heartbeatSeconds: 3 } }],
      }),
    );
});

after(async () => {
  for (const h of handles) await h.terminate('test done').catch(() => undefined);
  await connection?.close();
  await worker?.stop();
  await deps?.close();
  await source?.stop();
});

/** Rows `from`…`from + n − 1`, 500 per statement, each statement's rows stamped with one SYSUTCDATETIME(). */
async function insertNotes(from: number, n: number): Promise<void> {
  for (let i = 0; i < n; i += 500) {
    const ids = Array.from({ length: Math.min(500, n - i) }, (_v, k) => from + i + k);
    await source.admin
      .request()
      .batch(
        `INSERT INTO dbo.NotesBurst (id, note, updated_at) VALUES ${ids.map((id) => `(${id}, 'n${id}', SYSUTCDATETIME())`).join(', ')}`,
      );
  }
}

async function insertChecks(n: number, via: sql.ConnectionPool | sql.Transaction = source.admin): Promise<void> {
  for (let i = 0; i < n; i += 500)
    await via
      .request()
      .batch(
        `INSERT INTO dbo.ChecksBurst (note) VALUES ${Array.from({ length: Math.min(500, n - i) }, () => "('c')").join(', ')}`,
      );
}

const status = (h: WorkflowHandle) => h.query(statusQuery);

test(
  'updated_at and identity backlogs over the threshold commit as one window read in sub-ranges; lake == source',
  { timeout: 300_000 },
  async () => {
    for (const h of handles)
      await eventually(async () => assert.equal((await status(h)).rowsCommitted, 10), 90_000, 'the snapshot');
    for (const h of handles) {
      await h.signal(pauseSignal, { reason: 'test: writing the backlog' });
      await eventually(async () => assert.equal((await status(h)).mode, 'paused'), 60_000, 'paused');
    }
    const before = new Map<string, number>();
    for (const t of [NOTES, CHECKS]) before.set(t.id, (await committedManifests(await lakeOf(deps, t))).length);

    // updated_at: 3,000 new rows and 5 of the snapshot's rows updated.
    await insertNotes(1001, 3000);
    await source.admin
      .request()
      .batch(`UPDATE dbo.NotesBurst SET note = 'upd', updated_at = SYSUTCDATETIME() WHERE id <= 5`);
    // identity: 1,500 rows, one rolled-back id, an id held open across the plan, 1,500 rows.
    await insertChecks(1500);
    const rolledBack = source.admin.transaction();
    await rolledBack.begin();
    await insertChecks(1, rolledBack);
    await rolledBack.rollback();
    const held = source.admin.transaction();
    await held.begin();
    await insertChecks(1, held);
    await insertChecks(1500);
    await sleep(1500); // past the updated_at table's 1 s safety lag

    const [notes, checks] = handles as [WorkflowHandle, WorkflowHandle];
    await notes.signal(resumeSignal);
    await notes.signal(syncNowSignal);
    await checks.signal(resumeSignal);
    await checks.signal(syncNowSignal);
    // The identity window commits without the held id (a gap of its end); then it commits, and the next window
    // lands it.
    await eventually(
      async () => assert.ok((await status(checks)).rowsCommitted >= 3010, 'the identity backlog commits'),
      150_000,
      'the identity window',
    );
    await held.commit();
    await checks.signal(syncNowSignal);
    await eventually(() => assertExactlyOnce(deps, CHECKS, 3011), 120_000, 'identity: lake == source');
    await eventually(() => assertExactlyOnce(deps, NOTES, 3010), 120_000, 'updated_at: lake == source');

    for (const t of [NOTES, CHECKS]) {
      const added = (await committedManifests(await lakeOf(deps, t))).slice(before.get(t.id));
      const split = added.filter((m) => subRangesOf(m).size > 0);
      assert.equal(split.length, 1, `${t.id}: one window read in sub-ranges`);
      assert.ok(subRangesOf(split[0]!).size >= 3, `${t.id}: staged by ${subRangesOf(split[0]!).size} sub-ranges`);
      assert.ok(split[0]!.controlTotals.rows >= 3000, `${t.id}: the backlog in that one window`);
    }
  },
);
