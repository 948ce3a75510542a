/**
 * The operator audit ledger (issue 17): every operator action the real CLI carries out — start, pause, resume,
 * backfill, sweep, reconcile, schedules, and a config change — is recorded in the lake (Azurite) with who, when,
 * what and the outcome, failures too; an action that cannot be recorded is not performed; entries are created
 * once and never rewritten; `tidemark audit` lists them. Temporal is a real dev server with a real worker; the
 * activities are the in-memory fakes, because this is about the operator's verbs, not about reading SQL Server.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import type { TableRef } from '../../../src/domain/table.js';
import type { TableStatusRow } from '../../../src/cli/status.js';
import { AzureBlobStore } from '../../../src/lake/blob-store.js';
import { BlobAlreadyExistsError } from '../../../src/lake/errors.js';
import {
  listOperatorAudit,
  operatorAuditRoot,
  writeOperatorAuditEntry,
  type OperatorAuditEntry,
} from '../../../src/lake/operator-audit.js';
import { tableSyncWorkflowId } from '../../../src/workflows/table-sync.js';
import { freePort } from '../../../scripts/stack/process.js';
import { runTidemark } from '../../e2e/support/pipeline-helpers.js';
import { azuriteForTests, temporalForTests } from '../../support/stack.js';
import { quietRuntime, WORKFLOWS_PATH } from '../../support/temporal.js';
import { fakeActivities, type FakeLake, type FakeSource } from '../../workflows/fake-table-activities.js';

const suffix = randomBytes(3).toString('hex');
const db = `Audit${suffix}`;
const container = `audit-${suffix}`;
const prefix = 'claims/raw';
const taskQueue = `cli-audit-${suffix}`;
const PASSWORD = `pw-audit-${suffix}-S3cret`;
const CLAIMS = `${db}.dbo.Claims`;
const NOTES = `${db}.dbo.Notes`;
const dir = mkdtempSync(join(tmpdir(), 'tidemark-cli-audit-'));
const env: Record<string, string> = { TIDEMARK_SOURCE_PASSWORD: PASSWORD };
let sinkConnection: string;

let address: string;
let store: AzureBlobStore;
let native: NativeConnection;
let connection: Connection;
let client: Client;
let worker: Worker;
let running: Promise<void>;

const fakes = new Map<string, { source: FakeSource; lake: FakeLake }>();
const fakeOf = (id: string) => {
  let f = fakes.get(id);
  if (!f) {
    f = {
      source: { maxPosition: 10, minPosition: 0, snapshotRows: 20, snapshotChunks: 1, jobChunks: 2 },
      lake: { manifests: new Map(), watermark: null, extractAttempts: [] },
    };
    fakes.set(id, f);
  }
  return f;
};

/** A config file: another cadence, Temporal address, or environment variable holding the storage connection. */
function configFile(name: string, options: { temporal?: string; cadence?: string; sink?: string } = {}): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    [
      'source:',
      '  host: 127.0.0.1',
      `  database: ${db}`,
      '  auth: { type: sql-login, user: extractor, password: "${TIDEMARK_SOURCE_PASSWORD}" }',
      '  encrypt: false',
      'sink:',
      '  auth: connectionString',
      `  connectionString: "\${${options.sink ?? 'TIDEMARK_SINK_CONNECTION_STRING'}}"`,
      `  container: ${container}`,
      `  prefix: ${prefix}`,
      'temporal:',
      `  address: ${options.temporal ?? address}`,
      `  taskQueue: ${taskQueue}`,
      'tables:',
      '  - name: dbo.Claims',
      '    capture: cdc',
      `    cadence: ${options.cadence ?? '1m'}`,
      '    businessDateColumn: ServiceDate',
      '  - name: dbo.Notes',
      '    capture: { strategy: identity, column: id }',
      'nightly:',
      '  windowStart: "01:00"',
      '  timezone: UTC',
      '  duration: 4h',
      '',
    ].join('\n'),
  );
  return file;
}

let config: string;
const tidemark = (file: string, ...args: string[]) => runTidemark(file, dir, args, env);

async function ledger(): Promise<OperatorAuditEntry[]> {
  return listOperatorAudit(store, prefix);
}

/** The entries of the one action recorded after `before` entries: its `requested` and `outcome`. */
function actionAfter(entries: OperatorAuditEntry[], count: number, action: string) {
  const added = entries.slice(count);
  const requested = added.find((e) => e.action === action && e.phase === 'requested');
  assert.ok(requested, `a requested ${action} entry among ${JSON.stringify(added, null, 2)}`);
  const outcome = added.find((e) => e.id === requested.id && e.phase === 'outcome');
  assert.ok(outcome, `an outcome of ${action}`);
  return { requested, outcome, added };
}

async function statusOf(table: string): Promise<TableStatusRow | undefined> {
  const r = await tidemark(config, 'status', '--json', '--table', table);
  return (JSON.parse(r.out) as TableStatusRow[])[0];
}

before(async () => {
  address = await temporalForTests();
  sinkConnection = await azuriteForTests();
  env.TIDEMARK_SINK_CONNECTION_STRING = sinkConnection;
  store = new AzureBlobStore({ connectionString: sinkConnection, container });
  await store.ensureContainer(); // as the worker does on a local stack
  config = configFile('tidemark');
  quietRuntime();
  native = await NativeConnection.connect({ address });
  connection = await Connection.connect({ address });
  client = new Client({ connection });
  const names = Object.keys(fakeActivities(fakeOf(CLAIMS).source, fakeOf(CLAIMS).lake));
  worker = await Worker.create({
    connection: native,
    taskQueue,
    workflowsPath: WORKFLOWS_PATH,
    // Each call goes to the fakes of the table it names.
    activities: Object.fromEntries(
      names.map((name) => [
        name,
        (input: { table: TableRef }) => {
          const f = fakeOf(input.table.id);
          return (fakeActivities(f.source, f.lake) as unknown as Record<string, (i: unknown) => unknown>)[name]!(input);
        },
      ]),
    ),
  });
  running = worker.run();
});

after(async () => {
  for (const id of [CLAIMS, NOTES])
    await client.workflow
      .getHandle(tableSyncWorkflowId(id))
      .terminate('test done')
      .catch(() => undefined);
  for (const table of [NOTES, CLAIMS])
    await client.schedule
      .getHandle(`nightly/${table}`)
      .delete()
      .catch(() => undefined);
  worker.shutdown();
  await running;
  await native.close();
  await connection.close();
});

test(
  'each operator verb is recorded before it acts and with its outcome: who, when, what',
  { timeout: 180_000 },
  async () => {
    const t0 = new Date().toISOString();
    const steps: Array<[string, string[]]> = [
      ['start', ['start', '--wait']],
      ['pause', ['pause', '--table', 'dbo.Claims', '--reason', 'OLTP incident 4711']],
      ['resume', ['resume', '--table', 'dbo.Claims']],
      ['backfill', ['backfill', '--table', 'dbo.Claims', '--from', '2026-01-01', '--to', '2026-01-03']],
      ['sweep', ['sweep', '--table', 'dbo.Notes', '--days', '3']],
      ['reconcile', ['reconcile', '--table', 'dbo.Notes']],
      // The fake activities land nothing, so the table has no Delta log: nothing to compact, exit 0.
      ['compact', ['compact', '--table', 'dbo.Claims', '--day', '2026-01-01', '--target-mb', '1']],
      ['schedule-change', ['schedules']],
    ];
    for (const [action, argv] of steps) {
      const count = (await ledger()).length;
      const r = await tidemark(config, ...argv);
      assert.equal(r.code, 0, `${argv.join(' ')}: ${r.err}`);
      const { requested, outcome } = actionAfter(await ledger(), count, action);
      assert.deepEqual(outcome.outcome, { status: 'ok', exitCode: 0 }, action);
      assert.ok(requested.requestedAt >= t0 && outcome.at >= requested.at, `${action}: when`);
      assert.equal(requested.who.osUser, userInfo().username, `${action}: who`);
      assert.equal(requested.who.storageAuth, 'connectionString');
      assert.ok(requested.config?.digest.match(/^[0-9a-f]{64}$/), `${action}: the config it ran with`);
      if (action === 'pause') {
        assert.deepEqual(requested.tables, [CLAIMS]);
        assert.deepEqual(requested.what, { reason: 'OLTP incident 4711' });
      }
      if (action === 'backfill') assert.deepEqual(requested.what, { from: '2026-01-01', to: '2026-01-03' });
      if (action === 'compact') {
        assert.deepEqual(requested.what, { day: '2026-01-01', 'target-mb': '1' });
        assert.match(r.out, /2026-01-01: no-delta-log/);
      }
      if (action === 'sweep')
        assert.deepEqual(
          { tables: requested.tables, what: requested.what },
          {
            tables: [NOTES],
            what: { days: '3' },
          },
        );
      if (action === 'start') assert.deepEqual(requested.tables, [CLAIMS, NOTES]);
    }

    // Where it lives: in the data container under the lake prefix, next to the tables' own ledgers.
    const names: string[] = [];
    for await (const item of store.list(operatorAuditRoot(prefix))) names.push(item.path);
    assert.ok(names.length >= steps.length * 2);
    assert.ok(names.every((n) => n.startsWith(`${prefix}/_audit/operator/`)));

    // No secret and no row value: the password and the storage key are in none of the entries.
    const text = JSON.stringify(await ledger());
    assert.ok(!text.includes(PASSWORD), 'the source password');
    const key = /AccountKey=([^;]+)/.exec(sinkConnection)?.[1] ?? '';
    assert.ok(key.length > 10 && !text.includes(key), 'the storage account key');

    const listed = await tidemark(config, 'audit');
    assert.equal(listed.code, 0, listed.err);
    assert.match(listed.out, /^WHEN\s+ACTION\s+OUTCOME\s+WHO\s+TABLES\s+DETAILS$/m);
    for (const [action] of steps)
      assert.match(listed.out, new RegExp(`\\s${action}\\s+ok \\(exit 0\\)\\s+${userInfo().username}@`));
    assert.match(listed.out, /pause .*reason=OLTP incident 4711/);
    const notes = await tidemark(config, 'audit', '--table', 'dbo.Notes', '--json');
    const noteActions = new Set((JSON.parse(notes.out) as OperatorAuditEntry[]).map((e) => e.action));
    assert.deepEqual([...noteActions].sort(), ['reconcile', 'schedule-change', 'start', 'sweep']);
    const later = await tidemark(config, 'audit', '--since', new Date(Date.now() + 60_000).toISOString());
    assert.equal(later.out, 'no operator actions recorded\n');
    const bad = await tidemark(config, 'audit', '--since', 'yesterday');
    assert.equal(bad.code, 2);
    assert.match(bad.err, /--since yesterday is neither a date\/time nor a duration/);
  },
);

test(
  'a failed action is recorded with its outcome and reason, whether the verb returns or throws',
  { timeout: 120_000 },
  async () => {
    fakeOf(CLAIMS).source.failChunk = { kind: 'backfill', index: 1, type: 'SourceQueryError' };
    let count = (await ledger()).length;
    const r = await tidemark(config, 'backfill', '--table', 'dbo.Claims', '--from', '2026-02-01', '--to', '2026-02-02');
    assert.equal(r.code, 1, r.err);
    const failed = actionAfter(await ledger(), count, 'backfill').outcome.outcome;
    assert.equal(failed?.status, 'failed');
    assert.equal(failed?.exitCode, 1);
    assert.match(failed?.error ?? '', /backfill failed — SourceQueryError: injected SourceQueryError in chunk 1/);

    // Temporal not there: the verb throws; the ledger still says what happened (and that the config changed).
    const unreachable = configFile('unreachable', { temporal: `127.0.0.1:${await freePort()}` });
    count = (await ledger()).length;
    const p = await tidemark(unreachable, 'pause', '--table', 'dbo.Claims');
    assert.equal(p.code, 1);
    const { outcome, added } = actionAfter(await ledger(), count, 'pause');
    assert.equal(outcome.outcome?.status, 'failed');
    assert.match(outcome.outcome?.error ?? '', /cannot reach Temporal at 127\.0\.0\.1:\d+/);
    const change = added.find((e) => e.action === 'config-change');
    assert.deepEqual(change?.changed, ['temporal'], 'the config change is recorded before the action');
    const listed = await tidemark(config, 'audit', '--table', 'dbo.Claims');
    assert.match(listed.out, /pause\s+failed \(exit 1\).*error: cannot reach Temporal/);
    assert.match(listed.out, /config-change\s+observed.*changed: temporal/);
  },
);

test('a config change is recorded once, naming the table whose settings changed', { timeout: 60_000 }, async () => {
  const slower = configFile('slower', { cadence: '5m' });
  const count = (await ledger()).length;
  assert.equal((await tidemark(slower, 'resume', '--table', 'dbo.Claims')).code, 0);
  assert.equal((await tidemark(slower, 'resume', '--table', 'dbo.Claims')).code, 0);
  const changes = (await ledger()).slice(count).filter((e) => e.action === 'config-change');
  // The first run with it: temporal back to the reachable one, and the Claims table's cadence. Not again.
  assert.equal(changes.length, 1, JSON.stringify(changes));
  assert.deepEqual(changes[0]?.changed, [`tables/${CLAIMS}`, 'temporal']);
});

test('an action that cannot be recorded is not performed', { timeout: 60_000 }, async () => {
  assert.equal((await statusOf('dbo.Claims'))?.state, 'running');
  const wrongKey = sinkConnection.replace(
    /AccountKey=[^;]+/,
    `AccountKey=${Buffer.from('wrong-key-'.repeat(6)).toString('base64')}`,
  );
  env.TIDEMARK_DENIED_CONNECTION_STRING = wrongKey;
  const denied = configFile('denied', { sink: 'TIDEMARK_DENIED_CONNECTION_STRING' });
  const count = (await ledger()).length;
  const r = await tidemark(denied, 'pause', '--table', 'dbo.Claims', '--now');
  assert.equal(r.code, 1, r.err);
  assert.match(
    r.err,
    /cannot record pause in the audit ledger \(.*\), so it was not performed: .*make the storage writable/,
  );
  assert.ok(!r.err.includes('wrong-key'), 'the key is not repeated');
  assert.equal((await ledger()).length, count, 'nothing recorded');
  const row = await statusOf('dbo.Claims');
  assert.equal(row?.state, 'running', 'and nothing paused');
});

test('entries are created once and never rewritten', { timeout: 60_000 }, async () => {
  const before = new Map<string, string>();
  for await (const item of store.list(operatorAuditRoot(prefix))) before.set(item.path, item.etag);
  const [first] = await ledger();
  assert.ok(first);
  await assert.rejects(
    writeOperatorAuditEntry(store, prefix, { ...first, what: { reason: 'rewritten' } }),
    BlobAlreadyExistsError,
  );
  assert.equal((await tidemark(config, 'resume', '--table', 'dbo.Claims')).code, 0);
  const afterwards = new Map<string, string>();
  for await (const item of store.list(operatorAuditRoot(prefix))) afterwards.set(item.path, item.etag);
  for (const [path, etag] of before) assert.equal(afterwards.get(path), etag, `${path} unchanged`);
  assert.ok(afterwards.size > before.size, 'the new action added entries');
  assert.deepEqual((await ledger())[0], first);
});
