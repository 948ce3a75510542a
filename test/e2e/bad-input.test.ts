/**
 * The bad-input matrix of issue 18, on the real stack (simulator → a worker in this process → Temporal dev server →
 * Azurite), through the `tidemark` verbs an operator runs: each input an operator or DBA can get wrong ends with a
 * message that says what is wrong and what to do, the documented exit code, and nothing half-done — no window of
 * the table committed, or (mid-run) nothing of the refused window. docs/operations.md "Bad input" quotes each
 * message and names the test that shows it; the cases tested elsewhere are listed there too.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { TableRef } from '../../src/domain/table.js';
import { TableLayout } from '../../src/lake/layout.js';
import { committedSequences } from '../../src/lake/manifest.js';
import type { TableSyncStatus } from '../../src/state/table-sync-state.js';
import { statusQuery, syncNowSignal } from '../../src/workflows/messages.js';
import { tableSyncWorkflowId } from '../../src/workflows/table-sync.js';
import { SIM_CREDENTIALS } from '../../sim/index.js';
import { startPipelineWorker, type PipelineWorker } from './support/pipeline-worker.js';
import { runTidemark, terminateTableSyncs } from './support/pipeline-helpers.js';
import { startClaimsSource, type ClaimsSource } from '../../scripts/demo/harness.js';
import { eventually } from '../support/eventually.js';

const ref = (table: string, strategy: TableRef['strategy']): TableRef => ({ id: `Claims.dbo.${table}`, strategy });
const NO_CDC = ref('NoCdc', 'cdc');
const NO_CT = ref('NoCt', 'change_tracking');
const CT_NO_VIEW = ref('CtNoView', 'change_tracking');
const DENIED = ref('Denied', 'rowversion');
const FAR_FUTURE = ref('FarFuture', 'rowversion');
const NARROW = ref('Narrow', 'rowversion');
const ALL = [NO_CDC, NO_CT, CT_NO_VIEW, DENIED, FAR_FUTURE, NARROW];

let source: ClaimsSource;
let p: PipelineWorker;

before(async () => {
  source = await startClaimsSource({ workload: { rate: 0, longTransactionMs: 50, addColumnAt: [], widenAt: 1e6 } });
  const extractor = SIM_CREDENTIALS.extractor.user;
  await source.admin.request().batch(`
    CREATE TABLE dbo.NoCdc (id int NOT NULL PRIMARY KEY, note varchar(20) NULL);
    INSERT INTO dbo.NoCdc VALUES (1, 'a');
    CREATE TABLE dbo.NoCt (id int NOT NULL PRIMARY KEY, note varchar(20) NULL);
    INSERT INTO dbo.NoCt VALUES (1, 'a');
    CREATE TABLE dbo.CtNoView (id int NOT NULL PRIMARY KEY, note varchar(20) NULL);
    ALTER TABLE dbo.CtNoView ENABLE CHANGE_TRACKING;
    INSERT INTO dbo.CtNoView VALUES (1, 'a');
    CREATE TABLE dbo.Denied (id int NOT NULL PRIMARY KEY, note varchar(20) NULL, RowVer rowversion);
    INSERT INTO dbo.Denied (id, note) VALUES (1, 'a');
    DENY SELECT ON dbo.Denied TO [${extractor}];
    CREATE TABLE dbo.FarFuture (id int NOT NULL PRIMARY KEY, validTo datetime2(7) NULL, RowVer rowversion);
    INSERT INTO dbo.FarFuture (id, validTo) VALUES (1, '2026-01-01'), (2, '9999-12-31 23:59:59.9999999');
    CREATE TABLE dbo.Narrow (id int NOT NULL PRIMARY KEY, note varchar(40) NULL, RowVer rowversion);
    INSERT INTO dbo.Narrow (id, note) VALUES (1, 'a'), (2, 'b'), (3, 'c');`);
  const rv = (name: string) => ({ name, capture: '{ strategy: rowversion, column: RowVer }' });
  p = await startPipelineWorker(source, 'e2e-bad', [
    { name: 'dbo.NoCdc', capture: '{ strategy: cdc }' },
    { name: 'dbo.NoCt', capture: '{ strategy: change_tracking }' },
    { name: 'dbo.CtNoView', capture: '{ strategy: change_tracking }' },
    rv('dbo.Denied'),
    rv('dbo.FarFuture'),
    rv('dbo.Narrow'),
  ]);
  Object.assign(process.env, p.env);
});

after(async () => {
  if (p) await terminateTableSyncs(p.client, ALL);
  await p?.close();
  await source?.stop();
});

const tidemark = (...args: string[]) => runTidemark(p.configFile, p.dir, args);
const status = (t: TableRef): Promise<TableSyncStatus> =>
  p.client.workflow.getHandle(tableSyncWorkflowId(t.id)).query(statusQuery);
/** Manifests of the table (straight from the lake: a table that cannot start has no capture context). */
const manifests = async (t: TableRef) => {
  const [db, schema, table] = t.id.split('.') as [string, string, string];
  const layout = new TableLayout(p.config.sink.prefix, { db, schema, table });
  return (await committedSequences({ store: p.deps.store, layout })).length;
};

/** `start --wait` on a table that cannot start: exit 3 at once, the reason and its fix, stopped, nothing committed. */
async function assertRefusedAtStart(t: TableRef, reason: RegExp, fix: RegExp): Promise<void> {
  const name = t.id.split('.').slice(1).join('.');
  const r = await tidemark('start', '--table', name, '--wait');
  assert.equal(r.code, 3, `${name}: ${r.err}`);
  assert.match(r.err, reason, name);
  assert.match(r.err, fix, `${name}: says what to do`);
  assert.match(r.err, new RegExp(`Fix the cause, then: tidemark resume --table ${t.id.replace(/\./g, '\\.')}`));
  assert.doesNotMatch(r.err, /command failed unexpectedly|\n\s+at /, `${name}: no stack trace`);
  const s = await status(t);
  assert.deepEqual([s.mode, s.rowsCommitted, s.windowsCommitted], ['stopped', 0, 0], name);
  assert.equal(await manifests(t), 0, `${name}: nothing committed`);
  const st = await tidemark('status', '--table', name);
  assert.equal(st.code, 3, `${name}: status needs attention`);
}

test('CDC not enabled on the table: stopped at start with the sp_cdc_enable_table to run', { timeout: 120_000 }, () =>
  assertRefusedAtStart(NO_CDC, /cdc\.table_not_enabled/, /EXEC sys\.sp_cdc_enable_table @source_schema = N'dbo'/),
);

test(
  'Change Tracking not enabled on the table: stopped at start with the ALTER TABLE to run',
  { timeout: 120_000 },
  () => assertRefusedAtStart(NO_CT, /ct\.table_not_enabled/, /ALTER TABLE \[dbo\]\.\[NoCt\] ENABLE CHANGE_TRACKING/),
);

test('VIEW CHANGE TRACKING missing: stopped at start with the GRANT', { timeout: 120_000 }, () =>
  assertRefusedAtStart(
    CT_NO_VIEW,
    /permission\.view_change_tracking/,
    /GRANT VIEW CHANGE TRACKING ON \[dbo\]\.\[CtNoView\] TO/,
  ),
);

test('SELECT denied on the table: stopped at start, with the GRANT and the DENY to remove', { timeout: 120_000 }, () =>
  assertRefusedAtStart(DENIED, /Denied/, /GRANT SELECT ON \[dbo\]\.\[Denied\]/),
);

test(
  'the far edge of datetime2(7) (9999-12-31 23:59:59.9999999) is no longer beyond the lake type: it lands exactly',
  { timeout: 120_000 },
  async () => {
    // Until lake storage 2 a 7-digit timestamp was kept in nanoseconds and this value was refused; it is now
    // microseconds plus a 100 ns digit column (docs/type-mapping.md), so every datetime2 value lands.
    const started = await tidemark('start', '--table', 'dbo.FarFuture', '--wait');
    assert.equal(started.code, 0, started.err);
    assert.equal(await manifests(FAR_FUTURE), 1);
    const verified = await tidemark('verify', '--table', 'dbo.FarFuture');
    assert.equal(verified.code, 0, `${verified.out}\n${verified.err}`);
    const r = await tidemark('status', '--table', 'dbo.FarFuture', '--json');
    assert.doesNotMatch(r.out, /23:59:59\.9999999|9999-12-31T/, 'no row value in the status');
  },
);

test(
  'an incompatible schema change mid-run (a column narrowed): stopped with the reason; nothing of that window lands',
  { timeout: 180_000 },
  async () => {
    const started = await tidemark('start', '--table', 'dbo.Narrow', '--wait');
    assert.equal(started.code, 0, started.err);
    const before = await manifests(NARROW);
    assert.ok(before >= 1);
    await source.admin.request().batch(`
      ALTER TABLE dbo.Narrow ALTER COLUMN note varchar(10) NULL;
      INSERT INTO dbo.Narrow (id, note) VALUES (4, 'd');`);
    await p.client.workflow.getHandle(tableSyncWorkflowId(NARROW.id)).signal(syncNowSignal);
    const s = await eventually(async () => {
      const s = await status(NARROW);
      assert.equal(s.mode, 'stopped');
      return s;
    }, 120_000);
    assert.match(s.stoppedReason ?? '', /IncompatibleSchemaChangeError: .*note/);
    assert.equal(s.rowsCommitted, 3, 'the window with the new row was not committed');
    assert.equal(await manifests(NARROW), before, 'no manifest after the change');
    const st = await tidemark('status', '--table', 'dbo.Narrow');
    assert.equal(st.code, 3, st.out);
    assert.match(st.out, /stopped/);
    assert.match(st.out, /IncompatibleSchemaChangeError/);
  },
);
