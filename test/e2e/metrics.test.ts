/**
 * The worker's metrics as an operator sees them (issue 16): a real Prometheus (the same one `npm run demo`
 * starts, with Tidemark's rules loaded) scrapes a worker after a known workload on the real stack (simulator →
 * worker in this process → Temporal dev server → Azurite), and the test reads everything back through
 * Prometheus' HTTP API: the scrape is up, the per-table series carry the values the tables' own status and the
 * lake report, the Temporal SDK's runtime metrics come through the same endpoint, and every query of the Grafana
 * dashboard (ops/grafana/tidemark.json) returns data.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { TableStatusRow } from '../../src/cli/status.js';
import { runTidemark, terminateTableSyncs, assertTablesConverge } from './support/pipeline-helpers.js';
import { startPipelineWorker, type PipelineWorker } from './support/pipeline-worker.js';
import { CLAIMS_PIPELINE_TABLES, startClaimsSource, type ClaimsSource } from '../../scripts/demo/harness.js';
import { promQuery, startPrometheusServer, type PrometheusServer } from '../../scripts/stack/prometheus-server.js';
import { tableRef } from '../../src/config/tables.js';

const DASHBOARD = new URL('../../ops/grafana/tidemark.json', import.meta.url);

/**
 * Dashboard queries that cannot return data on this stack, each with why. Every other query must.
 * - the readable secondary's redo lag: exported only with `readOnlyIntent: true` (the test source has no
 *   availability group);
 * - failed activity attempts and failed workflow tasks (the Temporal SDK's counters): the SDK creates them at the
 *   first failure, and this workload has none.
 */
const NO_DATA_HERE: Record<string, string> = {
  tidemark_source_secondary_redo_lag_seconds: 'no readable secondary in this test',
  temporal_activity_execution_failed_total: 'no activity failed',
  temporal_workflow_task_execution_failed_total: 'no workflow task failed',
};

let source: ClaimsSource;
let p: PipelineWorker;
let prom: PrometheusServer;

before(async () => {
  source = await startClaimsSource({
    cdcPollMs: 500,
    workload: { rate: 0, longTransactionMs: 200, addColumnAt: [], widenAt: 1_000_000 },
  });
  await source.workload.run({ operations: 60 });
  await source.workload.drain();
  p = await startPipelineWorker(
    source,
    'metrics',
    [CLAIMS_PIPELINE_TABLES.cdc!, CLAIMS_PIPELINE_TABLES.change_tracking!],
    { metricsPort: 0, metricsRefreshMs: 1000 },
  );
  prom = await startPrometheusServer({ targets: [`127.0.0.1:${p.worker.metrics!.port}`], interval: '1s' });
});

after(async () => {
  const tables = p?.config.tables.map((t) => tableRef(p.config, t)) ?? [];
  await terminateTableSyncs(p?.client, tables);
  await prom?.stop();
  await p?.close();
  await source?.stop();
});

/** Polls `query` until `check` accepts its result (or fails with the last result). */
async function until<T>(what: string, read: () => Promise<T>, check: (v: T) => boolean, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  for (;;) {
    last = await read();
    if (check(last)) return last;
    if (Date.now() > deadline) assert.fail(`${what}: last ${JSON.stringify(last)}`);
    await sleep(1000);
  }
}

const byTable = (rows: { metric: Record<string, string>; value: [number, string] }[]) =>
  Object.fromEntries(rows.map((r) => [r.metric.table ?? '', Number(r.value[1])]));

test('Prometheus scrapes the worker: per-table series equal what the tables committed, dashboard queries return data', async () => {
  const tables = p.config.tables.map((t) => tableRef(p.config, t));
  const started = await runTidemark(p.configFile, p.dir, ['start', '--wait'], { ...process.env, ...p.env });
  assert.equal(started.code, 0, started.err);
  await assertTablesConverge(p.deps, p.client, tables, 'after the snapshot', 120_000);
  // Changes after the snapshot: incremental windows (freshness, lag, stages of `changes`).
  await source.workload.run({ operations: 40 });
  await source.workload.drain();
  await assertTablesConverge(p.deps, p.client, tables, 'after the workload', 120_000);

  // The scrape is up, and it carries both Tidemark's series and the Temporal SDK's (one endpoint).
  await until(
    'scrape up',
    () => promQuery(prom.url, 'up{job="tidemark-worker"}'),
    (r) => r[0]?.value[1] === '1',
  );
  const pollers = await until(
    'Temporal SDK metrics',
    () => promQuery(prom.url, 'sum by (task_queue) (temporal_num_pollers{job="tidemark-worker"})'),
    (r) => r.length > 0,
  );
  assert.equal(pollers[0]!.metric.task_queue, p.config.temporal.taskQueue);

  // Per table: events landed and windows committed equal the table's own account (its status query), which the
  // converged lake backs; the state is running; lag and freshness are measured.
  const status = JSON.parse(
    (await runTidemark(p.configFile, p.dir, ['status', '--json'], { ...process.env, ...p.env })).out,
  ) as TableStatusRow[];
  const expectedRows = Object.fromEntries(status.map((s) => [s.table, s.status!.rowsCommitted]));
  const expectedWindows = Object.fromEntries(status.map((s) => [s.table, s.status!.windowsCommitted]));
  await p.worker.metrics!.refresh();
  const landed = await until(
    'events landed = rows committed',
    async () => byTable(await promQuery(prom.url, 'sum by (table) (tidemark_events_landed_total)')),
    (got) => tables.every((t) => got[t.id] === expectedRows[t.id]),
  );
  assert.deepEqual(landed, expectedRows);
  assert.deepEqual(
    byTable(await promQuery(prom.url, 'sum by (table) (tidemark_windows_committed_total)')),
    expectedWindows,
  );
  for (const t of tables) assert.ok(expectedRows[t.id]! > 0, `${t.id} landed rows`);
  const running = byTable(await promQuery(prom.url, 'tidemark_table_state{state="running"}'));
  assert.deepEqual(running, Object.fromEntries(tables.map((t) => [t.id, 1])));
  const lag = byTable(await promQuery(prom.url, 'tidemark_lag_seconds'));
  const through = byTable(await promQuery(prom.url, 'tidemark:staleness_seconds'));
  for (const t of tables) {
    assert.ok(lag[t.id] !== undefined && lag[t.id]! >= 0, `${t.id} lag ${lag[t.id]}`);
    assert.ok(through[t.id] !== undefined && through[t.id]! < 1800, `${t.id} staleness ${through[t.id]}`);
  }
  const freshnessCount = byTable(
    await promQuery(prom.url, 'sum by (table) (tidemark_freshness_seconds_count{basis="upper_bound"})'),
  );
  for (const t of tables) assert.ok(freshnessCount[t.id]! > 0, `${t.id} freshness observed`);
  // The retention horizon: the source's retention minus the table's lag (Change Tracking: the database's setting).
  const horizon = byTable(await promQuery(prom.url, 'tidemark_retention_horizon_seconds'));
  const ct = tables.find((t) => t.strategy === 'change_tracking')!;
  assert.ok(horizon[ct.id]! > 3600, `${ct.id} horizon ${horizon[ct.id]}`);
  // No alert fires on a healthy pipeline.
  const firing = await promQuery(prom.url, 'ALERTS{alertstate="firing"}');
  assert.deepEqual(
    firing.map((a) => a.metric.alertname),
    [],
  );

  // Every dashboard query returns data from this Prometheus (rate windows need a few scrapes: waited above).
  const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as {
    panels: { title: string; targets?: { expr: string }[] }[];
  };
  const empty: string[] = [];
  for (const panel of dashboard.panels)
    for (const target of panel.targets ?? []) {
      const expr = target.expr.replaceAll('$table', '.*').replaceAll('$__rate_interval', '1m');
      const excused = Object.keys(NO_DATA_HERE).find((m) => expr.includes(m));
      const rows = await promQuery(prom.url, expr);
      if (rows.length === 0 && !excused) empty.push(`${panel.title}: ${target.expr}`);
    }
  assert.deepEqual(empty, [], 'dashboard queries without data');
});
