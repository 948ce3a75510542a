import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { jobProgressQuery, type JobProgress } from '../../src/workflows/messages.js';
import { backfillWorkflow } from '../../src/workflows/index.js';
import { eventually as until } from '../support/eventually.js';
import { startFakeJobWorker, type FakeJobWorker } from './fake-job-worker.js';

const taskQueue = 'chunked-jobs-progress-test';
let env: TestWorkflowEnvironment;
let jobWorker: FakeJobWorker;
let release: () => void = () => undefined;
const gate = new Promise<void>((r) => (release = r));

before(async () => {
  jobWorker = await startFakeJobWorker({
    taskQueue,
    source: { maxPosition: 10, minPosition: 0, snapshotRows: 300, snapshotChunks: 3, jobChunks: 3 },
    lake: { manifests: new Map(), watermark: null, extractAttempts: [] },
    override: (acts) => ({
      // Chunk 0 finishes at once; the others wait for the test, so the job is held half-way.
      runChunk: async (input: Parameters<typeof acts.runChunk>[0]) => {
        if (input.chunk.index > 0) await gate;
        return acts.runChunk(input);
      },
    }),
  });
  env = jobWorker.env;
});

after(() => jobWorker.stop());

/** `eventually` of test/support, polling every 50 ms for 20 s (the time-skipping server answers at once). */
const eventually = (check: () => Promise<void>) => until(check, 20_000, 50);

test('a chunked job answers the progress query with chunks planned and done and rows (counts only)', async () => {
  const h = await env.client.workflow.start(backfillWorkflow, {
    taskQueue,
    workflowId: 'backfill/Claims.dbo.Progress/p-1',
    args: [
      {
        table: { id: 'Claims.dbo.Progress', strategy: 'cdc' },
        job: { kind: 'backfill', from: 'a', to: 'b' },
        firstSeq: 1,
      },
    ],
  });
  await eventually(async () => {
    const p: JobProgress = await h.query(jobProgressQuery);
    assert.deepEqual(p, { kind: 'backfill', chunks: 3, chunksDone: 1, windows: 1, rows: 100, sourceRowsRead: 100 });
  });
  release();
  const result = await h.result();
  assert.equal(result.chunks, 3);
  assert.deepEqual(await h.query(jobProgressQuery), {
    kind: 'backfill',
    chunks: 3,
    chunksDone: 3,
    windows: 3,
    rows: 300,
    sourceRowsRead: 300,
  });
});
