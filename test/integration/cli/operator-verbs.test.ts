import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { NativeConnection, Worker } from '@temporalio/worker';
import { main } from '../../../src/cli/main.js';
import type { TableStatusRow } from '../../../src/cli/status.js';
import { azuriteForTests, temporalForTests } from '../../support/stack.js';
import { quietRuntime, WORKFLOWS_PATH } from '../../support/temporal.js';
import { fakeActivities, positionOf, type FakeLake, type FakeSource } from '../../workflows/fake-table-activities.js';
import { eventually } from '../../support/eventually.js';

// The verbs against a real Temporal dev server and a real worker; the activities are the in-memory fakes,
// because this test is about the operator's controls, not about reading SQL Server.
const taskQueue = `cli-${process.pid}`;
const db = `Cli${process.pid}`;
let worker: Worker;
let running: Promise<void>;
let connection: NativeConnection;
let configFile: string;
let sinkConnection: string;
const source: FakeSource = { maxPosition: 10, minPosition: 0, snapshotRows: 100, snapshotChunks: 1 };
const lake: FakeLake = { manifests: new Map(), watermark: null, extractAttempts: [] };

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c: Buffer) => (out += c.toString()));
  stderr.on('data', (c: Buffer) => (err += c.toString()));
  const code = await main(argv, {
    stdout,
    stderr,
    env: {
      TIDEMARK_SOURCE_PASSWORD: 'not-a-real-password',
      // The real (test) Azurite: the audited verbs record themselves in the lake before acting.
      TIDEMARK_SINK_CONNECTION_STRING: sinkConnection,
    },
    cwd: process.cwd(),
  });
  return { code, out, err };
}

async function statusRows(): Promise<{ code: number; rows: TableStatusRow[] }> {
  const r = await run('status', '--json', '--config', configFile);
  return { code: r.code, rows: JSON.parse(r.out) as TableStatusRow[] };
}

before(async () => {
  const address = await temporalForTests();
  sinkConnection = await azuriteForTests();
  const dir = mkdtempSync(join(tmpdir(), 'tidemark-cli-'));
  configFile = join(dir, 'tidemark.yaml');
  writeFileSync(
    configFile,
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
      `  address: ${address}`,
      `  taskQueue: ${taskQueue}`,
      'tables:',
      '  - name: dbo.Claims',
      '    capture: cdc',
      '    cadence: 1m',
      '',
    ].join('\n'),
  );
  quietRuntime();
  connection = await NativeConnection.connect({ address });
  worker = await Worker.create({
    connection,
    taskQueue,
    workflowsPath: WORKFLOWS_PATH,
    activities: fakeActivities(source, lake),
  });
  running = worker.run();
});

after(async () => {
  worker.shutdown();
  await running;
  await connection.close();
});

test('start, status, pause, resume: the operator controls a table through Temporal', async () => {
  const before = await statusRows();
  assert.equal(before.rows[0]?.state, 'not started');
  assert.equal(before.code, 3, 'a table that is not running needs attention');

  const started = await run('start', '--config', configFile);
  assert.equal(started.code, 0, started.err);
  assert.match(started.out, new RegExp(`${db}\\.dbo\\.Claims: table-sync/${db}\\.dbo\\.Claims`));
  const again = await run('start', '--config', configFile);
  assert.equal(again.code, 0, 'starting a running table again is harmless');
  // …and says so, instead of printing the run as if it had just been started.
  const runId = /\(run ([^)]+)\)/.exec(started.out)?.[1];
  assert.match(
    again.out,
    new RegExp(`${db}\\.dbo\\.Claims: already running \\(table-sync/${db}\\.dbo\\.Claims, run ${runId}\\); left alone`),
  );

  await eventually(async () => {
    const { code, rows } = await statusRows();
    assert.equal(rows[0]?.state, 'running');
    assert.equal(rows[0]?.status?.position, positionOf(10));
    assert.equal(code, 0);
  });
  const table = await run('status', '--config', configFile);
  assert.match(table.out, /^TABLE\s+STRATEGY\s+STATE/m);
  assert.match(table.out, new RegExp(`${db}\\.dbo\\.Claims\\s+cdc\\s+running`));

  assert.equal((await run('pause', '--config', configFile, '--reason', 'OLTP incident')).code, 0);
  await eventually(async () => {
    const { code, rows } = await statusRows();
    assert.equal(rows[0]?.state, 'paused');
    assert.equal(code, 3);
  });
  assert.equal((await run('resume', '--config', configFile, '--table', 'dbo.Claims')).code, 0);
  await eventually(async () => assert.equal((await statusRows()).rows[0]?.state, 'running'));
});

test('an unknown table is a usage error that lists the configured ones', async () => {
  const r = await run('pause', '--config', configFile, '--table', 'dbo.Nope');
  assert.equal(r.code, 2);
  assert.match(r.err, /no table "dbo\.Nope".*dbo\.Claims/);
});
