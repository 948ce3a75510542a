/**
 * A zombie extraction on the real stack (issue 18): an `extractWindow` attempt that outlives its heartbeat timeout,
 * keeps uploading after another attempt committed its window, and then tries to complete. Nothing is mocked:
 * the zombie is worker A, in this process, which reaches Temporal and Azurite through TCP proxies
 * (scripts/chaos/tcp-proxy.ts). Its window read is first held by the simulator's statement stall; meanwhile its
 * storage proxy starts holding bytes, so when the stall is released A reads the rest and its upload hangs
 * mid-request. Then A's Temporal proxy resets every connection (a network partition between the worker host and
 * the Temporal cluster): Temporal times the attempt out (no heartbeat for 3 s; the SDK also cancels it locally)
 * and retries it on worker B, which commits the window. Then A's held upload goes through, creating its file
 * after the commit, and A tries to report its result once it reaches Temporal again.
 *
 * (The SDK cancels an activity that can no longer heartbeat, and the extraction stops at its next cancellation
 * check, so what a zombie can still do after the retry committed is finish what it had in flight: here, an
 * upload.)
 *
 * Readers see no change from the zombie: the manifests (the truth of the lake) are byte for byte the same, the
 * lake's latest state equals the source with no duplicate (key, position), and the zombie's files are in the
 * container but referenced by no manifest (they have their own attempt id in their names: src/lake/layout.ts).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { buildDependencies, type ActivityDeps } from '../../src/activities/index.js';
import { tableContext } from '../../src/capture/table-context.js';
import type { TidemarkConfig } from '../../src/config/index.js';
import type { TableRef } from '../../src/domain/table.js';
import type { Manifest } from '../../src/lake/manifest.js';
import type { LakeTable } from '../../src/lake/lake-table.js';
import type { TableSyncStatus } from '../../src/state/table-sync-state.js';
import { createLogger } from '../../src/util/logger.js';
import { verifyTable } from '../../src/verify/verify-table.js';
import { statusQuery, syncNowSignal } from '../../src/workflows/messages.js';
import { tableSyncWorkflow, tableSyncWorkflowId } from '../../src/workflows/table-sync.js';
import { startWorker, type RunningWorker } from '../../src/worker.js';
import type { ClaimsSource } from '../../scripts/demo/harness.js';
import type { TcpProxy } from '../../scripts/chaos/tcp-proxy.js';
import { lakeIntegrity } from '../../scripts/chaos/checks.js';
import {
  dataFiles,
  eventually,
  startTwoWorkerStack,
  zombieUploadsThenReports,
  type TwoWorkerStack,
} from './support/two-workers.js';

const ZOMBIE: TableRef = { id: 'Claims.dbo.Zombie', strategy: 'rowversion' };

let stack: TwoWorkerStack;
let source: ClaimsSource;
let proxy: TcpProxy;
let storageProxy: TcpProxy;
let dir: string;
let configA: TidemarkConfig;
let configB: TidemarkConfig;
let depsA: ActivityDeps;
let depsB: ActivityDeps | undefined;
let workerA: RunningWorker;
let workerB: RunningWorker | undefined;
let connection: Connection;
let client: Client;
let handle: WorkflowHandle;
const logger = createLogger({ name: 'e2e-zombie', level: 'warn' });

const insert = (from: number, n: number) =>
  source.admin
    .request()
    .batch(
      `INSERT INTO dbo.Zombie (id, note) VALUES ${Array.from({ length: n }, (_v, i) => `(${from + i}, 'n${from + i}')`).join(', ')}`,
    );

before(async () => {
  stack = await startTwoWorkerStack({
    name: 'e2e-zombie',
    source: { workload: { rate: 0, longTransactionMs: 50, addColumnAt: [], widenAt: 1e6 } },
    setupSql: 'CREATE TABLE dbo.Zombie (id int NOT NULL PRIMARY KEY, note varchar(20) NULL, RowVer rowversion)',
    tables: [{ name: 'dbo.Zombie', capture: '{ strategy: rowversion, column: RowVer }' }],
  });
  ({ source, proxy, storageProxy, configA, configB } = stack);
  await insert(1, 5);
  dir = await mkdtemp(join(tmpdir(), 'tidemark-zombie-'));
  depsA = await buildDependencies(configA, logger);
  workerA = await startWorker({ config: configA, logger, deps: depsA, shutdownGraceTime: '2s' });
  connection = await Connection.connect({ address: stack.temporalAddress });
  client = new Client({ connection });
});

after(async () => {
  stack?.unblock();
  await handle?.terminate('test done').catch(() => undefined);
  await connection?.close();
  await workerB?.stop();
  await workerA?.stop();
  await depsB?.close();
  await depsA?.close();
  await stack?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const status = (): Promise<TableSyncStatus> => handle.query(statusQuery);

/** Every manifest's bytes by sequence, and the data files the manifests reference. */
async function lakeTruth(lake: LakeTable): Promise<{ manifests: Map<string, string>; referenced: Set<string> }> {
  const manifests = new Map<string, string>();
  const referenced = new Set<string>();
  for await (const item of lake.store.list(lake.layout.manifestsPrefix)) {
    const got = await lake.store.get(item.path);
    assert.ok(got, item.path);
    const body = got.body.toString('utf8');
    manifests.set(item.path, body);
    for (const f of (JSON.parse(body) as Manifest).files) referenced.add(lake.layout.resolve(f.path));
  }
  return { manifests, referenced };
}

test(
  'an extractWindow attempt that outlives its heartbeat timeout and uploads after the retry committed changes nothing readers see',
  { timeout: 300_000 },
  async () => {
    handle = await client.workflow.start(tableSyncWorkflow, {
      taskQueue: configA.temporal.taskQueue,
      workflowId: tableSyncWorkflowId(ZOMBIE.id),
      args: [{ table: ZOMBIE, cadenceSeconds: 600, timeouts: { heartbeatSeconds: 3 } }],
    });
    await eventually(async () => assert.equal((await status()).rowsCommitted, 5), 90_000, 'the snapshot');

    // The next window's read is held after 3 of its 40 rows went to worker A (the stall is spent after one hold,
    // so the retry's read runs freely). Planning reads one row, too few to match.
    await insert(100, 40);
    const stall = source.sim.faults.stall({ match: { text: '[Zombie]' }, afterRows: 3 });
    await handle.signal(syncNowSignal);
    await eventually(
      () => Promise.resolve(assert.equal(stall.status().waiting, 1)),
      60_000,
      'worker A held in its read',
    );

    // A's storage starts holding bytes; A reads the rest of the window and its upload hangs mid-request.
    storageProxy.setMode({ kind: 'hold' });
    assert.equal(stall.release(), 1, 'worker A was held in its read');
    await eventually(
      () => Promise.resolve(assert.ok(storageProxy.stats().held > 0, 'an upload of worker A is held')),
      60_000,
      'worker A uploading',
    );

    // Worker A loses Temporal (every connection reset, new ones refused); it still reaches SQL Server.
    proxy.setMode({ kind: 'drop' });
    depsB = await buildDependencies(configB, logger);
    workerB = await startWorker({ config: configB, logger, deps: depsB, shutdownGraceTime: '2s' });
    await eventually(
      async () => {
        const s = await status();
        assert.equal(s.rowsCommitted, 45);
        assert.equal(s.windowsCommitted, 2);
      },
      120_000,
      'the retry on worker B commits the window',
    );
    const lake = (await tableContext(depsB, ZOMBIE)).lake;
    const committed = await lakeTruth(lake);
    const filesAtCommit = new Set(await dataFiles(lake));
    const verified = await verifyTable(depsB, ZOMBIE);
    assert.deepEqual([verified.ok, verified.sourceRows, verified.duplicateEvents], [true, 45, 0]);

    // The zombie's upload goes through now, after the commit; then A reaches Temporal again and tries to report its result.
    const zombieFiles = await zombieUploadsThenReports(stack, lake, filesAtCommit, handle);

    const now = await lakeTruth(lake);
    assert.deepEqual(now.manifests, committed.manifests, 'the manifests are unchanged, byte for byte');
    for (const f of zombieFiles) assert.ok(!now.referenced.has(f), `${f} is referenced by a manifest`);
    const integrity = await lakeIntegrity(lake);
    assert.deepEqual(
      [integrity.chainProblems, integrity.fileProblems, integrity.watermarkProblems],
      [[], [], []],
      'chain, files with their MD5, watermark',
    );
    const after = await verifyTable(depsB, ZOMBIE);
    assert.deepEqual(
      [after.ok, after.sourceRows, after.missingInLake, after.extraInLake, after.different, after.duplicateEvents],
      [true, 45, 0, 0, 0, 0],
    );
    const s = await status();
    assert.deepEqual([s.mode, s.rowsCommitted, s.windowsCommitted], ['running', 45, 2]);
  },
);
