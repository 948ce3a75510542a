/**
 * Lineage (issue 16): a real window run through the activities (simulator, Azurite) sends OpenLineage START and
 * COMPLETE to a real HTTP endpoint (a node http server here) and writes them to the lake; the snapshot job's run
 * is the parent of its chunk runs; a window that fails for good sends FAIL; an endpoint that is down or never
 * answers neither delays nor fails the window. Every event validates against the official schemas, and none
 * carries a seeded patient value.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  activityLineage,
  buildDependencies,
  createActivities,
  lineageEmitterOf,
  type Activities,
  type ActivityDeps,
} from '../../../src/activities/index.js';
import { activityMeter } from '../../../src/activities/metered.js';
import type { TidemarkConfig } from '../../../src/config/types.js';
import type { TableRef } from '../../../src/domain/table.js';
import { LineageEmitter } from '../../../src/lineage/emitter.js';
import { tableContext } from '../../../src/capture/table-context.js';
import { createLogger } from '../../../src/util/logger.js';
import { azuriteForTests } from '../../support/stack.js';
import { runJob } from '../../support/activity-sync.js';
import { openLineageProblems } from '../../support/openlineage.js';
import { pipelineConfig, startClaimsSource, type ClaimsSource } from '../../../scripts/demo/harness.js';

const MEMBERS: TableRef = { id: 'Claims.dbo.Members', strategy: 'cdc' };
/** Seeded patient values: none may appear in any event. */
const PATIENT_VALUES = ['Ada Lovelace-Byron', '123-45-6789', 'allergic to penicillin', 'Grace Hopper-Murray'];

interface Event {
  eventType: string;
  run: { runId: string; facets: { parent?: { run: { runId: string } }; errorMessage?: { message: string } } };
  job: { name: string };
  outputs: {
    name: string;
    facets: { columnLineage?: { fields: Record<string, unknown> } };
    outputFacets: { outputStatistics?: { rowCount: number } };
  }[];
}

/** An OpenLineage endpoint: records what is POSTed to /api/v1/lineage; `hang` never answers. */
class Endpoint {
  readonly events: Event[] = [];
  readonly paths: string[] = [];
  readonly waiting: ServerResponse[] = [];
  private server!: Server;
  constructor(private readonly hang = false) {}
  async start(): Promise<string> {
    this.server = createServer((req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        this.paths.push(req.url ?? '');
        if (this.hang) {
          this.waiting.push(res);
          return;
        }
        this.events.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Event);
        res.writeHead(201).end();
      });
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
  async stop(): Promise<void> {
    if (!this.server.listening) return;
    for (const res of this.waiting) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

let source: ClaimsSource;
let deps: ActivityDeps;
let config: TidemarkConfig;

before(async () => {
  source = await startClaimsSource({
    cdcPollMs: 100,
    workload: { rate: 0, longTransactionMs: 50, addColumnAt: [], widenAt: 1_000_000 },
  });
  await source.admin.request().batch(`
    CREATE TABLE dbo.Members (id int NOT NULL PRIMARY KEY, name nvarchar(100) NULL, ssn varchar(11) NULL,
      notes nvarchar(200) NULL, premium decimal(10,2) NULL);
    INSERT INTO dbo.Members VALUES (1, N'Ada Lovelace-Byron', '123-45-6789', N'allergic to penicillin', 10.50);
    EXEC sys.sp_cdc_enable_table @source_schema = N'dbo', @source_name = N'Members', @role_name = NULL;`);
  ({ config } = pipelineConfig({
    sourcePort: source.sim.port,
    azuriteConnectionString: await azuriteForTests(),
    temporalAddress: '127.0.0.1:1',
    taskQueue: 'lineage',
    container: `lineage-${randomBytes(4).toString('hex')}`,
    tables: [
      {
        name: 'dbo.Members',
        capture: '{ strategy: cdc }',
        phi: '[{ columns: [name], action: keep }, { columns: [ssn], action: hash }, { columns: [notes], action: drop }]',
        quality: '{ controlTotals: [premium], sourceCheckEvery: 1 }',
      },
    ],
  }));
  deps = await buildDependencies(config, createLogger({ name: 'test', level: 'warn' }));
});

after(async () => {
  await deps?.close();
  await source?.stop();
});

const captured = () => sleep(600);

/** Activities whose lineage goes to `lineage` (the config section), and the emitter to drain. */
async function withLineage(lineage: TidemarkConfig['lineage']): Promise<{ acts: Activities; emitter: LineageEmitter }> {
  const c = { ...config, ...(lineage ? { lineage } : {}) };
  const emitter = await lineageEmitterOf(c, deps, createLogger({ name: 'test', level: 'error' }));
  assert.ok(emitter);
  return {
    acts: createActivities(deps, activityMeter(undefined), activityLineage({ ...deps, config: c }, emitter)),
    emitter,
  };
}

/** Snapshot when the lake has none, then change windows until caught up; returns the last window's commit. */
async function sync(acts: Activities): Promise<void> {
  let mark = await acts.readWatermark({ table: MEMBERS });
  if (mark.position === null) {
    await runJob(acts, MEMBERS, { kind: 'snapshot', reason: 'test' }, 30);
    mark = await acts.readWatermark({ table: MEMBERS });
  }
  for (let seq = mark.lastSeq + 1, position = mark.position; ; seq++) {
    const plan = await acts.planWindow({ table: MEMBERS, lastPosition: position, seq });
    if (!plan.window || plan.window.idle) return;
    const extract = await acts.extractWindow({ table: MEMBERS, window: plan.window, attempt: 1 });
    const validation = await acts.validateWindow({ table: MEMBERS, window: plan.window, extract });
    const c = await acts.commitManifest({ table: MEMBERS, window: plan.window, extract, validation });
    position = c.resumePosition ?? plan.window.to;
    await acts.advanceWatermark({ table: MEMBERS, seq, position, manifestPath: c.manifestPath });
  }
}

test('a snapshot and a change window send START and COMPLETE to the endpoint and to the lake, valid and value-free', async () => {
  const endpoint = new Endpoint();
  const url = await endpoint.start();
  try {
    const { acts, emitter } = await withLineage({ endpoint: url, lake: true });
    await captured();
    await sync(acts);
    await source.admin.request().batch(`
      INSERT INTO dbo.Members VALUES (2, N'Grace Hopper-Murray', '987-65-4321', N'none', 20.25);
      UPDATE dbo.Members SET premium = 11.00 WHERE id = 1;`);
    await captured();
    await sync(acts);
    await emitter.drain();
    const events = endpoint.events;
    assert.ok(endpoint.paths.every((p) => p === '/api/v1/lineage'));
    assert.deepEqual(openLineageProblems(events), []);
    const text = JSON.stringify(events);
    for (const v of PATIENT_VALUES) assert.ok(!text.includes(v), 'no patient value in lineage events');

    // The snapshot: one job run, START then COMPLETE, parent of every chunk run.
    const job = events.filter((e) => e.job.name === 'Claims.dbo.Members.snapshot');
    assert.deepEqual(
      job.map((e) => e.eventType),
      ['START', 'COMPLETE'],
    );
    const chunks = events.filter((e) => e.job.name === 'Claims.dbo.Members.snapshot.chunk');
    assert.ok(chunks.some((e) => e.eventType === 'COMPLETE'));
    for (const c of chunks) assert.equal(c.run.facets.parent?.run.runId, job[0]?.run.runId);
    for (const e of job) assert.equal(e.run.facets.parent, undefined, `the job's ${e.eventType} has no parent run`);

    // The change window: START and COMPLETE of one run, with 2 rows landed and the PHI column lineage.
    const windows = events.filter((e) => e.job.name === 'Claims.dbo.Members.changes');
    const complete = windows.find(
      (e) => e.eventType === 'COMPLETE' && e.outputs[0]?.outputFacets.outputStatistics?.rowCount === 2,
    );
    assert.ok(complete, `a COMPLETE of the 2-change window: ${JSON.stringify(windows.map((e) => e.eventType))}`);
    assert.ok(windows.some((e) => e.eventType === 'START' && e.run.runId === complete.run.runId));
    const fields = Object.keys(complete.outputs[0]?.facets.columnLineage?.fields ?? {}).sort();
    assert.deepEqual(fields, ['id', 'name', 'premium', 'ssn'], 'notes is dropped: not in the lake');

    // The lake's copy: one object per event under the table's _lineage/.
    const ctx = await tableContext(deps, MEMBERS);
    const lakeObjects: string[] = [];
    for await (const b of deps.store.list(ctx.lake.layout.resolve('_lineage/'))) lakeObjects.push(b.path);
    assert.ok(lakeObjects.includes(ctx.lake.layout.resolve(`_lineage/${complete.run.runId}/COMPLETE.json`)));
    assert.ok(lakeObjects.includes(ctx.lake.layout.resolve(`_lineage/${complete.run.runId}/START.json`)));
  } finally {
    await endpoint.stop();
  }
});

test('a window that fails for good sends FAIL with the failure, and no value', async () => {
  const endpoint = new Endpoint();
  const url = await endpoint.start();
  try {
    const { acts, emitter } = await withLineage({ endpoint: url, lake: false });
    await source.admin.request().batch(`UPDATE dbo.Members SET premium = 7 WHERE id = 2;`);
    await captured();
    const mark = await acts.readWatermark({ table: MEMBERS });
    const plan = await acts.planWindow({ table: MEMBERS, lastPosition: mark.position, seq: mark.lastSeq + 1 });
    assert.ok(plan.window && !plan.window.idle, 'a window with the update');
    const extract = await acts.extractWindow({ table: MEMBERS, window: plan.window, attempt: 1 });
    await source.admin.request().batch(`UPDATE cdc.dbo_Members_CT SET premium = 8 WHERE id = 2 AND __$operation = 4;`);
    await assert.rejects(acts.validateWindow({ table: MEMBERS, window: plan.window, extract }), /premium/);
    await emitter.drain();
    assert.deepEqual(openLineageProblems(endpoint.events), []);
    const fail = endpoint.events.find((e) => e.eventType === 'FAIL');
    assert.ok(fail, `a FAIL event: ${JSON.stringify(endpoint.events.map((e) => e.eventType))}`);
    assert.match(fail.run.facets.errorMessage?.message ?? '', /^DataQualityError: .*premium/);
    assert.ok(endpoint.events.some((e) => e.eventType === 'START' && e.run.runId === fail.run.runId));
    // Put the change table back for the next test.
    await source.admin.request().batch(`UPDATE cdc.dbo_Members_CT SET premium = 7 WHERE id = 2 AND __$operation = 4;`);
  } finally {
    await endpoint.stop();
  }
});

test('an endpoint that never answers, or is down, neither delays nor fails a window', async () => {
  const hanging = new Endpoint(true);
  const url = await hanging.start();
  const logger = createLogger({ name: 'test', level: 'error' });
  try {
    // Never answers, with a timeout longer than the test: the windows commit while its requests are open.
    const held = new LineageEmitter({ endpoint: url, logger, timeoutMs: 600_000 });
    await windowAfterUpdate(createActivities(deps, activityMeter(undefined), activityLineage(deps, held)));
    assert.ok(hanging.waiting.length > 0, 'the endpoint holds a request');
    assert.deepEqual(held.counters, { sent: 0, failed: 0, dropped: 0, written: 0 }, 'still unanswered');
    await hanging.stop();
    await held.drain();
    assert.ok(held.counters.failed > 0, 'the failure is counted once the connection drops');

    // Down (nothing listens on the port).
    const { acts, emitter } = await withLineage({ endpoint: 'http://127.0.0.1:9', lake: false });
    await windowAfterUpdate(acts);
    await emitter.drain();
    assert.ok(emitter.counters.failed > 0, 'the failures are counted');
    assert.equal(emitter.counters.sent, 0);
  } finally {
    await hanging.stop();
  }
});

async function windowAfterUpdate(acts: Activities): Promise<void> {
  await source.admin.request().batch(`UPDATE dbo.Members SET premium = premium + 1 WHERE id = 1;`);
  await captured();
  const before = await acts.readWatermark({ table: MEMBERS });
  await sync(acts);
  assert.ok((await acts.readWatermark({ table: MEMBERS })).lastSeq > before.lastSeq, 'the window committed');
}
