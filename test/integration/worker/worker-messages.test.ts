/**
 * What the worker tells its operator (issue 12, item 8): a failed activity's log line carries the error's
 * message (masked), not only its type; a worker that cannot reach storage or Temporal at start exits 1 with one
 * line naming what it tried and what to check. Real parts: the simulator, Azurite, the Temporal dev server.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection } from '@temporalio/client';
import { SIM_CREDENTIALS, startSimulator, type Simulator } from '../../../sim/index.js';
import { parseConfig, type TidemarkConfig } from '../../../src/config/index.js';
import { createLogger } from '../../../src/util/logger.js';
import { startWorker } from '../../../src/worker.js';
import { fastDateDecodeInstalled, fastVarcharDecodeInstalled } from '../../../src/source/index.js';
import { tableSyncWorkflow, tableSyncWorkflowId } from '../../../src/workflows/table-sync.js';
import { AccountSASPermissions, BlobServiceClient } from '@azure/storage-blob';
import { azuriteConnectionString } from '../../../scripts/stack/azurite.js';
import { freePort } from '../../../scripts/stack/process.js';
import { azuriteForTests, temporalForTests } from '../../support/stack.js';

const WORKER_ENTRY = join(process.cwd(), 'src', 'worker.ts');
const suffix = randomBytes(3).toString('hex');
const dir = mkdtempSync(join(tmpdir(), 'tidemark-worker-messages-'));
let sim: Simulator;
let temporalAddress: string;
let azurite: string;

before(async () => {
  sim = await startSimulator({ port: 0 });
  temporalAddress = await temporalForTests();
  azurite = await azuriteForTests();
});
after(() => sim?.stop());

/** A config (YAML) for one CDC table; secrets come from the environment it returns. */
function workerConfig(o: { temporal: string; storage: string; taskQueue: string; table: string; container?: string }) {
  const yaml = `source:
  host: 127.0.0.1
  port: ${sim.port}
  database: Claims
  auth: { type: sql-login, user: ${SIM_CREDENTIALS.extractor.user}, password: '\${TIDEMARK_SOURCE_PASSWORD}' }
  encrypt: false
  readOnlyIntent: false
sink:
  auth: connectionString
  connectionString: '\${TIDEMARK_SINK_CONNECTION_STRING}'
  container: ${o.container ?? `worker-msg-${suffix}`}
temporal:
  address: ${o.temporal}
  taskQueue: ${o.taskQueue}
tables:
  - name: ${o.table}
    capture: cdc
    cadence: 1m
`;
  const env = {
    TIDEMARK_SOURCE_PASSWORD: SIM_CREDENTIALS.extractor.password,
    TIDEMARK_SINK_CONNECTION_STRING: o.storage,
  };
  const file = join(dir, `${o.taskQueue}.yaml`);
  writeFileSync(file, yaml);
  return { yaml, env, file };
}

/** Runs `node src/worker.ts --config FILE` to its exit. */
function runWorkerProcess(file: string, env: Record<string, string>): Promise<{ code: number | null; err: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER_ENTRY, '--config', file], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  child.stdout.resume();
  const killer = setTimeout(() => child.kill('SIGKILL'), 120_000);
  return new Promise((resolve) =>
    child.once('exit', (code) => {
      clearTimeout(killer);
      resolve({ code, err });
    }),
  );
}

test('a failed activity is logged with its message, not only its type', async () => {
  const taskQueue = `worker-msg-${suffix}`;
  const table = 'dbo.NoSuchTable';
  const { yaml, env } = workerConfig({ temporal: temporalAddress, storage: azurite, taskQueue, table });
  const parsed = parseConfig(yaml, env);
  assert.ok(parsed.ok);
  const config: TidemarkConfig = parsed.config;
  const stream = new PassThrough();
  const lines: Record<string, unknown>[] = [];
  stream.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n'))
      if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
  });
  const worker = await startWorker({
    config,
    logger: createLogger({ name: 'worker', destination: stream, level: 'info' }),
    shutdownGraceTime: '1s',
  });
  // The driver's ASCII varchar shortcut is the worker's, installed once at its start (src/source/varchar-decode.ts).
  assert.ok(fastVarcharDecodeInstalled(), 'a started worker decodes varchar values with the shortcut');
  // And its one-`Date` datetime2/date read (src/source/date-decode.ts), on the tedious this repository pins.
  assert.ok(fastDateDecodeInstalled(), 'a started worker reads datetime2/date values with the shortcut');
  const connection = await Connection.connect({ address: temporalAddress });
  const id = tableSyncWorkflowId(`Claims.${table}`);
  try {
    await new Client({ connection }).workflow.start(tableSyncWorkflow, {
      taskQueue,
      workflowId: id,
      args: [{ table: { id: `Claims.${table}`, strategy: 'cdc' }, cadenceSeconds: 60 }],
    });
    const deadline = Date.now() + 60_000;
    let failed: Record<string, unknown> | undefined;
    while (!failed && Date.now() < deadline) {
      failed = lines.find((l) => l.msg === 'Activity failed');
      if (!failed) await sleep(200);
    }
    assert.ok(failed, `no "Activity failed" line in:\n${lines.map((l) => JSON.stringify(l)).join('\n')}`);
    const error = failed.error as { type?: string; message?: string } | undefined;
    assert.equal(typeof error?.message, 'string', JSON.stringify(failed));
    assert.match(error!.message!, /NoSuchTable/, 'the message says what failed');
    assert.equal(failed.component, 'temporal');
    // The failure's own type (which the retry policy acts on), not the class name ApplicationFailure.
    assert.match(error!.type ?? '', /^\w+Error$/);
    assert.notEqual(error!.type, 'ApplicationFailure');
  } finally {
    await new Client({ connection }).workflow
      .getHandle(id)
      .terminate('test done')
      .catch(() => undefined);
    await connection.close();
    await worker.stop();
  }
});

test('a worker that cannot reach storage at start names the endpoint and container, exit 1', async () => {
  const port = await freePort();
  const { file, env } = workerConfig({
    temporal: temporalAddress,
    storage: azuriteConnectionString('127.0.0.1', port),
    taskQueue: `worker-nostore-${suffix}`,
    table: 'dbo.Claims',
  });
  const r = await runWorkerProcess(file, env);
  assert.equal(r.code, 1, r.err);
  assert.match(
    r.err,
    new RegExp(
      `^worker failed: Cannot reach blob storage at http://127\\.0\\.0\\.1:${port}/devstoreaccount1 \\(ECONNREFUSED\\) during the check of container "worker-msg-${suffix}"`,
      'm',
    ),
  );
  assert.match(r.err, /npm run stack:up/);
  assert.doesNotMatch(r.err, /AccountKey/);
});

test('a worker that cannot reach Temporal at start names the address and namespace, exit 1', async () => {
  const port = await freePort();
  const { file, env } = workerConfig({
    temporal: `127.0.0.1:${port}`,
    storage: azurite,
    taskQueue: `worker-notemporal-${suffix}`,
    table: 'dbo.Claims',
  });
  const r = await runWorkerProcess(file, env);
  assert.equal(r.code, 1, r.err);
  assert.match(
    r.err,
    new RegExp(`^worker failed: cannot reach Temporal at 127\\.0\\.0\\.1:${port} \\(namespace "default"\\)`, 'm'),
  );
  assert.match(r.err, /npm run stack:up/);
});

test('a worker with a wrong source password names the login problem, never the password, exit 1', async () => {
  const { file, env } = workerConfig({
    temporal: temporalAddress,
    storage: azurite,
    taskQueue: `worker-badpw-${suffix}`,
    table: 'dbo.Claims',
  });
  const r = await runWorkerProcess(file, { ...env, TIDEMARK_SOURCE_PASSWORD: 'Wrong!Password1' });
  assert.equal(r.code, 1, r.err);
  assert.match(r.err, /^worker failed: .*login failed: check source\.auth \(user and password/m);
  assert.doesNotMatch(r.err, /Wrong!Password1/);
});

/** A connection string carrying an account SAS with only `permissions` (Azurite checks them as Azure does). */
function sasConnectionString(permissions: string, resourceTypes = 'sco'): string {
  const url = BlobServiceClient.fromConnectionString(azurite).generateAccountSasUrl(
    new Date(Date.now() + 3_600_000),
    AccountSASPermissions.parse(permissions),
    resourceTypes,
  );
  const [endpoint, sas] = url.split('?') as [string, string];
  return `BlobEndpoint=${endpoint.replace(/\/$/, '')};SharedAccessSignature=${sas}`;
}

const REFUSED_CHECK = (container: string) =>
  new RegExp(
    `^worker failed: Storage refused the check of container "${container}" \\(403 \\w+\\): the worker checks at start ` +
      'that the container exists and creates it when it is missing, which needs read, write and create access — ' +
      'give the identity Storage Blob Data Contributor on the container',
    'm',
  );

test('a container that does not exist, with a credential that may not create it: named, with what to do, exit 1', async () => {
  // Objects only: no container-level operation (create, properties) is allowed.
  const { file, env } = workerConfig({
    temporal: temporalAddress,
    storage: sasConnectionString('rwl', 'so'),
    taskQueue: `worker-nocontainer-${suffix}`,
    table: 'dbo.Claims',
    container: `worker-missing-${suffix}`,
  });
  const r = await runWorkerProcess(file, env);
  assert.equal(r.code, 1, r.err);
  assert.match(r.err, REFUSED_CHECK(`worker-missing-${suffix}`));
  assert.doesNotMatch(r.err, /sig=/, 'no SAS in the message');
});

test('a container that is not writable (read-only credential): the worker refuses to start, exit 1', async () => {
  const container = `worker-readonly-${suffix}`;
  await BlobServiceClient.fromConnectionString(azurite).getContainerClient(container).createIfNotExists();
  const { file, env } = workerConfig({
    temporal: temporalAddress,
    storage: sasConnectionString('rl'),
    taskQueue: `worker-readonly-${suffix}`,
    table: 'dbo.Claims',
    container,
  });
  const r = await runWorkerProcess(file, env);
  assert.equal(r.code, 1, r.err);
  assert.match(r.err, REFUSED_CHECK(container));
  assert.doesNotMatch(r.err, /sig=/, 'no SAS in the message');
});
