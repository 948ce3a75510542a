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
import { readFile } from 'node:fs/promises';
import type { JobOutput } from '../../src/domain/jobs.js';
import type { TableRef } from '../../src/domain/table.js';
import { verifyTable } from '../../src/verify/verify-table.js';
import type { ChunkedJobInput } from '../../src/workflows/chunked-jobs.js';
import { jobWorkflowId } from '../../src/workflows/chunked-jobs.js';
import { WORKER_OLD_SPACE_MB } from '../../src/worker-heap.js';
import { startClaimsSource, type ClaimsSource } from '../../scripts/demo/harness.js';
import { startProcessWorkers, type ProcessWorkers } from './support/process-workers.js';

const BIG: TableRef = { id: 'Claims.dbo.BigValue', strategy: 'rowversion' };
/** Characters of the large value: 4M UTF-16 code units, 8 MiB as the driver receives it. */
const BIG_CHARS = 4 * 1024 * 1024;

let source: ClaimsSource;
let stack: ProcessWorkers | undefined;

before(async () => {
  source = await startClaimsSource({ workload: { rate: 0, longTransactionMs: 50, addColumnAt: [], widenAt: 1e6 } });
  await source.admin.request().batch(`CREATE TABLE dbo.BigValue (id int NOT NULL PRIMARY KEY, body nvarchar(max) NULL,
      RowVer rowversion);
    INSERT INTO dbo.BigValue (id, body) VALUES (1, N'small'), (3, NULL);
    INSERT INTO dbo.BigValue (id, body) VALUES (2, REPLICATE(CAST(N'ž' AS nvarchar(max)), ${BIG_CHARS}));`);
  stack = await startProcessWorkers(
    source,
    'e2e-bigvalue',
    [{ name: 'dbo.BigValue', capture: '{ strategy: rowversion, column: RowVer }' }],
    [{ name: 'worker' }],
  );
});

after(async () => {
  await stack?.close();
  await source?.stop();
});

test('a row with an 8 MiB nvarchar(max) value loads on a worker under its heap cap, and the lake equals the source', async () => {
  assert.ok(stack);
  const { client, taskQueue, deps, workers } = stack;
  const worker = workers[0]!;
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
