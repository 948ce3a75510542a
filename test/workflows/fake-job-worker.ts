/**
 * What the chunked-job workflow tests share: the time-skipping server and one worker on `taskQueue` running the
 * workflows with the fake table activities (fake-table-activities.ts) over a fake source and lake, some of them
 * replaced by the test (`override`: a chunk held by a gate, commits recorded, chunks finishing out of order).
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { timeSkippingEnv, WORKFLOWS_PATH } from '../support/temporal.js';
import { fakeActivities, type FakeLake, type FakeSource } from './fake-table-activities.js';

export type FakeActivities = ReturnType<typeof fakeActivities>;

export interface FakeJobWorker {
  readonly env: TestWorkflowEnvironment;
  /** Stops the worker and the server. */
  stop(): Promise<void>;
}

export async function startFakeJobWorker(o: {
  taskQueue: string;
  source: FakeSource;
  lake: FakeLake;
  override?: (acts: FakeActivities) => Partial<FakeActivities>;
}): Promise<FakeJobWorker> {
  const env = await timeSkippingEnv();
  const acts = fakeActivities(o.source, o.lake);
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue: o.taskQueue,
    workflowsPath: WORKFLOWS_PATH,
    activities: { ...acts, ...o.override?.(acts) },
  });
  const running = worker.run();
  return {
    env,
    async stop() {
      worker.shutdown();
      await running;
      await env.teardown();
    },
  };
}
