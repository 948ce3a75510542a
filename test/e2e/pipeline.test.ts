/**
 * End to end on the real stack: the simulator with the claims workload → a real worker in this process →
 * the Temporal dev server → Azurite. For CDC (dbo.Claims, with PHI hashed and dropped) and rowversion
 * (dbo.ClaimPayments) and Change Tracking (dbo.Providers): the tables are started with `tidemark start`, snapshot, then sync windows while the
 * workload inserts, updates and deletes; after each phase the lake's latest state equals the source table
 * exactly (every column, every type) with no duplicate (key, position).
 *
 * Cadence is the real 1 minute; to keep the test short a caught-up table is woken with pause + resume
 * signals (the workflow's own messages — no test-only code path in the workflow).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { Client, Connection } from '@temporalio/client';
import { startWorker, type RunningWorker } from '../../src/worker.js';
import { buildDependencies, type ActivityDeps } from '../../src/activities/index.js';
import type { TableRef } from '../../src/domain/table.js';
import { main as cli } from '../../src/cli/main.js';
import { createLogger } from '../../src/util/logger.js';
import { tableSyncWorkflowId } from '../../src/workflows/table-sync.js';
import { azuriteForTests, temporalForTests } from '../support/stack.js';
import {
  CLAIMS_PIPELINE_TABLES,
  pipelineConfig,
  startClaimsSource,
  waitUntilVerified,
  type ClaimsSource,
} from '../../scripts/demo/harness.js';
import { assertTablesConverge, runTidemark, terminateTableSyncs } from './support/pipeline-helpers.js';
import { tableContext } from '../../src/capture/table-context.js';
import { latestStates } from '../support/delta-latest.js';
import { DeltaLogPaths } from '../../src/lake/delta/log-paths.js';
import { highestPublishedVersion } from '../../src/lake/delta/publish.js';
import { liveFiles } from '../../src/lake/delta/live-files.js';

const TABLES: TableRef[] = [
  { id: 'Claims.dbo.Claims', strategy: 'cdc' },
  { id: 'Claims.dbo.ClaimPayments', strategy: 'rowversion' },
  { id: 'Claims.dbo.Providers', strategy: 'change_tracking' },
];

let source: ClaimsSource;
let worker: RunningWorker;
let deps: ActivityDeps;
let connection: Connection;
let client: Client;
let dir: string;
let container: string;
let azurite: string;

before(async () => {
  source = await startClaimsSource({
    cdcPollMs: 500,
    workload: { rate: 0, longTransactionMs: 200, addColumnAt: [], widenAt: 1_000_000 },
  });
  await source.workload.run({ operations: 150 });
  await source.workload.drain();
  const temporalAddress = await temporalForTests();
  azurite = await azuriteForTests();
  container = `e2e-${randomBytes(4).toString('hex')}`;
  const { yaml, env, config } = pipelineConfig({
    sourcePort: source.sim.port,
    azuriteConnectionString: azurite,
    temporalAddress,
    taskQueue: `e2e-${randomBytes(4).toString('hex')}`,
    container,
    tables: [CLAIMS_PIPELINE_TABLES.cdc!, CLAIMS_PIPELINE_TABLES.rowversion!, CLAIMS_PIPELINE_TABLES.change_tracking!],
  });
  dir = await mkdtemp(join(tmpdir(), 'tidemark-e2e-'));
  await writeFile(join(dir, 'tidemark.yaml'), yaml);
  Object.assign(process.env, env);
  const logger = createLogger({ name: 'e2e', level: 'warn' });
  deps = await buildDependencies(config, logger);
  worker = await startWorker({ config, logger, deps, shutdownGraceTime: '2s' });
  connection = await Connection.connect({ address: temporalAddress });
  client = new Client({ connection });
  const out = new PassThrough();
  const io = { stdout: out, stderr: out, env: process.env, cwd: dir };
  const code = await cli(['start', '--config', join(dir, 'tidemark.yaml')], io);
  assert.equal(code, 0);
});

after(async () => {
  await terminateTableSyncs(client, TABLES);
  await connection?.close();
  await worker?.stop();
  await deps?.close();
  await source?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const assertConverges = (phase: string) => assertTablesConverge(deps, client, TABLES, phase, 120_000);

test('snapshot, then live windows with inserts, updates and deletes: the lake equals the source', async () => {
  await assertConverges('after the snapshot');
  await source.workload.run({ operations: 200 });
  // A few deletes CDC must carry as tombstones (the workload's own delete rate is tiny).
  await source.admin.request().batch('DELETE TOP (3) FROM dbo.ClaimLines; DELETE TOP (2) FROM dbo.Claims');
  await source.workload.run({ operations: 100 });
  await source.workload.drain();
  await assertConverges('after live changes');
  const status = await client.workflow.getHandle(tableSyncWorkflowId(TABLES[0]!.id)).query('status');
  assert.ok((status as { windowsCommitted: number }).windowsCommitted >= 2);
});

const tidemark = (...args: string[]) => runTidemark(join(dir, 'tidemark.yaml'), dir, args);

test('tidemark verify agrees; a 14-day backfill run twice during live changes keeps the latest state equal to the source', async () => {
  await assertConverges('before the backfill');
  const v = await tidemark('verify', '--table', 'dbo.ClaimPayments');
  assert.equal(v.code, 0, v.out);
  assert.match(v.out, /OK/);
  const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);
  for (let i = 0; i < 2; i++) {
    const b = await tidemark('backfill', '--table', 'dbo.Claims', '--from', day(-14), '--to', day(1), '--json');
    assert.equal(b.code, 0, b.out);
    const result = JSON.parse(b.out) as { kind: string; windows: number };
    assert.equal(result.kind, 'backfill');
    assert.ok(result.windows >= 1);
    await source.workload.run({ operations: 40 });
    await source.workload.drain();
  }
  await assertConverges('after two backfills');
});

test('rowversion cannot see deletes: tidemark reconcile writes tombstones and the lake equals the source again', async () => {
  await source.admin.request().batch('DELETE TOP (4) FROM dbo.ClaimPayments');
  const before = await tidemark('verify', '--table', 'dbo.ClaimPayments', '--json');
  assert.equal(before.code, 3, before.out);
  assert.equal((JSON.parse(before.out) as { extraInLake: number }).extraInLake, 4);
  const r = await tidemark('reconcile', '--table', 'dbo.ClaimPayments', '--json');
  assert.equal(r.code, 0, r.out);
  assert.equal((JSON.parse(r.out) as { rows: number }).rows, 4);
  await assertConverges('after reconciliation');
  const again = await tidemark('reconcile', '--table', 'dbo.ClaimPayments', '--json');
  assert.equal((JSON.parse(again.out) as { rows: number }).rows, 0);
});

test('tidemark schedules creates the nightly schedule; a triggered run reconciles deletes through the table', async () => {
  const s = await tidemark('schedules');
  assert.equal(s.code, 0, s.out);
  assert.match(s.out, /nightly\/Claims\.dbo\.ClaimPayments/);
  const again = await tidemark('schedules');
  assert.match(again.out, /updated/);
  const handle = client.schedule.getHandle('nightly/Claims.dbo.ClaimPayments');
  try {
    const d = await handle.describe();
    assert.equal(d.spec.calendars?.[0]?.hour?.[0]?.start, 1);
    await source.admin.request().batch('DELETE TOP (2) FROM dbo.ClaimPayments');
    await handle.trigger();
    const v = await waitUntilVerified(deps, client, TABLES[1]!, { timeoutMs: 90_000, wake: false });
    assert.equal(v.ok, true, JSON.stringify(v));
  } finally {
    await handle.delete().catch(() => undefined);
  }
});

test('every table is a Delta Lake table: delta-rs reads the same latest state as the manifests, which verify found equal to the source', async () => {
  await assertConverges('before reading the Delta tables');
  for (const table of TABLES) {
    const { lake } = await tableContext(deps, table);
    const s = await latestStates(azurite, container, lake);
    assert.equal(s.version, s.sequence, `${table.id}: Delta version = manifest sequence`);
    assert.ok(s.manifests.size > 0, `${table.id}: rows`);
    assert.deepEqual(s.delta, s.manifests, `${table.id}: delta-rs latest state = manifests' latest state`);
  }
});

test('compacting every partition changes no reader: tidemark verify still finds the lake equal to the source, delta-rs reads the same latest state from fewer files', async () => {
  const before = new Map<string, Awaited<ReturnType<typeof latestStates>>>();
  for (const table of TABLES) {
    const { lake } = await tableContext(deps, table);
    before.set(table.id, await latestStates(azurite, container, lake));
    const paths = new DeltaLogPaths(lake.layout);
    const head = await highestPublishedVersion(lake, paths);
    const live = await liveFiles({ lake, paths, version: head, interval: 100 });
    const days = [...new Set(live.map((f) => f.commitDate))].sort();
    const schemaTable = table.id.split('.').slice(1).join('.');
    let removed = 0;
    for (const day of days) {
      const r = await tidemark('compact', '--table', schemaTable, '--day', day, '--target-mb', '64', '--json');
      assert.equal(r.code, 0, r.err);
      removed += (JSON.parse(r.out) as { filesRemoved: number }).filesRemoved;
    }
    const after = (await liveFiles({ lake, paths, version: await highestPublishedVersion(lake, paths), interval: 100 }))
      .length;
    console.log(`${table.id}: live Delta files ${live.length} → ${after} (${removed} compacted away)`);
    assert.ok(after <= live.length, `${table.id}: no more files than before`);
  }
  // Tidemark's own readers go through the manifests, which compaction never changes.
  await assertConverges('after compaction');
  for (const table of TABLES) {
    const { lake } = await tableContext(deps, table);
    const s = await latestStates(azurite, container, lake);
    assert.deepEqual(s.delta, s.manifests, `${table.id}: delta-rs latest state = manifests' latest state`);
    assert.deepEqual(s.delta, before.get(table.id)?.delta, `${table.id}: delta-rs latest state unchanged`);
  }
});
