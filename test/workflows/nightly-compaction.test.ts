/**
 * The nightly workflow's compaction step on the time-skipping server: with `compaction` in its input (what
 * `tidemark schedules` now passes) it runs the `compactTable` activity for its table and returns what it did;
 * without it (schedules made before compaction existed) it runs none. The activity is a fake that records its
 * input: what the activity itself does is tested against Azurite (test/integration/lake/delta-compaction.test.ts).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { nightlyJobsWorkflow } from '../../src/workflows/index.js';
import type { CompactTableInput, CompactTableOutput } from '../../src/activities/contracts.js';
import { timeSkippingEnv, WORKFLOWS_PATH } from '../support/temporal.js';

const taskQueue = 'nightly-compaction-test';
let env: TestWorkflowEnvironment;
let worker: Worker;
let running: Promise<void>;
const calls: CompactTableInput[] = [];
const OUTPUT: CompactTableOutput = {
  days: [
    {
      commitDate: '2025-11-24',
      status: 'compacted',
      version: 13,
      filesBefore: 12,
      filesAfter: 1,
      bytesBefore: 22_487,
      bytesAfter: 2_666,
      rows: 24,
      durationMs: 5,
    },
  ],
  filesRemoved: 12,
  filesAdded: 1,
  bytesBefore: 22_487,
  bytesAfter: 2_666,
  durationMs: 6,
};

before(async () => {
  env = await timeSkippingEnv();
  worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowsPath: WORKFLOWS_PATH,
    activities: {
      compactTable: (input: CompactTableInput): Promise<CompactTableOutput> => {
        calls.push(input);
        return Promise.resolve(OUTPUT);
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

test('the nightly run compacts its table when the schedule asks for it, and reports what the compaction did', async () => {
  const out = await env.client.workflow.execute(nightlyJobsWorkflow, {
    taskQueue,
    workflowId: 'nightly-run/Claims.dbo.Claims/t1',
    args: [{ tableId: 'Claims.dbo.Claims', jobs: [], compaction: { targetFileBytes: 1024 } }],
  });
  assert.deepEqual(out, { requested: [], compaction: OUTPUT });
  assert.deepEqual(calls, [{ table: { id: 'Claims.dbo.Claims' }, targetFileBytes: 1024 }]);
});

test('a schedule made before compaction existed (no `compaction` in its input) runs no compaction', async () => {
  calls.length = 0;
  const out = await env.client.workflow.execute(nightlyJobsWorkflow, {
    taskQueue,
    workflowId: 'nightly-run/Claims.dbo.Claims/t2',
    args: [{ tableId: 'Claims.dbo.Claims', jobs: [] }],
  });
  assert.deepEqual(out, { requested: [] });
  assert.deepEqual(calls, []);
});
