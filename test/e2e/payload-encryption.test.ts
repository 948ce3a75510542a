/**
 * Temporal payloads encrypted end to end (issue 17): a table synced by a worker and a client with payload keys,
 * on a Temporal dev server of its own with a database file. The database file, read raw, holds none of the
 * positions, manifest paths, staged file names or secrets those histories carry — while `temporal workflow
 * show` through Tidemark's codec server shows them decoded (so they are there, sealed), and without the codec
 * server shows ciphertext.
 *
 * Then the secret scan (issue 17): the worker's log, the output of the operator verbs run meanwhile, the Temporal
 * server's log and database, and every non-data object of the lake (manifests, schemas, ledgers, watermark) hold
 * neither the source password, the codec key, the PHI hash key nor the storage key, nor any seeded value of the
 * PHI columns (MemberId hashed, PatientName dropped) — while a planted value is found in each, so the scan reads
 * what it claims to. The worker serves metrics, and the scan reads its endpoint too; Temporal's search attributes
 * are in its database, and its histories are scanned decoded as well (sealed, the database would hide a leak).
 *
 * And log correlation (issue 16): every line the worker logged for a table's window or job carries the table, the
 * window sequence (or the job and chunk), the workflow id and the activity id.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createWriteStream, writeFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection } from '@temporalio/client';
import { startWorker, type RunningWorker } from '../../src/worker.js';
import { buildDependencies, type ActivityDeps } from '../../src/activities/index.js';
import { tableContext } from '../../src/capture/table-context.js';
import { committedSequences, readManifest } from '../../src/lake/manifest.js';
import { createLogger } from '../../src/util/logger.js';
import { statusQuery } from '../../src/workflows/messages.js';
import { tableSyncWorkflow, tableSyncWorkflowId } from '../../src/workflows/index.js';
import { tidemarkDataConverter } from '../../src/temporal/data-converter.js';
import { parsePayloadKeys } from '../../src/temporal/payload-codec.js';
import { startCodecServer, type RunningCodecServer } from '../../src/temporal/codec-server.js';
import { ensureTemporalBinaries, startTemporalDevServer } from '../../scripts/stack/temporal.js';
import { freePort, stopProcess, type SpawnedService } from '../../scripts/stack/process.js';
import { azuriteForTests } from '../support/stack.js';
import { lakeNonDataObjects, scan, type Needle, type ScanSource } from '../support/secret-scan.js';
import { runTidemark } from './support/pipeline-helpers.js';
import { phiColumnNames } from '../../src/config/index.js';
import {
  CLAIMS_PIPELINE_TABLES,
  pipelineConfig,
  startClaimsSource,
  type ClaimsSource,
} from '../../scripts/demo/harness.js';

const TABLE = { id: 'Claims.dbo.Claims', strategy: 'cdc' } as const;
let dir: string;
let binary: string;
let server: SpawnedService;
let address: string;
let source: ClaimsSource;
let worker: RunningWorker;
let deps: ActivityDeps;
let connection: Connection;
let client: Client;
let codecServer: RunningCodecServer;
let env: Record<string, string>;
let taskQueue: string;
let configFile: string;
let workerLog: string;
let workerLogStream: NodeJS.WritableStream & { end: (cb: () => void) => void };
/** What the operator verbs printed (stdout and stderr), for the secret scan. */
let cliOutput = '';
/** The table's workflow history with its payloads decoded by the codec server, for the secret scan. */
let decodedHistory = '';
/** A value planted where the scan looks (log, verb output, lake), to show the scan finds what is there. */
const CANARY = `canary-${randomBytes(6).toString('hex')}`;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tidemark-payload-enc-'));
  binary = ensureTemporalBinaries(join(process.cwd(), '.tidemark')).temporal;
  const port = await freePort();
  address = `127.0.0.1:${port}`;
  server = await startTemporalDevServer({
    binary,
    host: '127.0.0.1',
    port,
    uiPort: await freePort(),
    dbFile: join(dir, 'temporal.db'),
    headless: true,
    logFile: join(dir, 'temporal.log'),
    detached: false,
  });
  source = await startClaimsSource({
    cdcPollMs: 200,
    workload: { rate: 0, longTransactionMs: 50, addColumnAt: [], widenAt: 1_000_000 },
  });
  await source.workload.run({ operations: 40 });
  await source.workload.drain();
  const made = pipelineConfig({
    sourcePort: source.sim.port,
    azuriteConnectionString: await azuriteForTests(),
    temporalAddress: address,
    taskQueue: `payload-enc-${randomBytes(4).toString('hex')}`,
    container: `payload-enc-${randomBytes(4).toString('hex')}`,
    tables: [CLAIMS_PIPELINE_TABLES.cdc!],
    payloadEncryption: true,
  });
  env = made.env;
  taskQueue = made.config.temporal.taskQueue;
  configFile = join(dir, 'tidemark.yaml');
  writeFileSync(configFile, made.yaml);
  // The worker logs as in production (PHI columns redacted), at debug: the most a log could leak.
  workerLog = join(dir, 'worker.log');
  workerLogStream = createWriteStream(workerLog);
  const logger = createLogger({
    name: 'worker',
    level: 'debug',
    phiColumns: phiColumnNames(made.config),
    destination: workerLogStream,
  });
  logger.info({ planted: CANARY }, 'a planted value the secret scan must find');
  deps = await buildDependencies(made.config, logger);
  worker = await startWorker({
    // Lineage events are written to the lake, so the secret scan reads them with the lake's other objects.
    config: { ...made.config, lineage: { lake: true } },
    logger,
    deps,
    shutdownGraceTime: '2s',
    metricsPort: 0,
    metricsRefreshMs: 1000,
  });
  const keys = parsePayloadKeys(env.TIDEMARK_PAYLOAD_KEYS!);
  connection = await Connection.connect({ address });
  client = new Client({ connection, dataConverter: tidemarkDataConverter(keys) });
  codecServer = await startCodecServer({ codec: tidemarkDataConverter(keys).payloadCodecs![0]!, port: 0 });
});

after(async () => {
  await codecServer?.close();
  await connection?.close();
  await worker?.stop();
  await deps?.close();
  await source?.stop();
  if (server) await stopProcess(server.pid);
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The workflow's history as `temporal workflow show` prints it (JSON, payloads as stored). */
async function show(): Promise<string> {
  const args = ['workflow', 'show', '--workflow-id', tableSyncWorkflowId(TABLE.id), '--address', address, '-o', 'json'];
  const { stdout } = await promisify(execFile)(binary, args, {
    encoding: 'utf8',
    timeout: 60_000,
    maxBuffer: 64 << 20,
  });
  return stdout;
}

/** Every payload (`{metadata, data}`) in a JSON history. */
function payloadsIn(node: unknown, out: object[] = []): object[] {
  if (Array.isArray(node)) for (const x of node) payloadsIn(x, out);
  else if (node && typeof node === 'object') {
    if ('metadata' in node && 'data' in node) out.push(node);
    else for (const x of Object.values(node)) payloadsIn(x, out);
  }
  return out;
}

test('histories in the Temporal database hold no plaintext positions, paths or secrets; the codec server decodes them', async () => {
  const handle = await client.workflow.start(tableSyncWorkflow, {
    taskQueue,
    workflowId: tableSyncWorkflowId(TABLE.id),
    args: [{ table: TABLE, cadenceSeconds: 1 }],
  });
  const lake = (await tableContext(deps, TABLE)).lake;
  const committed = async (n: number) => {
    const deadline = Date.now() + 120_000;
    while ((await committedSequences(lake)).length < n) {
      assert.ok(Date.now() < deadline, `${n} windows committed`);
      await sleep(500);
    }
  };
  await committed(1);
  // Changes after the initial load: change windows (positions, staged files) in the history too.
  const loaded = (await committedSequences(lake)).length;
  await source.workload.run({ operations: 30 });
  await source.workload.drain();
  await committed(loaded + 1);
  const status = await handle.query(statusQuery);
  assert.notEqual(status.position, null, 'the query result decodes through the client codec');
  // Operator verbs through the CLI, with the same config (payload keys): their output goes into the secret scan;
  // the pause reason is the planted value (it lands in the operator audit ledger and in `status`).
  for (const argv of [
    ['status', '--json'],
    ['pause', '--table', 'dbo.Claims', '--reason', CANARY],
    ['status'],
    ['resume', '--table', 'dbo.Claims'],
    ['audit', '--json'],
    ['doctor'],
  ]) {
    const r = await runTidemark(configFile, dir, argv, { ...process.env, ...env });
    cliOutput += `$ tidemark ${argv.join(' ')}\n${r.out}${r.err}`;
  }
  assert.match(cliOutput, /pause requested/);
  await handle.terminate('test done');

  const manifests = await Promise.all(
    (await committedSequences(lake)).map(async (s) => (await readManifest(lake, s))!),
  );
  const needles = new Set<string>();
  for (const m of manifests) {
    if (m.window.to) needles.add(m.window.to);
    for (const f of m.files) needles.add(f.path.split('/').pop()!);
  }
  needles.add(env.TIDEMARK_SOURCE_PASSWORD!);
  needles.add(env.TIDEMARK_PAYLOAD_KEYS!.split(':')[1]!);
  assert.ok(needles.size >= 5, `${needles.size} needles`);

  // As stored, the history shows none of the positions; sent to the codec server as the Web UI does (POST
  // /decode, proto3 JSON), its payloads show them.
  const raw = await show();
  const positions = manifests.map((m) => m.window.to).filter((p): p is string => !!p);
  for (const p of positions) assert.equal(raw.includes(p), false, `position ${p} in the stored history`);
  const sealed = payloadsIn(JSON.parse(raw));
  assert.ok(sealed.length > 10, `${sealed.length} payloads in the history`);
  const res = await fetch(`${codecServer.url}/decode`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-Namespace': 'default' },
    body: JSON.stringify({ payloads: sealed }),
  });
  assert.equal(res.status, 200);
  const decoded = ((await res.json()) as { payloads: { data?: string }[] }).payloads
    .map((p) => Buffer.from(p.data ?? '', 'base64').toString('utf8'))
    .join('\n');
  decodedHistory = decoded;
  assert.ok(
    positions.some((p) => decoded.includes(p)),
    'the codec server decodes the positions',
  );

  // The database file itself (and its WAL), read as bytes after the server flushed it.
  await stopProcess(server.pid);
  const files = (await readdir(dir)).filter((f) => f.startsWith('temporal.db'));
  const bytes = Buffer.concat(await Promise.all(files.map((f) => readFile(join(dir, f)))));
  assert.ok(bytes.includes('binary/encrypted'), 'the database holds the sealed payloads');
  assert.ok(bytes.includes(tableSyncWorkflowId(TABLE.id)), 'the database holds this workflow (its id is metadata)');
  for (const n of needles) assert.equal(bytes.includes(n), false, `plaintext found in the Temporal database: ${n}`);
});

test('after the run, no secret and no PHI value in logs, verb output, metrics, lineage, the Temporal database or the lake', async () => {
  await new Promise<void>((resolve) => workerLogStream.end(resolve));
  const phi = await source.admin
    .request()
    .query<{ MemberId: string; PatientName: string }>('SELECT DISTINCT MemberId, PatientName FROM dbo.Claims');
  assert.ok(phi.recordset.length > 10, `${phi.recordset.length} seeded patients`);
  const needles: Needle[] = [
    { label: 'the source password', value: env.TIDEMARK_SOURCE_PASSWORD! },
    { label: 'the payload codec key', value: env.TIDEMARK_PAYLOAD_KEYS!.split(':')[1]! },
    { label: 'the PHI hash key', value: env.TIDEMARK_PHI_HASH_KEY! },
    { label: 'the storage account key', value: /AccountKey=([^;]+)/.exec(env.TIDEMARK_SINK_CONNECTION_STRING!)![1]! },
    ...[...new Set(phi.recordset.map((r) => r.MemberId))].map((v, i) => ({
      label: `MemberId #${i} (hashed)`,
      value: v,
    })),
    ...[...new Set(phi.recordset.map((r) => r.PatientName))].map((v, i) => ({
      label: `PatientName #${i} (dropped)`,
      value: v,
    })),
  ];
  const files = (await readdir(dir)).filter((f) => f.startsWith('temporal.db'));
  const database: ScanSource = {
    name: 'the Temporal database',
    bytes: Buffer.concat(await Promise.all(files.map((f) => readFile(join(dir, f))))),
  };
  const log: ScanSource = { name: 'the worker log', bytes: await readFile(workerLog) };
  const verbs: ScanSource = { name: "the operator verbs' output", bytes: Buffer.from(cliOutput) };
  const lake = await lakeNonDataObjects(deps.store);
  const scraped = await fetch(`http://127.0.0.1:${worker.metrics!.port}/metrics`);
  const metrics: ScanSource = { name: 'the metrics endpoint', bytes: Buffer.from(await scraped.text()) };
  // The sealed database proves nothing about what the payloads hold: the histories are scanned decoded too.
  const history: ScanSource = { name: 'the decoded Temporal history', bytes: Buffer.from(decodedHistory) };
  assert.ok(history.bytes.includes(TABLE.id), 'the decoded history holds the workflow inputs');
  const sources: ScanSource[] = [
    log,
    history,
    verbs,
    metrics,
    { name: 'the Temporal server log', bytes: await readFile(join(dir, 'temporal.log')) },
    database,
    ...lake,
  ];
  assert.ok(log.bytes.includes('window committed'), 'the worker logged its work (at debug level)');
  assert.ok(
    /tidemark_events_landed_total\{[^}]*table="/.test(metrics.bytes.toString()) &&
      metrics.bytes.includes(`table="${TABLE.id}"`),
    "the metrics endpoint served the table's series",
  );
  assert.ok(
    lake.some((o) => o.name.includes('/_manifests/')) &&
      lake.some((o) => o.name.includes('/_audit/')) &&
      lake.some((o) => o.name.includes('/_lineage/')),
    'manifests, the audit ledgers and lineage events are among the objects scanned',
  );

  // Not vacuous: the planted value is found where it was planted, and so is a value known to be in the database.
  const planted = scan(sources, [{ label: 'planted', value: CANARY }]);
  assert.ok(planted.includes('planted in the worker log'), planted.join('; '));
  assert.ok(planted.includes("planted in the operator verbs' output"), planted.join('; '));
  assert.ok(
    planted.some((p) => p.includes('lake:_audit/operator/')),
    `the pause reason, in the operator audit ledger:\n${cliOutput}`,
  );
  assert.deepEqual(scan([database], [{ label: 'workflow id', value: tableSyncWorkflowId(TABLE.id) }]).length, 1);
  // A needle that is there is found (one patient's name, written into a copy of the log).
  const seeded = {
    name: 'a log with a leak',
    bytes: Buffer.concat([log.bytes, Buffer.from(phi.recordset[0]!.PatientName)]),
  };
  assert.equal(scan([seeded], needles).length, 1);

  assert.deepEqual(scan(sources, needles), [], 'secrets or patient values found');
});

test('every log line of a window or job carries the table, window (or job and chunk), workflow and activity ids', async () => {
  const lines = (await readFile(workerLog, 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  // The lines of a table's work: every line naming a table, and the known messages of windows and jobs.
  const ofWork = lines.filter(
    (l) => l.table !== undefined || ['window committed', 'job planned'].includes(String(l.msg)),
  );
  const messages = new Set(ofWork.map((l) => String(l.msg)));
  assert.ok(messages.has('window committed') && messages.has('job planned'), [...messages].join('; '));
  const problems: string[] = [];
  for (const l of ofWork) {
    const what = `${String(l.msg)} (${String(l.activityType)})`;
    if (l.table !== TABLE.id) problems.push(`${what}: table ${String(l.table)}`);
    if (typeof l.workflowId !== 'string' || typeof l.activityId !== 'string')
      problems.push(`${what}: no workflow or activity id`);
    if (l.activityType === 'runChunk' && (l.job === undefined || l.chunk === undefined))
      problems.push(`${what}: no job and chunk`);
    else if (l.activityType === 'planChunks' && l.job === undefined) problems.push(`${what}: no job`);
    // readWatermark reads where the table stands before any window: it has no window of its own.
    else if (!['runChunk', 'planChunks', 'readWatermark'].includes(String(l.activityType)) && l.window === undefined)
      problems.push(`${what}: no window sequence`);
  }
  assert.deepEqual(problems, [], `${ofWork.length} lines of a table's work`);
});
