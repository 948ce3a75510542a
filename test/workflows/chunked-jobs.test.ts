/**
 * The chunked-job workflows on the time-skipping server with fake activities: what a sweep reports (chunks
 * compared, chunks that differed and were re-extracted, rows read), and that the nightly workflow asks the
 * table's sync for its jobs in order.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { lateUpdateSweepWorkflow } from '../../src/workflows/index.js';
import type { FakeLake, FakeSource } from './fake-table-activities.js';
import { startFakeJobWorker, type FakeJobWorker } from './fake-job-worker.js';

const taskQueue = 'chunked-jobs-test';
let env: TestWorkflowEnvironment;
let jobWorker: FakeJobWorker;
const source: FakeSource = {
  maxPosition: 10,
  minPosition: 0,
  snapshotRows: 300,
  snapshotChunks: 3,
  jobChunks: 4,
  unchangedChunks: new Set([0, 2]),
};
const lake: FakeLake = { manifests: new Map(), watermark: null, extractAttempts: [] };

before(async () => {
  jobWorker = await startFakeJobWorker({ taskQueue, source, lake });
  env = jobWorker.env;
});

after(() => jobWorker.stop());

test('a sweep reports chunks compared and re-extracted, and commits only the differing chunks', async () => {
  const out = await env.client.workflow.execute(lateUpdateSweepWorkflow, {
    taskQueue,
    workflowId: 'sweep/Claims.dbo.Notes/t1',
    args: [{ table: { id: 'Claims.dbo.Notes', strategy: 'identity' }, job: { kind: 'sweep', days: 30 }, firstSeq: 5 }],
  });
  assert.deepEqual(
    {
      chunks: out.chunks,
      compared: out.chunksCompared,
      reextracted: out.chunksReextracted,
      windows: out.windows,
      lastSeq: out.lastSeq,
    },
    { chunks: 4, compared: 4, reextracted: 2, windows: 2, lastSeq: 6 },
  );
  assert.equal(out.sourceRowsRead, 4 * 75, 'every chunk read (compared)');
  assert.deepEqual(
    [...lake.manifests.values()].map((m) => m.kind),
    ['sweep', 'sweep'],
  );
});
