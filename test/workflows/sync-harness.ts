/**
 * What the table-sync workflow tests share: a worker whose fake activities delegate to the current fake source
 * and lake (each test replaces them), polling helpers, and the manifest-chain check. On the time-skipping server
 * by default; on the test stack's dev server for what the time-skipping server does not model (it never tells a
 * parent that its child workflow was terminated).
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { NativeConnection, Worker } from '@temporalio/worker';
import { Client, Connection } from '@temporalio/client';
import type { WorkflowHandle, WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import type { TableSyncStatus } from '../../src/state/table-sync-state.js';
import { statusQuery } from '../../src/workflows/messages.js';
import { tableSyncWorkflow, tableSyncWorkflowId } from '../../src/workflows/index.js';
import { quietRuntime, timeSkippingEnv, WORKFLOWS_PATH } from '../support/temporal.js';
import { temporalForTests } from '../support/stack.js';
import { fakeActivities, type FakeLake, type FakeSource } from './fake-table-activities.js';

export interface SyncHarness {
  client: Client;
  /** Skips workflow time (time-skipping server only). */
  sleep(ms: number): Promise<void>;
  /** The fake source and lake of the test running now (replaced by `start`). */
  readonly source: FakeSource;
  readonly lake: FakeLake;
  /**
   * Resets source and lake (then lets `prepare` change the fresh source), and starts `Claims.dbo.<name>`'s sync
   * (cadence 60 s) with `extra` input.
   */
  start(
    name: string,
    extra?: Record<string, unknown>,
    prepare?: (source: FakeSource) => void,
  ): Promise<WorkflowHandleWithFirstExecutionRunId>;
  stop(): Promise<void>;
}

export async function startSyncHarness(
  taskQueue: string,
  server: 'time-skipping' | 'dev' = 'time-skipping',
): Promise<SyncHarness> {
  quietRuntime();
  const env = server === 'time-skipping' ? await timeSkippingEnv() : undefined;
  const address = env ? undefined : await temporalForTests();
  const connection = env ? undefined : await Connection.connect({ address });
  const nativeConnection = env ? env.nativeConnection : await NativeConnection.connect({ address });
  const client = env ? env.client : new Client({ connection });
  let source: FakeSource = freshSource();
  let lake: FakeLake = freshLake();
  const names = Object.keys(fakeActivities(source, lake)) as (keyof ReturnType<typeof fakeActivities>)[];
  const activities = Object.fromEntries(
    names.map((name) => [name, (input: never) => (fakeActivities(source, lake)[name] as (i: never) => unknown)(input)]),
  );
  const worker = await Worker.create({
    connection: nativeConnection,
    taskQueue,
    workflowsPath: WORKFLOWS_PATH,
    activities,
  });
  const running = worker.run();
  let previous: WorkflowHandle | undefined;
  return {
    client,
    sleep: (ms) => {
      if (!env) throw new Error('time skipping needs the time-skipping server');
      return env.sleep(ms);
    },
    get source() {
      return source;
    },
    get lake() {
      return lake;
    },
    async start(name, extra = {}, prepare) {
      // The previous test's workflow, terminated here too: a test that failed before its own terminate() would
      // otherwise keep writing into the next test's fake lake (the activities read the current `lake`).
      await previous?.terminate().catch(() => undefined);
      source = freshSource();
      lake = freshLake();
      prepare?.(source);
      const handle = await client.workflow.start(tableSyncWorkflow, {
        taskQueue,
        workflowId: tableSyncWorkflowId(`Claims.dbo.${name}`),
        args: [{ table: { id: `Claims.dbo.${name}`, strategy: 'cdc' }, cadenceSeconds: 60, ...extra }],
      });
      previous = handle;
      return handle;
    },
    async stop() {
      worker.shutdown();
      await running;
      if (env) await env.teardown();
      else {
        await connection?.close();
        await nativeConnection.close();
      }
    },
  };
}

const freshSource = (): FakeSource => ({ maxPosition: 10, minPosition: 0, snapshotRows: 300, snapshotChunks: 3 });
const freshLake = (): FakeLake => ({ manifests: new Map(), watermark: null, extractAttempts: [] });

/**
 * Polls (in real time) until `check` passes; the workflow runs on a worker in this process. Give every
 * `assert.ok` in `check` a message: without one, each failed poll makes Node's assert read this test file and
 * parse it (under tsx the call site's column is the compiled code's, so the parse retries down the file) — seconds
 * of the main thread per poll, on the thread the Temporal worker also runs on, so its workflow tasks time out and
 * the test hangs ('pause now' did, with one more test in its file).
 */
export async function eventually(check: () => Promise<void> | void, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(50);
    }
  }
}

export const status = (h: WorkflowHandle): Promise<TableSyncStatus> => h.query(statusQuery);

/** Manifests must form a chain: dense sequence numbers, each changes window starting where the last ended. */
export function assertManifestChain(lake: FakeLake): void {
  const seqs = [...lake.manifests.keys()].sort((a, b) => a - b);
  assert.deepEqual(
    seqs,
    Array.from({ length: seqs.length }, (_, i) => i + 1),
    'dense sequence numbers',
  );
  let last: string | null = null;
  for (const seq of seqs) {
    const m = lake.manifests.get(seq)!;
    if (m.kind === 'changes') assert.equal(m.from, last, `window ${seq} starts where the previous ended`);
    last = m.resume ?? m.to;
  }
}
