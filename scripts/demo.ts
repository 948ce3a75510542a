/**
 * `npm run demo [-- --minutes N] [--rate OPS] [--keep-stack] [--metrics-port P] [--prometheus-port P]` — the main
 * job on the embedded stack:
 *
 *   SQL Server simulator (claims tables, seeded, live workload) → Tidemark worker (in this process) on the
 *   Temporal dev server → Azurite.
 *
 * Starts the stack (scripts/stack), the simulator and its workload, a worker, then `tidemark start` for the
 * demo tables (CDC: dbo.Claims with PHI hashed/dropped; rowversion: dbo.ClaimPayments; Change Tracking:
 * dbo.Providers). Prints progress and the
 * Temporal Web UI URL. The worker serves its metrics (`--metrics-port`, default 9464, or a free port when that is
 * taken) and a real Prometheus (scripts/stack/prometheus-server.ts, with ops/prometheus/tidemark-rules.yml
 * loaded) scrapes it; its URL is printed, and the progress lines show the lag and staleness it holds. After N minutes (default 3) or Ctrl-C it stops the workload, lets the tables catch up,
 * and prints a summary per table: windows committed, rows, freshness p50/p95 (source commit → manifest
 * committed, where the source knows commit times) and the verification (lake latest state vs source: counts,
 * differences, checksums). Then it stops what it started (the stack too, unless it was already running or
 * `--keep-stack` is given). The generated config is written to `.tidemark/demo/tidemark.demo.yaml`.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection } from '@temporalio/client';
import { DEFAULT_STACK_OPTIONS, readStackState, stackDown, stackUp } from './stack/stack.js';
import { freePort, isAlive, portIsOpen } from './stack/process.js';
import { promQuery, startPrometheusServer } from './stack/prometheus-server.js';
import { CLAIMS_PIPELINE_TABLES, pipelineConfig, startClaimsSource, waitUntilVerified } from './demo/harness.js';
import { lakeFreshness } from './demo/freshness.js';
import { startWorker } from '../src/worker.js';
import { buildDependencies } from '../src/activities/index.js';
import { tableContext } from '../src/capture/table-context.js';
import type { TableRef } from '../src/domain/table.js';
import { main as cli } from '../src/cli/main.js';
import { resolveSecret } from '../src/config/secrets.js';
import { configuredDataConverter } from '../src/temporal/data-converter.js';
import { createLogger } from '../src/util/logger.js';
import { statusQuery } from '../src/workflows/messages.js';
import { tableSyncWorkflowId } from '../src/workflows/table-sync.js';

const say = (line: string) => process.stdout.write(`${line}\n`);

function flag(name: string): string | undefined {
  const argv = process.argv.slice(2);
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
}

const TABLES: TableRef[] = [
  { id: 'Claims.dbo.Claims', strategy: 'cdc' },
  { id: 'Claims.dbo.ClaimPayments', strategy: 'rowversion' },
  { id: 'Claims.dbo.Providers', strategy: 'change_tracking' },
];

async function main(): Promise<number> {
  const minutes = Number(flag('--minutes') ?? 3);
  const rate = Number(flag('--rate') ?? 20);
  const keepStack = process.argv.includes('--keep-stack');
  const stateDir = DEFAULT_STACK_OPTIONS.stateDir;
  const wasRunning = readStackState(stateDir)?.services.some((s) => isAlive(s.pid)) ?? false;

  say('Tidemark demo — starting the local stack (Azurite + Temporal dev server) …');
  const stack = await stackUp(DEFAULT_STACK_OPTIONS, say);
  say(`  Azurite (Blob):   ${stack.services.find((s) => s.name === 'azurite')?.endpoint}`);
  say(`  Temporal:         ${stack.temporalAddress}`);
  say(`  Temporal Web UI:  ${stack.temporalUi}   ← watch the table-sync workflows here`);

  say('Starting the SQL Server simulator and seeding claims data …');
  const source = await startClaimsSource({ cdcPollMs: 1000, workload: { seed: 7, rate: 0, longTransactionMs: 1500 } });
  await source.workload.run({ operations: 500 });
  await source.workload.drain();
  say(`  simulator: ${source.sim.host}:${source.sim.port} (database Claims; 500 seed operations)`);

  const container = `demo-${new Date().toISOString().replace(/\D/g, '').slice(0, 14)}`;
  const { yaml, env, config } = pipelineConfig({
    sourcePort: source.sim.port,
    azuriteConnectionString: stack.azuriteConnectionString,
    temporalAddress: stack.temporalAddress,
    taskQueue: 'tidemark-demo',
    container,
    tables: [CLAIMS_PIPELINE_TABLES.cdc!, CLAIMS_PIPELINE_TABLES.rowversion!, CLAIMS_PIPELINE_TABLES.change_tracking!],
    cadence: '1m',
    payloadEncryption: true,
  });
  const demoDir = join(stateDir, 'demo');
  await mkdir(demoDir, { recursive: true });
  const configFile = join(demoDir, 'tidemark.demo.yaml');
  await writeFile(configFile, yaml);
  Object.assign(process.env, env);
  say(`  config: ${configFile} (container ${container}, cadence 1m)`);
  say('  Temporal payloads are sealed with AES-256-GCM (temporal.payloadKeys); the Web UI shows ciphertext unless');
  say(`  you run: npx tidemark codec-server --config ${configFile}  and set it as the UI's codec endpoint.`);

  const logFile = join(stateDir, 'logs', 'demo-worker.log');
  await mkdir(join(stateDir, 'logs'), { recursive: true });
  const logger = createLogger({ name: 'worker', destination: createWriteStream(logFile, { flags: 'a' }) });
  const deps = await buildDependencies(config, logger);
  const wantedMetricsPort = Number(flag('--metrics-port') ?? 9464);
  const metricsPort = (await portIsOpen('127.0.0.1', wantedMetricsPort)) ? await freePort() : wantedMetricsPort;
  const worker = await startWorker({ config, logger, deps, shutdownGraceTime: '5s', metricsPort });
  say(`Worker running in this process (JSON logs: ${logFile}).`);
  say(`  metrics:          http://127.0.0.1:${worker.metrics!.port}/metrics (Tidemark's and the Temporal SDK's)`);
  const wantedPromPort = Number(flag('--prometheus-port') ?? 9090);
  const prometheus = await startPrometheusServer({
    targets: [`127.0.0.1:${worker.metrics!.port}`],
    stateDir,
    port: (await portIsOpen('127.0.0.1', wantedPromPort)) ? await freePort() : wantedPromPort,
    log: say,
  });
  const graph = (exprs: string[]) =>
    `${prometheus.url}/graph?${exprs.map((e, i) => `g${i}.expr=${encodeURIComponent(e)}&g${i}.tab=0&g${i}.range_input=15m`).join('&')}`;
  say(`  Prometheus:       ${prometheus.url}   ← rules and alerts loaded (ops/prometheus/tidemark-rules.yml)`);
  say(
    `    lag and freshness: ${graph(['max by (table) (tidemark_lag_seconds)', 'tidemark:staleness_seconds', 'tidemark:freshness_seconds:p95_30m'])}`,
  );
  say(`    alerts:            ${prometheus.url}/alerts`);

  const connection = await Connection.connect({ address: stack.temporalAddress });
  const client = new Client({
    connection,
    dataConverter: await configuredDataConverter(config.temporal, resolveSecret),
  });
  for (const t of TABLES)
    await client.workflow
      .getHandle(tableSyncWorkflowId(t.id))
      .terminate('a new demo run starts')
      .catch(() => undefined);
  const io = { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() };
  say('tidemark start:');
  if ((await cli(['start', '--config', configFile], io)) !== 0) throw new Error('tidemark start failed');

  const stop = new AbortController();
  process.once('SIGINT', () => {
    say('\nCtrl-C: stopping the workload and summarising …');
    stop.abort();
  });
  say(`Live workload at ${rate} operations/s for ${minutes} minute(s) (Ctrl-C to stop early) …`);
  // Paced here (the workload's own rate is fixed at construction; the seed above ran unpaced).
  const workload = (async () => {
    const t0 = Date.now();
    for (let n = 1; !stop.signal.aborted && Date.now() - t0 < minutes * 60_000; n++) {
      await source.workload.step();
      const wait = t0 + (n * 1000) / rate - Date.now();
      if (wait > 0) await sleep(wait);
    }
  })().catch((err: unknown) => say(`workload stopped: ${(err as Error).message}`));
  const started = Date.now();
  const progress = setInterval(() => {
    void (async () => {
      const parts: string[] = [];
      for (const t of TABLES) {
        try {
          const s = await client.workflow.getHandle(tableSyncWorkflowId(t.id)).query(statusQuery);
          parts.push(
            `${t.id.split('.').pop()}: ${s.mode}, ${s.windowsCommitted} windows, ${s.rowsCommitted} rows` +
              (s.lastError ? ` (last error: ${s.lastError.slice(0, 80)})` : ''),
          );
        } catch {
          parts.push(`${t.id}: starting`);
        }
      }
      say(`  [${Math.round((Date.now() - started) / 1000)}s] ${parts.join(' | ')}`);
      try {
        // What Prometheus holds now (scraped from the worker): lag and staleness per table.
        const lag = await promQuery(prometheus.url, 'max by (table) (tidemark_lag_seconds)');
        const stale = await promQuery(prometheus.url, 'tidemark:staleness_seconds');
        const p95 = await promQuery(prometheus.url, 'max by (table) (tidemark:freshness_seconds:p95_30m)');
        const cell = (rows: typeof lag, table: string) => {
          const v = Number(rows.find((r) => r.metric.table === table)?.value[1]);
          return Number.isFinite(v) ? `${v.toFixed(0)}s` : '-';
        };
        say(
          `         Prometheus: ${TABLES.map((t) => `${t.id.split('.').pop()} lag ${cell(lag, t.id)}, staleness ${cell(stale, t.id)}, freshness p95 ≤ ${cell(p95, t.id)}`).join(' | ')}`,
        );
      } catch {
        // Prometheus has not scraped yet.
      }
    })();
  }, 15_000);
  await workload;
  await source.workload.drain();
  clearInterval(progress);

  say('Workload stopped; letting every table catch up and verifying the lake against the source …');
  const results = [];
  for (const t of TABLES) {
    const v = await waitUntilVerified(deps, client, t, { timeoutMs: 120_000 });
    const ctx = await tableContext(deps, t);
    const f = await lakeFreshness(ctx.lake);
    const s = await client.workflow.getHandle(tableSyncWorkflowId(t.id)).query(statusQuery);
    results.push({ t, v, f, s });
  }

  say('');
  say('Summary');
  const fmt = (x: number | null) => (x === null ? 'n/a' : `${x.toFixed(1)}s`);
  for (const { t, v, f, s } of results) {
    say(`  ${t.id} (${t.strategy})`);
    say(
      `    windows committed: ${s.windowsCommitted} (manifests in the lake: ${v.windows}), rows landed: ${s.rowsCommitted}`,
    );
    say(
      `    freshness (source commit → manifest): p50 ${fmt(f.p50Seconds)}, p95 ${fmt(f.p95Seconds)}` +
        (f.events ? ` over ${f.events} change events` : ' (source records no commit time for this strategy)'),
    );
    say(
      `    verify at ${v.position || 'quiescence'}: source ${v.sourceRows} rows, lake ${v.lakeRows} rows, missing ${v.missingInLake}, ` +
        `extra ${v.extraInLake}, different ${v.different}, duplicate events ${v.duplicateEvents} → ${v.ok ? 'OK' : 'DIFFERENT'}`,
    );
    say(`    checksums: source ${v.sourceChecksum}, lake ${v.lakeChecksum}`);
  }
  say(`  Temporal Web UI: ${stack.temporalUi}`);
  say(`  Prometheus:      ${prometheus.url} (stops with the demo)`);

  for (const t of TABLES)
    await client.workflow
      .getHandle(tableSyncWorkflowId(t.id))
      .terminate('demo finished')
      .catch(() => undefined);
  await connection.close();
  await prometheus.stop();
  await worker.stop();
  await deps.close();
  await source.stop();
  if (!wasRunning && !keepStack) {
    await sleep(100);
    await stackDown(stateDir);
    say('Stack stopped (use --keep-stack to keep Azurite and Temporal running).');
  } else say('The stack keeps running; stop it with: npm run stack:down');
  return results.every((r) => r.v.ok) ? 0 : 3;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(1);
  },
);
