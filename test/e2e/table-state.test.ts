/**
 * Tables that used to stop forever, silently (issue 12, items 3, 4 and 7), on the real stack: simulator → a real
 * worker in this process → Temporal dev server → Azurite, driven by the `tidemark` verbs.
 *
 * - a table the source does not have, and a PHI `hash` on a key column: the table stops with its reason,
 *   `start --wait` exits 3 at once, `resume` says what is wrong (the workflow used to FAIL with no note);
 * - a backfill whose query fails in SQL Server for good (error 241, a conversion failure): the job ends failed
 *   with its reason and the table goes on syncing (it used to retry forever, and the table committed nothing);
 * - a window read throttled to 15 rows/s for longer than the heartbeat timeout completes (every attempt used to
 *   hit the heartbeat timeout, retried forever).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type WorkflowHandle } from '@temporalio/client';
import type { TableRef } from '../../src/domain/table.js';
import type { TableSyncStatus } from '../../src/state/table-sync-state.js';
import { statusQuery, syncNowSignal } from '../../src/workflows/messages.js';
import { tableSyncWorkflow, tableSyncWorkflowId } from '../../src/workflows/table-sync.js';
import { verifyTable } from '../../src/verify/verify-table.js';
import { startPipelineWorker, type PipelineWorker } from './support/pipeline-worker.js';
import { runTidemark, terminateTableSyncs } from './support/pipeline-helpers.js';
import { startClaimsSource, waitUntilVerified, type ClaimsSource } from '../../scripts/demo/harness.js';
import { eventually } from '../support/eventually.js';

const MISSING: TableRef = { id: 'Claims.dbo.NoSuchTable', strategy: 'cdc' };
const MEMBERS: TableRef = { id: 'Claims.dbo.Members', strategy: 'rowversion' };
const VISITS: TableRef = { id: 'Claims.dbo.Visits', strategy: 'identity' };
const SLOW: TableRef = { id: 'Claims.dbo.Slow', strategy: 'identity' };

let source: ClaimsSource;
let p: PipelineWorker;

before(async () => {
  source = await startClaimsSource({
    workload: { rate: 0, longTransactionMs: 50, addColumnAt: [], widenAt: 1_000_000 },
  });
  const values = (n: number, row: (i: number) => string) => Array.from({ length: n }, (_v, i) => row(i)).join(', ');
  await source.admin.request().batch(`
    CREATE TABLE dbo.Members (MemberSsn varchar(11) NOT NULL PRIMARY KEY, Name nvarchar(40) NULL, RowVer rowversion);
    INSERT INTO dbo.Members (MemberSsn, Name) VALUES ('000-00-0001', N'a'), ('000-00-0002', N'b');
    CREATE TABLE dbo.Visits (id int IDENTITY(1,1) NOT NULL PRIMARY KEY, visited varchar(20) NULL);
    INSERT INTO dbo.Visits (visited) VALUES ('2026-01-05'), ('not a date'), ('2026-01-20');
    CREATE TABLE dbo.Slow (id bigint IDENTITY(1,1) NOT NULL PRIMARY KEY, note varchar(20) NULL);
    INSERT INTO dbo.Slow (note) VALUES ${values(5, (i) => `('s${i}')`)};`);
  p = await startPipelineWorker(source, 'e2e-state', [
    { name: 'dbo.NoSuchTable', capture: '{ strategy: cdc }' },
    // No `key:` in the config: config check cannot see that MemberSsn is the key; the worker can.
    {
      name: 'dbo.Members',
      capture: '{ strategy: rowversion, column: RowVer }',
      phi: '[{ columns: [MemberSsn], action: hash }]',
    },
    { name: 'dbo.Visits', capture: '{ strategy: identity, column: id }', businessDateColumn: 'visited' },
    { name: 'dbo.Slow', capture: '{ strategy: identity, column: id }', limits: '{ maxRowsPerSecond: 15 }' },
  ]);
  Object.assign(process.env, p.env);
});

after(async () => {
  if (p) await terminateTableSyncs(p.client, [MISSING, MEMBERS, VISITS, SLOW]);
  await p?.close();
  await source?.stop();
});

const tidemark = (...args: string[]) => runTidemark(p.configFile, p.dir, args);
const status = (t: TableRef): Promise<TableSyncStatus> =>
  p.client.workflow.getHandle(tableSyncWorkflowId(t.id)).query(statusQuery);

test(
  'a table that does not exist, and a PHI hash on a key column: stopped with the reason; start --wait exits 3 at once',
  { timeout: 180_000 },
  async () => {
    // (The config passed validation — pipelineConfig parses it: without `key:`, config check cannot see that
    // MemberSsn is the key. With `key: [MemberSsn]` config check refuses it by the same rule: unit tests.)
    for (const [table, reason] of [
      [MISSING, /NoSuchTable: the table does not exist or is not visible to this login/],
      [MEMBERS, /MemberSsn is a key column and cannot be hashed/],
    ] as const) {
      const name = table.id.split('.').slice(1).join('.');
      const t0 = Date.now();
      const r = await tidemark('start', '--table', name, '--wait');
      assert.equal(r.code, 3, r.err);
      assert.match(r.err, reason);
      assert.ok(Date.now() - t0 < 60_000, 'start --wait returned instead of spinning');
      const s = await status(table);
      assert.equal(s.mode, 'stopped');
      assert.match(s.stoppedReason ?? '', /^ConfigError: /);
      assert.match(s.stoppedReason ?? '', reason);
      assert.equal(
        (await p.client.workflow.getHandle(tableSyncWorkflowId(table.id)).describe()).status.name,
        'RUNNING',
      );

      const resumed = await tidemark('resume', '--table', name);
      assert.equal(resumed.code, 0, resumed.err);
      assert.match(resumed.out, reason, 'resume says what is wrong');
      assert.doesNotMatch(resumed.err, /command failed unexpectedly/);
    }
  },
);

test(
  'a backfill that fails in SQL Server for good (241) ends failed with its reason; the table goes on syncing',
  { timeout: 180_000 },
  async () => {
    assert.equal((await tidemark('start', '--table', 'dbo.Visits', '--wait')).code, 0);
    const refused = await tidemark('backfill', '--table', 'dbo.Visits', '--from', '2026-02-30', '--to', '2026-03-01');
    assert.equal(refused.code, 2, 'a day that does not exist is refused before anything starts');

    // `visited` is varchar: comparing it with a date converts every value, and 'not a date' fails (Msg 241).
    const r = await tidemark('backfill', '--table', 'dbo.Visits', '--from', '2026-01-01', '--to', '2026-02-01');
    assert.equal(r.code, 1, r.err);
    assert.match(r.err, /backfill failed — SourceQueryError: Source query 'chunk\.read' failed \(SQL Server error 241/);
    assert.doesNotMatch(r.err, /not a date/, 'no row value in the message');
    const s = await status(VISITS);
    assert.equal(s.mode, 'running');
    assert.equal(s.jobs.at(-1)?.kind, 'backfill');
    assert.equal(s.jobs.at(-1)?.state, 'failed');

    await source.admin.request().batch(`INSERT INTO dbo.Visits (visited) VALUES ('2026-02-02')`);
    const v = await waitUntilVerified(p.deps, p.client, VISITS, { timeoutMs: 120_000 });
    assert.equal(v.ok, true, 'the table kept syncing after the failed job');
    assert.equal(v.sourceRows, 4);
  },
);

test(
  'a window read throttled to 15 rows/s for longer than the heartbeat timeout completes',
  { timeout: 180_000 },
  async () => {
    // Started here (not by `tidemark start`) to give it a 2 s heartbeat timeout: a read of 120 rows at 15 rows/s
    // sleeps ~7 s in the throttle, and before the fix no heartbeat came in between.
    const handle: WorkflowHandle = await p.client.workflow.start(tableSyncWorkflow, {
      taskQueue: p.deps.config.temporal.taskQueue,
      workflowId: tableSyncWorkflowId(SLOW.id),
      args: [{ table: SLOW, cadenceSeconds: 600, timeouts: { heartbeatSeconds: 2 } }],
    });
    await eventually(async () => assert.notEqual((await status(SLOW)).position, null), 60_000);
    await source.admin
      .request()
      .batch(`INSERT INTO dbo.Slow (note) VALUES ${Array.from({ length: 120 }, (_v, i) => `('n${i}')`).join(', ')}`);
    const t0 = Date.now();
    await handle.signal(syncNowSignal);
    await eventually(async () => assert.equal((await status(SLOW)).rowsCommitted, 125), 90_000);
    assert.ok(Date.now() - t0 > 4000, 'the read really was throttled past the heartbeat timeout');
    const v = await verifyTable(p.deps, SLOW);
    assert.deepEqual([v.ok, v.sourceRows, v.duplicateEvents], [true, 125, 0]);
  },
);
