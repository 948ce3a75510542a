/**
 * The operator verbs around stopped tables and jobs, against a real Temporal dev server and a real worker. The
 * activities are the in-memory fakes (per table), which inject the failures: this test is about what the verbs
 * say and return, not about reading SQL Server (test/e2e/table-state.test.ts meets the same cases for real).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import type { TableRef } from '../../../src/domain/table.js';
import { FailureType } from '../../../src/domain/failures.js';
import { main } from '../../../src/cli/main.js';
import type { TableStatusRow } from '../../../src/cli/status.js';
import { tableSyncWorkflowId } from '../../../src/workflows/table-sync.js';
import { azuriteForTests, temporalForTests } from '../../support/stack.js';
import { quietRuntime, WORKFLOWS_PATH } from '../../support/temporal.js';
import { fakeActivities, positionOf, type FakeLake, type FakeSource } from '../../workflows/fake-table-activities.js';
import { eventually } from '../../support/eventually.js';

const taskQueue = `cli-state-${process.pid}`;
const db = `CliState${process.pid}`;
let worker: Worker;
let running: Promise<void>;
let native: NativeConnection;
let connection: Connection;
let client: Client;
let configFile: string;
let sinkConnection: string;

/** One fake source and lake per table: `Missing` is a table the source does not have. */
const fakes = new Map<string, { source: FakeSource; lake: FakeLake }>();
const fakeOf = (table: string) => {
  const id = `${db}.dbo.${table}`;
  let f = fakes.get(id);
  if (!f) {
    f = {
      source: { maxPosition: 10, minPosition: 0, snapshotRows: 90, snapshotChunks: 1, jobChunks: 3 },
      lake: { manifests: new Map(), watermark: null, extractAttempts: [] },
    };
    fakes.set(id, f);
  }
  return f;
};

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c: Buffer) => (out += c.toString()));
  stderr.on('data', (c: Buffer) => (err += c.toString()));
  const code = await main([...argv, '--config', configFile], {
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

async function statusOf(table: string): Promise<TableStatusRow | undefined> {
  const r = await run('status', '--json', '--table', `dbo.${table}`);
  return (JSON.parse(r.out) as TableStatusRow[])[0];
}

before(async () => {
  const address = await temporalForTests();
  sinkConnection = await azuriteForTests();
  const dir = mkdtempSync(join(tmpdir(), 'tidemark-cli-state-'));
  configFile = join(dir, 'tidemark.yaml');
  const table = (name: string) => [`  - name: dbo.${name}`, '    capture: cdc', '    businessDateColumn: ServiceDate'];
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
      ...table('Claims'),
      ...table('Missing'),
      ...table('Ended'),
      '',
    ].join('\n'),
  );
  fakeOf('Missing').source.failReadWatermark = FailureType.Config;
  quietRuntime();
  native = await NativeConnection.connect({ address });
  connection = await Connection.connect({ address });
  client = new Client({ connection });
  const names = Object.keys(fakeActivities(fakeOf('Claims').source, fakeOf('Claims').lake));
  worker = await Worker.create({
    connection: native,
    taskQueue,
    workflowsPath: WORKFLOWS_PATH,
    // Each call goes to the fakes of the table it names.
    activities: Object.fromEntries(
      names.map((name) => [
        name,
        (input: { table: TableRef }) => {
          const f = fakeOf(input.table.id.split('.').at(-1)!);
          return (fakeActivities(f.source, f.lake) as unknown as Record<string, (i: unknown) => unknown>)[name]!(input);
        },
      ]),
    ),
  });
  running = worker.run();
});

after(async () => {
  for (const t of ['Claims', 'Missing', 'Ended'])
    await client.workflow
      .getHandle(tableSyncWorkflowId(`${db}.dbo.${t}`))
      .terminate('test done')
      .catch(() => undefined);
  worker.shutdown();
  await running;
  await native.close();
  await connection.close();
});

test(
  'start --wait returns exit 3 at once for a table that stopped, with its reason; status shows it; resume says it',
  { timeout: 120_000 },
  async () => {
    const t0 = Date.now();
    const r = await run('start', '--table', 'dbo.Missing', '--wait');
    assert.equal(r.code, 3, r.err);
    assert.match(r.err, /stopped — ConfigError: injected: no such table\. Fix the cause, then: tidemark resume/);
    assert.ok(Date.now() - t0 < 20_000, 'it did not spin');

    const row = await statusOf('Missing');
    assert.equal(row?.state, 'stopped');
    assert.match(row?.status?.stoppedReason ?? '', /ConfigError: injected: no such table/);

    const resumed = await run('resume', '--table', 'dbo.Missing');
    assert.equal(resumed.code, 0, resumed.err);
    assert.match(resumed.out, /resume requested; it was stopped — ConfigError: injected: no such table/);
    // The cause is still there: it stops again, with the reason.
    await eventually(async () => assert.equal((await statusOf('Missing'))?.state, 'stopped'));
  },
);

test(
  'resume and backfill on a table whose sync workflow ended say how to start it (exit 3, no stack trace)',
  { timeout: 120_000 },
  async () => {
    assert.equal((await run('start', '--table', 'dbo.Ended')).code, 0);
    await client.workflow.getHandle(tableSyncWorkflowId(`${db}.dbo.Ended`)).terminate('operator');
    for (const verb of [
      ['resume', '--table', 'dbo.Ended'],
      ['backfill', '--table', 'dbo.Ended', '--from', '2026-01-01', '--to', '2026-01-02'],
    ]) {
      const r = await run(...verb);
      assert.equal(r.code, 3, `${verb.join(' ')}: ${r.err}`);
      assert.match(
        r.err,
        /its sync workflow is not running \(it ended terminated\); start it with: tidemark start --table/,
      );
      assert.doesNotMatch(r.err, /\bat .*\.ts:\d+/, 'no stack trace');
    }
  },
);

test('job arguments are checked before anything starts (exit 2)', { timeout: 120_000 }, async () => {
  for (const [args, message] of [
    [['--from', '2026-02-30', '--to', '2026-03-01'], /'2026-02-30' is not a calendar date/],
    [['--from', '2026-03-01', '--to', '2026-03-01'], /not before --to.*--to 2026-03-02/],
    [['--from', '2026-03-02', '--to', '2026-03-01'], /not before --to/],
    [['--from', '2026-3-1', '--to', '2026-03-02'], /not a calendar date/],
  ] as const) {
    const r = await run('backfill', '--table', 'dbo.Claims', ...args);
    assert.equal(r.code, 2, r.err);
    assert.match(r.err, message);
  }
  for (const days of ['0', '-3', '1.5', 'zero', '']) {
    const r = await run('sweep', '--table', 'dbo.Claims', '--days', days);
    assert.equal(r.code, 2, `--days ${days}: ${r.err}`);
  }
  const unknown = await run('backfill', '--table', 'dbo.Nope', '--from', '2026-01-01', '--to', '2026-01-02');
  assert.equal(unknown.code, 2);
  assert.match(unknown.err, /no table "dbo\.Nope"/);
  assert.equal(fakeOf('Claims').lake.manifests.size, 0, 'nothing ran');
});

test(
  'a backfill that fails for good exits 1 with its reason; the table goes on syncing',
  { timeout: 120_000 },
  async () => {
    assert.equal((await run('start', '--table', 'dbo.Claims', '--wait')).code, 0);
    const f = fakeOf('Claims');
    f.source.failChunk = { kind: 'backfill', index: 1, type: 'SourceQueryError' };
    const r = await run('backfill', '--table', 'dbo.Claims', '--from', '2026-01-01', '--to', '2026-02-01');
    assert.equal(r.code, 1, r.err);
    assert.match(
      r.err,
      /backfill failed — SourceQueryError: injected SourceQueryError in chunk 1\. The table goes on syncing/,
    );
    const row = await statusOf('Claims');
    assert.equal(row?.state, 'running');
    assert.equal(row?.status?.jobs.at(-1)?.state, 'failed');

    f.source.maxPosition = 30;
    await client.workflow.getHandle(tableSyncWorkflowId(`${db}.dbo.Claims`)).signal('syncNow');
    await eventually(async () => assert.equal((await statusOf('Claims'))?.status?.position, positionOf(30)));
  },
);
