/**
 * Rolling upgrades and sub-range reads (issue 14) on the real stack (simulator over TCP, Azurite, Temporal):
 * a worker of an older version must never read a sub-range — an older worker reads it as a window of its own
 * (updated_at: its own overlap and bound; identity: its own refined end; before sub-ranges existed, the whole
 * window once per sub-range). Since the patch 'sub-range-activity' a sub-range is an `extractSubRange` activity,
 * which an older worker does not register: it fails the task (Temporal's retryable NotFoundError), and the retry
 * goes to a worker that has it.
 *
 * The older worker here is a real Temporal worker on the table's task queue whose activity registry is today's
 * minus `extractSubRange` — the registry of a worker built before the patch (its workflow code is today's: one
 * process cannot load an older bundle; what matters to the sub-range is which worker's activities run it). It is
 * the only worker polling while an updated_at table's 3,000-row backlog (`subRangeRows: 1000`) is planned in
 * sub-ranges: the window does not commit and its sub-range reads fail as not registered. Then it is replaced by a
 * worker of this version, which reads the sub-ranges and commits the window: lake == source, no duplicate
 * (key, position). The older worker's failures are WARN lines naming the upgrade, without the task's encoded input
 * (src/worker-runtime-log.ts; this process's Runtime logs through installRuntimeLogger, as a worker's does).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { randomBytes } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { buildDependencies, createActivities, type ActivityDeps } from '../../src/activities/index.js';
import type { TidemarkConfig } from '../../src/config/index.js';
import { resolveSecret } from '../../src/config/secrets.js';
import type { TableRef } from '../../src/domain/table.js';
import { configuredDataConverter } from '../../src/temporal/data-converter.js';
import { createLogger } from '../../src/util/logger.js';
import { pauseSignal, resumeSignal, statusQuery, syncNowSignal } from '../../src/workflows/messages.js';
import { tableSyncWorkflow, tableSyncWorkflowId } from '../../src/workflows/table-sync.js';
import { installRuntimeLogger, startWorker, WORKFLOWS_SOURCE, type RunningWorker } from '../../src/worker.js';
import { pipelineConfig, startClaimsSource, type ClaimsSource } from '../../scripts/demo/harness.js';
import { azuriteForTests, temporalForTests } from '../support/stack.js';
import { eventually as until } from '../support/eventually.js';
import { assertExactlyOnce, committedManifests, lakeOf, subRangesOf } from './support/sub-range-lake.js';

const eventually = <T>(check: () => T | Promise<T>, timeoutMs: number, what: string): Promise<T> =>
  until(check, timeoutMs).catch((err: unknown) => {
    throw new Error(`${what}: ${(err as Error).message}`);
  });

const NOTES: TableRef = { id: 'Claims.dbo.NotesUpgrade', strategy: 'updated_at' };

let source: ClaimsSource;
let config: TidemarkConfig;
let deps: ActivityDeps;
let olderWorker: { worker: Worker; running: Promise<void>; connection: NativeConnection } | undefined;
let newWorker: RunningWorker | undefined;
let connection: Connection;
let client: Client;
let handle: WorkflowHandle | undefined;
const logger = createLogger({ name: 'e2e-sub-range-upgrade', level: 'warn' });
/** What the Temporal SDK logged in this process (its Runtime's logger), one object per line. */
const sdkLines: Record<string, unknown>[] = [];

/**
 * A worker with the activity registry of a version before the patch 'sub-range-activity': every activity of
 * today but `extractSubRange`. A real Temporal worker on the table's task queue (workflows too).
 */
async function startOlderWorker(): Promise<NonNullable<typeof olderWorker>> {
  const native = await NativeConnection.connect({ address: config.temporal.address });
  const older = Object.fromEntries(
    Object.entries(createActivities(deps)).filter(([name]) => name !== 'extractSubRange'),
  );
  const worker = await Worker.create({
    connection: native,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    workflowsPath: WORKFLOWS_SOURCE,
    activities: older,
    dataConverter: await configuredDataConverter(config.temporal, resolveSecret),
    shutdownGraceTime: '2s',
  });
  return { worker, running: worker.run(), connection: native };
}

async function stopOlderWorker(): Promise<void> {
  if (!olderWorker) return;
  const { worker, running, connection: native } = olderWorker;
  olderWorker = undefined;
  worker.shutdown();
  await running;
  await native.close();
}

before(async () => {
  source = await startClaimsSource({ workload: { rate: 0, longTransactionMs: 50, addColumnAt: [], widenAt: 1e6 } });
  await source.admin.request().batch(`ALTER DATABASE Claims SET ALLOW_SNAPSHOT_ISOLATION ON;
    CREATE TABLE dbo.NotesUpgrade (id int NOT NULL PRIMARY KEY, note varchar(20) NULL, updated_at datetime2(7) NOT NULL);
    CREATE INDEX IX_NotesUpgrade_updated_at ON dbo.NotesUpgrade (updated_at);`);
  await insertNotes(1, 10);
  const temporalAddress = await temporalForTests();
  config = pipelineConfig({
    sourcePort: source.sim.port,
    azuriteConnectionString: await azuriteForTests(),
    temporalAddress,
    taskQueue: `e2e-subrange-up-${randomBytes(4).toString('hex')}`,
    container: `e2e-subrange-up-${randomBytes(4).toString('hex')}`,
    tables: [
      {
        name: 'dbo.NotesUpgrade',
        capture: '{ strategy: updated_at, column: updated_at, safetyLag: 1s }',
        limits: '{ subRangeRows: 1000 }',
      },
    ],
    cadence: '10m',
  }).config;
  deps = await buildDependencies(config, logger);
  // Before any worker: the Runtime is installed once per process, with the worker's log routing.
  const sdkLog = new PassThrough();
  sdkLog.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n'))
      if (line) sdkLines.push(JSON.parse(line) as Record<string, unknown>);
  });
  installRuntimeLogger(createLogger({ name: 'e2e-sub-range-upgrade-sdk', level: 'warn', destination: sdkLog }));
  olderWorker = await startOlderWorker();
  connection = await Connection.connect({ address: temporalAddress });
  client = new Client({ connection });
  handle = await client.workflow.start(tableSyncWorkflow, {
    taskQueue: config.temporal.taskQueue,
    workflowId: tableSyncWorkflowId(NOTES.id),
    args: [{ table: NOTES, cadenceSeconds: 600, timeouts: { heartbeatSeconds: 3 } }],
  });
});

after(async () => {
  await handle?.terminate('test done').catch(() => undefined);
  await connection?.close();
  await stopOlderWorker();
  await newWorker?.stop();
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
        `INSERT INTO dbo.NotesUpgrade (id, note, updated_at) VALUES ${ids.map((id) => `(${id}, 'n${id}', SYSUTCDATETIME())`).join(', ')}`,
      );
  }
}

/** The window's sub-range reads pending on Temporal: each one's type, attempt and last failure's type. */
async function pendingReads(h: WorkflowHandle): Promise<{ type: string; attempt: number; failure?: string }[]> {
  const pending = (await h.describe()).raw.pendingActivities ?? [];
  return pending
    .filter((a) => a.activityType?.name !== 'planWindow')
    .map((a) => ({
      type: a.activityType?.name ?? '',
      attempt: a.attempt ?? 0,
      ...(a.lastFailure?.applicationFailureInfo?.type ? { failure: a.lastFailure.applicationFailureInfo.type } : {}),
    }));
}

test(
  'a worker without the sub-range activity (an older version) cannot read a sub-range; a new worker commits it',
  { timeout: 300_000 },
  async () => {
    const h = handle!;
    const status = () => h.query(statusQuery);
    await eventually(async () => assert.equal((await status()).rowsCommitted, 10), 90_000, 'the snapshot');
    await h.signal(pauseSignal, { reason: 'test: writing the backlog' });
    await eventually(async () => assert.equal((await status()).mode, 'paused'), 60_000, 'paused');
    const lake = await lakeOf(deps, NOTES);
    const before = (await committedManifests(lake)).length;
    await insertNotes(1001, 3000);
    await sleep(1500); // past the table's 1 s safety lag
    await h.signal(resumeSignal);
    await h.signal(syncNowSignal);

    // Only the older worker polls: every sub-range read fails as not registered and is retried; nothing commits.
    const reads = await eventually(
      async () => {
        const r = await pendingReads(h);
        assert.ok(
          r.length >= 3 && r.every((a) => a.attempt >= 2 && a.failure === 'NotFoundError'),
          `every sub-range read failed on the older worker at least once: ${JSON.stringify(r)}`,
        );
        return r;
      },
      120_000,
      'the sub-range reads on the older worker',
    );
    assert.deepEqual(new Set(reads.map((a) => a.type)), new Set(['extractSubRange']), 'sub-ranges read by type');
    assert.equal((await status()).rowsCommitted, 10, 'no window of the backlog committed on the older worker');
    assert.equal((await committedManifests(lake)).length, before, 'no manifest written by the older worker');
    // The older worker's log: a WARN per failed attempt naming the upgrade, no ERROR, no encoded task.
    // The SDK's line can reach the Runtime's logger after Temporal already shows the failed attempt (tens of
    // milliseconds later, measured): wait for the lines rather than read them once.
    const notRegistered = await eventually(
      () => {
        const lines = sdkLines.filter((l) => /extractSubRange is not registered/i.test(String(l.msg)));
        assert.ok(lines.length >= 3, `${lines.length} lines for the failed sub-range reads`);
        return lines;
      },
      30_000,
      "the older worker's log",
    );
    for (const l of notRegistered) {
      assert.equal(l.level, 'warn', JSON.stringify(l));
      assert.match(String(l.msg), /rolling upgrade/);
      assert.equal(l.taskEncoded, undefined, 'no encoded task');
      assert.equal(l.task, undefined, 'no task');
    }

    // The upgrade: the older worker goes, a worker of this version comes; the retries run on it.
    await stopOlderWorker();
    newWorker = await startWorker({ config, logger, deps, shutdownGraceTime: '2s' });
    await eventually(
      async () => assert.ok((await status()).rowsCommitted >= 3010, 'the backlog commits'),
      150_000,
      'the backlog on the new worker',
    );
    await assertExactlyOnce(deps, NOTES, 3010);
    const added = (await committedManifests(lake)).slice(before);
    const split = added.filter((m) => subRangesOf(m).size > 0);
    assert.equal(split.length, 1, 'one window read in sub-ranges');
    assert.ok(subRangesOf(split[0]!).size >= 3, `staged by ${subRangesOf(split[0]!).size} sub-ranges`);
  },
);
