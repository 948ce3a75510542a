/**
 * A snapshot's chunks fan out over two worker processes, and one of them is SIGKILLed while it reads a chunk
 * (issue 14): the chunk is retried on the other worker, every chunk commits once, in chunk order, and the lake's
 * latest state equals the source with no duplicate (key, position).
 *
 * Real parts: the simulator, Tidemark workers as their own OS processes (`src/worker.ts`), the Temporal dev
 * server, Azurite. Each chunk is read under `limits.maxChunkRowsPerSecond`, so it takes seconds (time to kill a
 * worker in the middle of one); the heartbeat timeout is 3 s so the killed attempt is retried quickly.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { randomBytes } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { ActivityDeps } from '../../src/activities/index.js';
import { tableContext } from '../../src/capture/table-context.js';
import type { JobOutput } from '../../src/domain/jobs.js';
import type { TableRef } from '../../src/domain/table.js';
import { verifyTable } from '../../src/verify/verify-table.js';
import type { ChunkedJobInput } from '../../src/workflows/chunked-jobs.js';
import { jobWorkflowId } from '../../src/workflows/chunked-jobs.js';
import { startClaimsSource, type ClaimsSource } from '../../scripts/demo/harness.js';
import { lakeIntegrity } from '../../scripts/chaos/checks.js';
import { eventually } from '../support/eventually.js';
import { startProcessWorkers, type ProcessWorkers } from './support/process-workers.js';
import type { WorkerProcess } from './support/worker-process.js';

const FANOUT: TableRef = { id: 'Claims.dbo.Fanout', strategy: 'rowversion' };
const ROWS = 12_000;
const CHUNK_ROWS = 2_000;
/** Each 2,000-row chunk takes about 4 s at this cap (one second's worth passes at once). */
const CHUNK_ROWS_PER_SECOND = 400;

let source: ClaimsSource;
let stack: ProcessWorkers | undefined;
let deps: ActivityDeps;
let client: Client;
let taskQueue: string;
let workers: WorkerProcess[];

before(async () => {
  source = await startClaimsSource({ workload: { rate: 0, longTransactionMs: 50, addColumnAt: [], widenAt: 1e6 } });
  await source.admin
    .request()
    .batch('CREATE TABLE dbo.Fanout (id int NOT NULL PRIMARY KEY, note varchar(20) NULL, RowVer rowversion)');
  for (let from = 1; from <= ROWS; from += 1000)
    await source.admin
      .request()
      .batch(
        `INSERT INTO dbo.Fanout (id, note) VALUES ${Array.from({ length: 1000 }, (_v, i) => `(${from + i}, 'n${from + i}')`).join(', ')}`,
      );
  stack = await startProcessWorkers(
    source,
    'e2e-fanout',
    [
      {
        name: 'dbo.Fanout',
        capture: '{ strategy: rowversion, column: RowVer }',
        limits: `{ maxChunkRowsPerSecond: ${CHUNK_ROWS_PER_SECOND} }`,
      },
    ],
    [
      { name: 'worker-a', activityConcurrency: 2 },
      { name: 'worker-b', activityConcurrency: 2 },
    ],
  );
  ({ deps, client, taskQueue, workers } = stack);
});

after(async () => {
  await stack?.close();
  await source?.stop();
});

interface ChunkRun {
  identity: string;
  attempt: number;
}

/** The runChunk attempts the job's history records as started: which worker, which attempt. */
async function chunkRuns(workflowId: string): Promise<ChunkRun[]> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const types = new Map<string, string>();
  const out: ChunkRun[] = [];
  for (const e of history.events ?? []) {
    const scheduled = e.activityTaskScheduledEventAttributes;
    if (scheduled) types.set(String(e.eventId), scheduled.activityType?.name ?? '');
    const started = e.activityTaskStartedEventAttributes;
    if (started && types.get(String(started.scheduledEventId)) === 'runChunk')
      out.push({ identity: started.identity ?? '', attempt: started.attempt ?? 1 });
  }
  return out;
}

test('a multi-chunk snapshot on two workers, one killed mid-chunk: every chunk lands once, lake == source', async () => {
  const [workerA, workerB] = workers;
  assert.ok(workerA && workerB);
  const workflowId = jobWorkflowId(FANOUT.id, 'snapshot', `fanout-${randomBytes(3).toString('hex')}`);
  const input: ChunkedJobInput = {
    table: FANOUT,
    job: { kind: 'snapshot', reason: 'test: fan-out with a killed worker' },
    firstSeq: 1,
    chunkRows: CHUNK_ROWS,
    timeouts: { heartbeatSeconds: 3 },
  };
  const handle = await client.workflow.start('snapshotWorkflow', { taskQueue, workflowId, args: [input] });
  // The chunks fan out: each worker is in the middle of one (its attempt started, still reading under the cap).
  await eventually(async () => {
    const pending = (await handle.describe()).raw.pendingActivities ?? [];
    const runningOn = (w: WorkerProcess) =>
      pending.some((a) => a.activityType?.name === 'runChunk' && a.lastWorkerIdentity === w.identity);
    assert.ok(runningOn(workerA) && runningOn(workerB), 'both workers run a chunk');
  }, 120_000);
  await workerA.kill();

  const out = (await handle.result()) as JobOutput;
  const chunks = ROWS / CHUNK_ROWS;
  assert.deepEqual(
    { chunks: out.chunks, windows: out.windows, rows: out.rows, lastSeq: out.lastSeq },
    { chunks, windows: chunks, rows: ROWS, lastSeq: chunks },
    'every chunk committed once, as one window each',
  );
  const runs = await chunkRuns(workflowId);
  // (History records a chunk's started event once, with the attempt that finished it: worker A's killed attempt
  // shows as a later attempt on worker B.)
  assert.ok(
    runs.some((r) => r.identity === workerB.identity && r.attempt >= 2),
    `the killed chunk was retried on worker B: ${JSON.stringify(runs)}`,
  );

  const verified = await verifyTable(deps, FANOUT);
  assert.deepEqual(
    {
      ok: verified.ok,
      sourceRows: verified.sourceRows,
      missing: verified.missingInLake,
      extra: verified.extraInLake,
      different: verified.different,
      duplicates: verified.duplicateEvents,
    },
    { ok: true, sourceRows: ROWS, missing: 0, extra: 0, different: 0, duplicates: 0 },
  );
  const integrity = await lakeIntegrity((await tableContext(deps, FANOUT)).lake);
  assert.deepEqual(
    { manifests: integrity.manifests, chain: integrity.chainProblems, files: integrity.fileProblems },
    { manifests: chunks, chain: [], files: [] },
  );
});
