import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { jobProgressQuery, type JobProgress } from '../../src/workflows/messages.js';
import { backfillWorkflow } from '../../src/workflows/index.js';
import { timeSkippingEnv, WORKFLOWS_PATH } from '../support/temporal.js';
import { fakeActivities, type FakeLake, type FakeSource } from './fake-table-activities.js';

const taskQueue = 'chunked-jobs-progress-test';
let env: TestWorkflowEnvironment;
let worker: Worker;
let running: Promise<void>;
let release: () => void = () => undefined;
const gate = new Promise<void>((r) => (release = r));

before(async () => {
  env = await timeSkippingEnv();
  const source: FakeSource = { maxPosition: 10, minPosition: 0, snapshotRows: 300, snapshotChunks: 3, jobChunks: 3 };
  const lake: FakeLake = { manifests: new Map(), watermark: null, extractAttempts: [] };
  const acts = fakeActivities(source, lake);
  worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowsPath: WORKFLOWS_PATH,
    activities: {
      ...acts,
      // Chunk 0 finishes at once; the others wait for the test, so the job is held half-way.
      runChunk: async (input: Parameters<typeof acts.runChunk>[0]) => {
        if (input.chunk.index > 0) await gate;
        return acts.runChunk(input);
      },
    },
  });
  running = worker.run();
});

after(async () => {
  worker.shutdown();
  await running;
  await env.teardown();
});

async function eventually(check: () => Promise<void>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(50);
    }
  }
}

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
