/**
 * One busy table scaled out (issue 14): a CDC window whose backlog exceeds `limits.subRangeRows` is planned with
 * sub-ranges, each read and staged by its own `extractWindow` activity on whichever worker has a slot, and the
 * whole window is still committed by ONE manifest. On the real stack (simulator over TCP, Azurite, Temporal),
 * with two workers in this process; worker A reaches Temporal and Azurite through TCP proxies
 * (scripts/chaos/tcp-proxy.ts), so it can be cut off like a killed host, and its uploads held.
 *
 * 1. Both workers, one sub-range's read reset mid-stream by the simulator: that activity fails and is retried;
 *    the window commits once, with every sub-range's files.
 * 2. Worker A alone takes the window's sub-ranges; one read is held, then A's uploads hang, then A loses Temporal
 *    (to Temporal a killed worker: no heartbeat). Worker B starts; the sub-ranges A did not finish time out and
 *    are retried on B, which commits the window. Then A's held uploads go through — a zombie sub-range attempt
 *    writing after the commit — and A reaches Temporal again to report. Readers see nothing of it.
 *
 * 3. A worker process (its own OS process, test/e2e/support/worker-process.ts) alone takes a window's
 *    sub-ranges and is killed with SIGKILL while one is mid-read; a new worker retries what it left and commits.
 *
 * Each ends with lake == source, no duplicate (key, position), the manifest chain and watermark clean.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { buildDependencies, type ActivityDeps } from '../../src/activities/index.js';
import { tableContext } from '../../src/capture/table-context.js';
import type { TidemarkConfig } from '../../src/config/index.js';
import type { TableRef } from '../../src/domain/table.js';
import { committedSequences, parseManifest, type Manifest } from '../../src/lake/manifest.js';
import type { LakeTable } from '../../src/lake/lake-table.js';
import type { TableSyncStatus } from '../../src/state/table-sync-state.js';
import { createLogger } from '../../src/util/logger.js';
import { pauseSignal, resumeSignal, statusQuery, syncNowSignal } from '../../src/workflows/messages.js';
import { tableSyncWorkflow, tableSyncWorkflowId } from '../../src/workflows/table-sync.js';
import { startWorker, type RunningWorker } from '../../src/worker.js';
import type { ClaimsSource } from '../../scripts/demo/harness.js';
import type { TcpProxy } from '../../scripts/chaos/tcp-proxy.js';
import { assertExactlyOnce as assertExactlyOnceIn } from './support/sub-range-lake.js';
import {
  dataFiles,
  eventually,
  startTwoWorkerStack,
  zombieUploadsThenReports,
  type TwoWorkerStack,
} from './support/two-workers.js';
import { startWorkerProcess } from './support/worker-process.js';

const BURST: TableRef = { id: 'Claims.dbo.Burst', strategy: 'cdc' };
/** The read of a window or sub-range (the plan's queries do not select `__$operation`). */
const READ_TEXT = 'c.__$operation,';

let stack: TwoWorkerStack;
let source: ClaimsSource;
let proxy: TcpProxy;
let storageProxy: TcpProxy;
let configA: TidemarkConfig;
let configB: TidemarkConfig;
/** Worker B's config as a file and its environment (for a worker process). */
let fileB: { dir: string; configFile: string; env: Record<string, string> };
let depsA: ActivityDeps;
let depsB: ActivityDeps;
let workerA: RunningWorker | undefined;
let workerB: RunningWorker | undefined;
let connection: Connection;
let client: Client;
let handle: WorkflowHandle;
let lake: LakeTable;
const logger = createLogger({ name: 'e2e-sub-range', level: 'warn' });

/** `n` rows from id `from`, in transactions of `perTx` rows (each a possible cut between sub-ranges). */
async function insert(from: number, n: number, perTx = 100): Promise<void> {
  for (let i = 0; i < n; i += perTx) {
    const ids = Array.from({ length: Math.min(perTx, n - i) }, (_v, k) => from + i + k);
    await source.admin
      .request()
      .batch(`INSERT INTO dbo.Burst (id, note) VALUES ${ids.map((id) => `(${id}, 'n${id}')`).join(', ')}`);
  }
}

/** Waits until the capture job harvested `n` change rows of the table (so one window plans the whole burst). */
async function harvested(n: number): Promise<void> {
  await eventually(
    async () => {
      const r = await source.admin.request().query<{ n: number }>('SELECT COUNT(*) AS n FROM cdc.dbo_Burst_CT');
      assert.equal(r.recordset[0]!.n, n);
    },
    60_000,
    'the capture job harvests the burst',
  );
}

before(async () => {
  stack = await startTwoWorkerStack({
    name: 'e2e-subrange',
    source: { workload: { rate: 0, longTransactionMs: 50, addColumnAt: [], widenAt: 1e6 }, cdcPollMs: 300 },
    setupSql: `CREATE TABLE dbo.Burst (id int NOT NULL PRIMARY KEY, note varchar(20) NULL);
      EXEC sys.sp_cdc_enable_table @source_schema = N'dbo', @source_name = N'Burst', @role_name = NULL;`,
    tables: [{ name: 'dbo.Burst', capture: '{ strategy: cdc }', limits: '{ subRangeRows: 1000 }' }],
    cadence: '10m',
    // Worker A's reads are told apart by its application name (a stall holds only A's read).
    appNameA: 'tidemark-a',
  });
  ({ source, proxy, storageProxy, configA, configB } = stack);
  await insert(1, 10);
  const dir = await mkdtemp(join(tmpdir(), 'tidemark-subrange-'));
  await writeFile(join(dir, 'tidemark.yaml'), stack.yamlB);
  fileB = { dir, configFile: join(dir, 'tidemark.yaml'), env: stack.envB };
  depsA = await buildDependencies(configA, logger);
  depsB = await buildDependencies(configB, logger);
  workerA = await startWorker({ config: configA, logger, deps: depsA, shutdownGraceTime: '2s' });
  workerB = await startWorker({ config: configB, logger, deps: depsB, shutdownGraceTime: '2s' });
  lake = (await tableContext(depsB, BURST)).lake;
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
  if (fileB) await rm(fileB.dir, { recursive: true, force: true });
});

const status = (): Promise<TableSyncStatus> => handle.query(statusQuery);

/**
 * The committed manifests by sequence, listed through the lake's own reading (`committedSequences`,
 * `parseManifest`), each with its raw body: the zombie test compares them byte for byte.
 */
async function manifests(): Promise<Map<number, { body: string; manifest: Manifest }>> {
  const out = new Map<number, { body: string; manifest: Manifest }>();
  for (const seq of await committedSequences(lake)) {
    const path = lake.layout.manifestPath(seq);
    const got = await lake.store.get(path);
    if (got) out.set(seq, { body: got.body.toString('utf8'), manifest: parseManifest(lake.layout, path, got.body) });
  }
  return out;
}

/** Lake == source, no duplicate (key, position), chain + files + watermark clean (test/e2e/support). */
const assertExactlyOnce = (sourceRows: number): Promise<void> => assertExactlyOnceIn(depsB, BURST, sourceRows);

/** The sub-range indexes of a manifest's files (`…-a<wa>-<aa>-r<k>-<random>-s<n>-p…`) and their activity attempts. */
function subRangesOf(m: Manifest): { ranges: Set<number>; retried: boolean } {
  const ranges = new Set<number>();
  let retried = false;
  for (const f of m.files) {
    const x = /-a\d+-(\d+)-r(\d+)-/.exec(f.path);
    assert.ok(x, `${f.path} is staged by a sub-range`);
    ranges.add(Number(x[2]));
    if (Number(x[1]) > 1) retried = true;
  }
  return { ranges, retried };
}

test(
  'a window over the sub-range threshold is read in parallel sub-ranges, one retried after a failure, and committed by one manifest',
  { timeout: 300_000 },
  async () => {
    handle = await client.workflow.start(tableSyncWorkflow, {
      taskQueue: configB.temporal.taskQueue,
      workflowId: tableSyncWorkflowId(BURST.id),
      args: [{ table: BURST, cadenceSeconds: 600, timeouts: { heartbeatSeconds: 3 } }],
    });
    await eventually(async () => assert.equal((await status()).rowsCommitted, 10), 90_000, 'the snapshot');
    const beforeSeq = Math.max(...(await manifests()).keys());

    // 4,000 changes in 40 transactions: about four sub-ranges of ~1,000. One read is reset after 20 rows.
    // The sync plans a window right after its snapshot: paused, so that it cannot take part of the burst.
    await handle.signal(pauseSignal, { reason: 'test: writing the burst' });
    await eventually(async () => assert.equal((await status()).mode, 'paused'), 60_000, 'paused');
    await insert(1000, 4000);
    await harvested(4010);
    const reset = source.sim.faults.resetConnection({ match: { text: READ_TEXT }, afterRows: 20 });
    await handle.signal(resumeSignal);
    await handle.signal(syncNowSignal);
    await eventually(
      async () => assert.equal((await status()).rowsCommitted, 4010),
      120_000,
      'the split window commits',
    );
    assert.equal(reset.status().fired, 1, 'one sub-range read was reset');
    // (An idle window may commit beside it: CDC's max LSN moves with the capture job's placeholders.)
    const all = await manifests();
    const withRows = [...all.values()].filter(
      (m) => m.manifest.sequence > beforeSeq && m.manifest.controlTotals.rows > 0,
    );
    assert.deepEqual(
      withRows.map((m) => m.manifest.controlTotals.rows),
      [4000],
      'the whole backlog is one window',
    );
    const last = withRows[0]!.manifest;
    const split = subRangesOf(last);
    assert.ok(split.ranges.size >= 3, `staged by ${split.ranges.size} sub-ranges`);
    assert.ok(split.retried, 'a sub-range was staged by its retry');
    await assertExactlyOnce(4010);
  },
);

test(
  'a worker cut off mid-sub-range: its sub-ranges are retried on the other worker, and its zombie uploads after the commit change nothing',
  { timeout: 300_000 },
  async () => {
    // Worker A alone takes the next window's sub-ranges.
    await workerB!.stop();
    workerB = undefined;
    const beforeSeq = Math.max(...(await manifests()).keys());
    await insert(10_000, 3000);
    await harvested(7010);
    const stall = source.sim.faults.stall({ match: { text: READ_TEXT, appName: 'tidemark-a' }, afterRows: 3 });
    await handle.signal(syncNowSignal);
    await eventually(
      () => Promise.resolve(assert.equal(stall.status().waiting, 1)),
      60_000,
      'worker A held in a sub-range read',
    );
    // A's uploads hang from now on; the held read goes on and reaches its upload.
    storageProxy.setMode({ kind: 'hold' });
    assert.equal(stall.release(), 1);
    await eventually(
      () => Promise.resolve(assert.ok(storageProxy.stats().held > 0, 'an upload of worker A is held')),
      60_000,
      'worker A uploading',
    );

    // A loses Temporal: to Temporal a dead worker (no heartbeat). B starts and takes the sub-ranges over.
    proxy.setMode({ kind: 'drop' });
    depsB = await buildDependencies(configB, logger);
    workerB = await startWorker({ config: configB, logger, deps: depsB, shutdownGraceTime: '2s' });
    await eventually(
      async () => assert.equal((await status()).rowsCommitted, 7010),
      150_000,
      'the retries on worker B commit the window',
    );
    const committed = await manifests();
    const withRows = [...committed.values()].filter(
      (m) => m.manifest.sequence > beforeSeq && m.manifest.controlTotals.rows > 0,
    );
    assert.deepEqual(
      withRows.map((m) => m.manifest.controlTotals.rows),
      [3000],
      'the whole backlog is one window',
    );
    const window = withRows[0]!.manifest;
    assert.ok(subRangesOf(window).ranges.size >= 2, 'the window was read in sub-ranges');
    const filesAtCommit = new Set(await dataFiles(lake));
    await assertExactlyOnce(3010 + 4000);

    // The zombie's uploads go through now, after the commit; then A reaches Temporal again.
    const zombieFiles = await zombieUploadsThenReports(stack, lake, filesAtCommit, handle);

    const now = await manifests();
    assert.deepEqual(
      [...now].map(([k, v]) => [k, v.body]),
      [...committed].map(([k, v]) => [k, v.body]),
      'the manifests are unchanged, byte for byte',
    );
    const referenced = new Set(
      [...now.values()].flatMap((m) => m.manifest.files.map((f) => lake.layout.resolve(f.path))),
    );
    for (const f of zombieFiles) assert.ok(!referenced.has(f), `${f} is referenced by a manifest`);
    await assertExactlyOnce(7010);
    const s = await status();
    assert.deepEqual([s.mode, s.rowsCommitted], ['running', 7010]);
  },
);

test(
  'a worker process killed mid-sub-range (SIGKILL): a new worker retries the sub-ranges it left, one manifest commits the window',
  { timeout: 300_000 },
  async () => {
    // Only the worker process runs the next window.
    await workerA?.stop();
    workerA = undefined;
    await workerB?.stop();
    workerB = undefined;
    const p = await startWorkerProcess({ ...fileB, logFile: join(fileB.dir, 'worker-p.log') });
    try {
      const beforeSeq = Math.max(...(await manifests()).keys());
      await insert(20_000, 3000);
      await harvested(10_010);
      const stall = source.sim.faults.stall({ match: { text: READ_TEXT }, afterRows: 3 });
      await handle.signal(syncNowSignal);
      await eventually(
        () => Promise.resolve(assert.equal(stall.status().waiting, 1)),
        60_000,
        'the worker process held in a sub-range read',
      );
      await p.kill();
      stall.release();
      depsB = await buildDependencies(configB, logger);
      workerB = await startWorker({ config: configB, logger, deps: depsB, shutdownGraceTime: '2s' });
      await eventually(
        async () => assert.equal((await status()).rowsCommitted, 10_010),
        150_000,
        'the new worker commits the window',
      );
      const withRows = [...(await manifests()).values()].filter(
        (m) => m.manifest.sequence > beforeSeq && m.manifest.controlTotals.rows > 0,
      );
      assert.deepEqual(
        withRows.map((m) => m.manifest.controlTotals.rows),
        [3000],
        'the whole backlog is one window',
      );
      const split = subRangesOf(withRows[0]!.manifest);
      assert.ok(split.ranges.size >= 2, 'the window was read in sub-ranges');
      assert.ok(split.retried, "the killed worker's sub-range was staged by its retry");
      await assertExactlyOnce(10_010);
    } finally {
      await p.kill();
    }
  },
);
