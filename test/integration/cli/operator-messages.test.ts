/**
 * Operator-facing failures are messages, not stack traces (issue 12, item 8), against a real Temporal dev
 * server: Temporal unreachable, a namespace that does not exist or lacks Tidemark's search attributes, no worker
 * polling the task queue, and the reason given with `pause --reason` shown by `status`. The worker of the pause
 * test runs the in-memory fake activities: this is about the operator's verbs, not about reading SQL Server.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import type { TableStatusRow } from '../../../src/cli/status.js';
import { tableSyncWorkflowId } from '../../../src/workflows/table-sync.js';
import { freePort } from '../../../scripts/stack/process.js';
import { ensureTemporalBinaries } from '../../../scripts/stack/temporal.js';
import { runTidemark } from '../../e2e/support/pipeline-helpers.js';
import { azuriteForTests, temporalForTests } from '../../support/stack.js';
import { quietRuntime, WORKFLOWS_PATH } from '../../support/temporal.js';
import { fakeActivities, type FakeLake, type FakeSource } from '../../workflows/fake-table-activities.js';
import { eventually } from '../../support/eventually.js';

const dir = mkdtempSync(join(tmpdir(), 'tidemark-cli-messages-'));
const env = {
  TIDEMARK_SOURCE_PASSWORD: 'not-a-real-password',
  // Set to the test Azurite before the tests: the audited verbs record themselves in the lake before acting.
  TIDEMARK_SINK_CONNECTION_STRING: '',
};
const suffix = randomBytes(3).toString('hex');
const db = `Msg${suffix}`;
const table = `${db}.dbo.Claims`;
let address: string;
let connection: Connection;
let worker: Worker;
let workerRunning: Promise<void>;
let workerConnection: NativeConnection;
const workerQueue = `cli-messages-${suffix}`;

/** Writes a config file for one CDC table; returns its path. */
function configFile(name: string, temporal: { address: string; namespace?: string; taskQueue: string }): string {
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
      '  connectionString: "${TIDEMARK_SINK_CONNECTION_STRING}"',
      '  container: raw',
      'temporal:',
      `  address: ${temporal.address}`,
      `  namespace: ${temporal.namespace ?? 'default'}`,
      `  taskQueue: ${temporal.taskQueue}`,
      'tables:',
      '  - name: dbo.Claims',
      '    capture: cdc',
      '    cadence: 1m',
      '',
    ].join('\n'),
  );
  return file;
}

const tidemark = (config: string, ...args: string[]) => runTidemark(config, dir, args, env);

/** No stack trace and no JSON log line: a message for a person. */
function assertPlainMessage(err: string): void {
  assert.doesNotMatch(err, /^\s+at /m, `a stack trace:\n${err}`);
  assert.doesNotMatch(err, /"level":/, `a JSON log line:\n${err}`);
}

const terminate = (namespace = 'default') =>
  new Client({ connection, namespace }).workflow
    .getHandle(tableSyncWorkflowId(table))
    .terminate('test done')
    .catch(() => undefined);

before(async () => {
  address = await temporalForTests();
  env.TIDEMARK_SINK_CONNECTION_STRING = await azuriteForTests();
  connection = await Connection.connect({ address });
  quietRuntime();
  workerConnection = await NativeConnection.connect({ address });
  const source: FakeSource = { maxPosition: 10, minPosition: 0, snapshotRows: 10, snapshotChunks: 1 };
  const lake: FakeLake = { manifests: new Map(), watermark: null, extractAttempts: [] };
  worker = await Worker.create({
    connection: workerConnection,
    taskQueue: workerQueue,
    workflowsPath: WORKFLOWS_PATH,
    activities: fakeActivities(source, lake),
  });
  workerRunning = worker.run();
});

after(async () => {
  worker?.shutdown();
  await workerRunning;
  await workerConnection?.close();
  await connection?.close();
});

test('pause --reason: status shows the reason (text and --json) until the table is resumed', async () => {
  const config = configFile('pause', { address, taskQueue: workerQueue });
  try {
    assert.equal((await tidemark(config, 'start')).code, 0);
    await eventually(async () => {
      const rows = JSON.parse((await tidemark(config, 'status', '--json')).out) as TableStatusRow[];
      assert.equal(rows[0]?.state, 'running');
      assert.ok(rows[0]?.status?.position);
    });
    assert.equal((await tidemark(config, 'pause', '--reason', 'OLTP incident INC-42')).code, 0);
    await eventually(async () => {
      const rows = JSON.parse((await tidemark(config, 'status', '--json')).out) as TableStatusRow[];
      assert.equal(rows[0]?.state, 'paused');
      assert.equal(rows[0]?.status?.pauseReason, 'OLTP incident INC-42');
    });
    const text = await tidemark(config, 'status');
    assert.equal(text.code, 3);
    assert.match(text.out, new RegExp(`^${table}\\s+cdc\\s+paused\\s.*paused: OLTP incident INC-42$`, 'm'));
    assert.equal((await tidemark(config, 'resume')).code, 0);
    await eventually(async () => {
      const rows = JSON.parse((await tidemark(config, 'status', '--json')).out) as TableStatusRow[];
      assert.equal(rows[0]?.state, 'running');
      assert.equal(rows[0]?.status?.pauseReason, null);
    });
  } finally {
    await terminate();
  }
});

test('status with no worker on the task queue: says so, names queue and namespace, shows the recorded state', async () => {
  const queue = `no-worker-${suffix}`;
  const config = configFile('no-worker', { address, taskQueue: queue });
  try {
    assert.equal((await tidemark(config, 'start')).code, 0);
    const r = await tidemark(config, 'status', '--json');
    assert.equal(r.code, 3, 'a table nobody serves needs attention');
    assertPlainMessage(r.err);
    assert.match(r.err, new RegExp(`no worker is polling task queue "${queue}" in namespace "default"`));
    assert.match(r.err, new RegExp(`npm run worker -- --config ${config.replace(/[.\\/]/g, '\\$&')}`));
    const rows = JSON.parse(r.out) as TableStatusRow[];
    assert.equal(rows[0]?.table, table);
    assert.equal(rows[0]?.state, 'running', 'from the TidemarkState search attribute');
    assert.equal(rows[0]?.status, null);
    assert.match(rows[0]?.note ?? '', /no worker answered/);
    const text = await tidemark(config, 'status');
    assert.match(text.out, new RegExp(`^${table}\\s+cdc\\s+running\\s.*no worker answered`, 'm'));
  } finally {
    await terminate();
  }
});

test('status after the only worker stopped: the unanswered query becomes the same message', async () => {
  const queue = `stopped-worker-${suffix}`;
  const config = configFile('stopped-worker', { address, taskQueue: queue });
  const source: FakeSource = { maxPosition: 10, minPosition: 0, snapshotRows: 10, snapshotChunks: 1 };
  const lake: FakeLake = { manifests: new Map(), watermark: null, extractAttempts: [] };
  const w = await Worker.create({
    connection: workerConnection,
    taskQueue: queue,
    workflowsPath: WORKFLOWS_PATH,
    activities: fakeActivities(source, lake),
  });
  const running = w.run();
  try {
    assert.equal((await tidemark(config, 'start')).code, 0);
    await eventually(async () => {
      const rows = JSON.parse((await tidemark(config, 'status', '--json')).out) as TableStatusRow[];
      assert.equal(rows[0]?.state, 'running'); // loaded: the search attribute says so too
      assert.ok(rows[0]?.status?.position);
    });
    w.shutdown();
    await running;
    // Temporal still lists the stopped worker as a poller for a while: only the query can tell.
    const r = await tidemark(config, 'status', '--json');
    assert.equal(r.code, 3, r.err);
    assertPlainMessage(r.err);
    assert.match(r.err, new RegExp(`no worker is polling task queue "${queue}" in namespace "default"`));
    assert.equal((JSON.parse(r.out) as TableStatusRow[])[0]?.state, 'running');
  } finally {
    if (w.getState() === 'RUNNING') w.shutdown();
    await running;
    await terminate();
  }
});

test('Temporal unreachable: the verbs name the address and namespace tried and what to check', async () => {
  const port = await freePort();
  const config = configFile('unreachable', { address: `127.0.0.1:${port}`, taskQueue: 'q' });
  for (const verb of [['status'], ['pause', '--reason', 'x']]) {
    const r = await tidemark(config, ...verb);
    assert.equal(r.code, 1, verb.join(' '));
    assertPlainMessage(r.err);
    assert.match(r.err, new RegExp(`cannot reach Temporal at 127\\.0\\.0\\.1:${port} \\(namespace "default"\\)`));
    assert.match(r.err, /npm run stack:up/);
    assert.match(r.err, /temporal\.address/);
  }
});

test('a namespace that does not exist is named, with how to create it', async () => {
  const config = configFile('no-namespace', { address, namespace: `nope-${suffix}`, taskQueue: 'q' });
  const r = await tidemark(config, 'start');
  assert.equal(r.code, 1);
  assertPlainMessage(r.err);
  assert.match(r.err, new RegExp(`namespace "nope-${suffix}" does not exist on the Temporal server at ${address}`));
  assert.match(r.err, /temporal operator namespace create/);
});

test('start in a namespace without the search attributes prints the command that registers them; then it starts', async () => {
  const namespace = `bare-${suffix}`;
  const { temporal } = ensureTemporalBinaries(join(process.cwd(), '.tidemark'));
  execFileSync(temporal, ['operator', 'namespace', 'create', '--address', address, '--namespace', namespace], {
    stdio: 'pipe',
  });
  const config = configFile('bare', { address, namespace, taskQueue: 'q' });
  const refused = await eventually(async () => {
    const r = await tidemark(config, 'start');
    assert.doesNotMatch(r.err, /does not exist/, 'the new namespace is known'); // registration takes a moment
    return r;
  });
  assert.equal(refused.code, 1);
  assertPlainMessage(refused.err);
  assert.match(refused.err, /TidemarkTable, TidemarkStrategy, TidemarkState/);
  const command = /^\s+(temporal operator search-attribute create .*)$/m.exec(refused.err)?.[1];
  assert.ok(command, refused.err);
  // The printed command, run as printed (with the project's Temporal CLI), fixes the namespace.
  execFileSync(temporal, command.split(' ').slice(1), { stdio: 'pipe' });
  try {
    const started = await eventually(async () => {
      const r = await tidemark(config, 'start');
      assert.equal(r.code, 0, r.err);
      return r;
    });
    assert.match(started.out, new RegExp(`^${table}: table-sync/${table}`, 'm'));
  } finally {
    await terminate(namespace);
  }
});
