/**
 * The worker's heap cap (src/worker-heap.ts) leaves room for a large value: a snapshot of a table with an 8 MiB
 * `nvarchar(max)` value (4M UTF-16 characters) loads on a worker process started with the flags `npm run worker`
 * gives it, and the lake equals the source. Without room for it, the value's row would exhaust the heap and fail
 * every retry of its chunk. (Why not larger: reading one value of N characters from the simulator takes time
 * quadratic in N — 1.3 s at 1M characters, 73 s at 8M on the shared machine — so a 64 MiB value would take the
 * test ~20 minutes.)
 *
 * Real parts: the simulator, a Tidemark worker as its own OS process (`src/worker.ts` with WORKER_NODE_FLAGS), the
 * Temporal dev server, Azurite.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { buildDependencies, type ActivityDeps } from '../../src/activities/index.js';
import type { JobOutput } from '../../src/domain/jobs.js';
import type { TableRef } from '../../src/domain/table.js';
import { createLogger } from '../../src/util/logger.js';
import { verifyTable } from '../../src/verify/verify-table.js';
import type { ChunkedJobInput } from '../../src/workflows/chunked-jobs.js';
import { jobWorkflowId } from '../../src/workflows/chunked-jobs.js';
import { WORKER_OLD_SPACE_MB } from '../../src/worker-heap.js';
import { pipelineConfig, startClaimsSource, type ClaimsSource } from '../../scripts/demo/harness.js';
import { azuriteForTests, temporalForTests } from '../support/stack.js';
import { startWorkerProcess, type WorkerProcess } from './support/worker-process.js';

const BIG: TableRef = { id: 'Claims.dbo.BigValue', strategy: 'rowversion' };
/** Characters of the large value: 4M UTF-16 code units, 8 MiB as the driver receives it. */
const BIG_CHARS = 4 * 1024 * 1024;

let source: ClaimsSource;
let deps: ActivityDeps;
let connection: Connection;
let client: Client;
let dir: string;
let taskQueue: string;
let worker: WorkerProcess | undefined;

before(async () => {
  source = await startClaimsSource({ workload: { rate: 0, longTransactionMs: 50, addColumnAt: [], widenAt: 1e6 } });
  await source.admin.request().batch(`CREATE TABLE dbo.BigValue (id int NOT NULL PRIMARY KEY, body nvarchar(max) NULL,
      RowVer rowversion);
    INSERT INTO dbo.BigValue (id, body) VALUES (1, N'small'), (3, NULL);
    INSERT INTO dbo.BigValue (id, body) VALUES (2, REPLICATE(CAST(N'ž' AS nvarchar(max)), ${BIG_CHARS}));`);
  const temporalAddress = await temporalForTests();
  taskQueue = `e2e-bigvalue-${randomBytes(4).toString('hex')}`;
  const { yaml, env, config } = pipelineConfig({
    sourcePort: source.sim.port,
    azuriteConnectionString: await azuriteForTests(),
    temporalAddress,
    taskQueue,
    container: `e2e-bigvalue-${randomBytes(4).toString('hex')}`,
    tables: [{ name: 'dbo.BigValue', capture: '{ strategy: rowversion, column: RowVer }' }],
  });
  dir = await mkdtemp(join(tmpdir(), 'tidemark-e2e-bigvalue-'));
  const configFile = join(dir, 'tidemark.yaml');
  await writeFile(configFile, yaml);
  deps = await buildDependencies(config, createLogger({ name: 'e2e-bigvalue', level: 'warn' }));
  connection = await Connection.connect({ address: temporalAddress });
  client = new Client({ connection });
  worker = await startWorkerProcess({ configFile, env, logFile: join(dir, 'worker.log') });
});

after(async () => {
  await connection?.close();
  await worker?.stop().catch(() => undefined);
  await deps?.close();
  await source?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('a row with an 8 MiB nvarchar(max) value loads on a worker under its heap cap, and the lake equals the source', async () => {
  assert.ok(worker);
  const started = (await readFile(worker.logFile, 'utf8')).split('\n').find((l) => l.includes('"worker started"'));
  const heapLimitMb = (JSON.parse(started ?? '{}') as { heapLimitMb?: number }).heapLimitMb ?? Infinity;
  assert.ok(
    heapLimitMb < WORKER_OLD_SPACE_MB * 1.5,
    `the worker runs under its cap (heap limit ${heapLimitMb} MiB, cap ${WORKER_OLD_SPACE_MB} MiB)`,
  );
  const input: ChunkedJobInput = {
    table: BIG,
    job: { kind: 'snapshot', reason: 'test: a large value under the heap cap' },
    firstSeq: 1,
    timeouts: { heartbeatSeconds: 30 },
  };
  const workflowId = jobWorkflowId(BIG.id, 'snapshot', `bigvalue-${randomBytes(3).toString('hex')}`);
  const handle = await client.workflow.start('snapshotWorkflow', { taskQueue, workflowId, args: [input] });
  const out = (await handle.result()) as JobOutput;
  assert.equal(out.rows, 3, 'the snapshot staged the three rows');
  const verified = await verifyTable(deps, BIG);
  assert.deepEqual(
    {
      ok: verified.ok,
      missing: verified.missingInLake,
      extra: verified.extraInLake,
      different: verified.different,
      duplicates: verified.duplicateEvents,
    },
    { ok: true, missing: 0, extra: 0, different: 0, duplicates: 0 },
  );
});
