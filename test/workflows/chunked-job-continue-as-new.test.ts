/**
 * A chunked job continues as new (issue 14: a 2.8B-row snapshot is ~5,600 chunks, past Temporal's history limit
 * in one run): on the time-skipping server with fake activities, a snapshot of 10 chunks in runs of at most 3
 * chunks, its chunks finishing out of order in 4 lanes. The job must run and commit every chunk exactly once, in
 * chunk order, with dense sequence numbers across the runs, and report the whole job's counts at the end.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { temporal } from '@temporalio/proto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { snapshotWorkflow } from '../../src/workflows/index.js';
import { jobProgressQuery } from '../../src/workflows/messages.js';
import type { FakeLake, FakeSource } from './fake-table-activities.js';
import { startFakeJobWorker, type FakeJobWorker } from './fake-job-worker.js';

const taskQueue = 'chunked-job-continue-as-new-test';
const CHUNKS = 10;
let env: TestWorkflowEnvironment;
let jobWorker: FakeJobWorker;
const source: FakeSource = { maxPosition: 10, minPosition: 0, snapshotRows: 1000, snapshotChunks: CHUNKS };
const lake: FakeLake = { manifests: new Map(), watermark: null, extractAttempts: [] };
/** Every commitManifest call, in call order: the window's sequence number and its chunk's key range. */
const commits: { seq: number; keyRange: string }[] = [];

before(async () => {
  jobWorker = await startFakeJobWorker({
    taskQueue,
    source,
    lake,
    override: (acts) => ({
      // Earlier chunks take longer (real time), so lanes finish out of chunk order and commits must wait.
      runChunk: async (input: Parameters<typeof acts.runChunk>[0]) => {
        await sleep((4 - (input.chunk.index % 4)) * 30);
        return acts.runChunk(input);
      },
      commitManifest: (input: Parameters<typeof acts.commitManifest>[0]) => {
        const k = input.window.keyRange;
        commits.push({ seq: input.window.seq, keyRange: `${k?.after ?? null}..${k?.upTo ?? null}` });
        return acts.commitManifest(input);
      },
    }),
  });
  env = jobWorker.env;
});

after(() => jobWorker.stop());

test('a snapshot job continues as new every few chunks and still commits every chunk exactly once, in order', async () => {
  const firstSeq = 7;
  const handle = await env.client.workflow.start(snapshotWorkflow, {
    taskQueue,
    workflowId: 'snapshot/Claims.dbo.Long/can-1',
    args: [
      {
        table: { id: 'Claims.dbo.Long', strategy: 'cdc' },
        job: { kind: 'snapshot', reason: 'test' },
        firstSeq,
        maxChunksPerRun: 3,
      },
    ],
  });
  const out = await handle.result();

  // The runs: each but the last ended in continue-as-new, and none ran more than 3 chunks.
  const runs: { runChunks: number; continued: boolean; planned: boolean }[] = [];
  for (let runId: string | undefined = handle.firstExecutionRunId; runId;) {
    const history: temporal.api.history.v1.IHistory = await env.client.workflow
      .getHandle(handle.workflowId, runId)
      .fetchHistory();
    const events = history.events ?? [];
    const types = events.map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name);
    const next: string | undefined =
      events.at(-1)?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? undefined;
    runs.push({
      runChunks: types.filter((t) => t === 'runChunk').length,
      continued: next !== undefined,
      planned: types.includes('planChunks'),
    });
    runId = next;
  }
  assert.deepEqual(runs, [
    { runChunks: 3, continued: true, planned: true },
    { runChunks: 3, continued: true, planned: false },
    { runChunks: 3, continued: true, planned: false },
    { runChunks: 1, continued: false, planned: false },
  ]);

  // Every chunk read once and committed once, in chunk order, with dense sequence numbers.
  const ranges = Array.from({ length: CHUNKS }, (_v, i) => `${i === 0 ? null : i}..${i === CHUNKS - 1 ? null : i + 1}`);
  assert.deepEqual(
    lake.extractAttempts.map((a) => a.chunk).sort((a, b) => a! - b!),
    Array.from({ length: CHUNKS }, (_v, i) => i),
  );
  assert.deepEqual(
    commits,
    ranges.map((keyRange, i) => ({ seq: firstSeq + i, keyRange })),
  );
  assert.deepEqual(
    [...lake.manifests.entries()].sort(([a], [b]) => a - b).map(([seq, m]) => [seq, m.keyRange, m.rows]),
    ranges.map((r, i) => [firstSeq + i, r, 100]),
  );

  // The job's output and progress cover all runs, not only the last.
  assert.deepEqual(
    { chunks: out.chunks, windows: out.windows, rows: out.rows, read: out.sourceRowsRead, lastSeq: out.lastSeq },
    { chunks: CHUNKS, windows: CHUNKS, rows: 1000, read: 1000, lastSeq: firstSeq + CHUNKS - 1 },
  );
  assert.equal(out.lastManifestPath, `_manifests/${firstSeq + CHUNKS - 1}.json`);
  assert.deepEqual(await handle.query(jobProgressQuery), {
    kind: 'snapshot',
    chunks: CHUNKS,
    chunksDone: CHUNKS,
    windows: CHUNKS,
    rows: 1000,
    sourceRowsRead: 1000,
  });
});
