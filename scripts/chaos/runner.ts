/**
 * The seeded chaos run, black-box over the real local stack:
 *
 * 1. plan the schedule from the seed (printed: same seed, same schedule);
 * 2. start the stack (stack.ts), seed the claims tables, write the config (one table per capture strategy: CDC,
 *    rowversion, Change Tracking, updated_at, identity), start two worker processes and `tidemark start`;
 * 3. chaos: the workload writes at a steady pace while the faults fire at their moments (one at a time; a fault
 *    that runs long delays the next), tables are nudged to sync often (the 1-minute minimum cadence would
 *    leave few windows to hit), and the watermark of every table is sampled against its manifests;
 * 4. quiescence: workload drained, simulator faults cleared, at least two workers alive; wait until every
 *    table's lake equals the source (or a deadline);
 * 5. checks (checks.ts), the printed table and the JSON report.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection } from '@temporalio/client';
import { buildDependencies } from '../../src/activities/dependencies.js';
import { tableContext } from '../../src/capture/table-context.js';
import { main as cli } from '../../src/cli/main.js';
import type { TableRef } from '../../src/domain/table.js';
import { createLogger } from '../../src/util/logger.js';
import type { VerifyTableOutput } from '../../src/verify/verify-table.js';
import { statusQuery, syncNowSignal } from '../../src/workflows/messages.js';
import { tableSyncWorkflowId } from '../../src/workflows/table-sync.js';
import { CLAIMS_PIPELINE_TABLES, pipelineConfig, waitUntilVerified } from '../demo/harness.js';
import { finalChecks, lakeIntegrity } from './checks.js';
import { injectFault, type FaultOutcome } from './faults.js';
import { formatReport, writeReport, type ChaosReport } from './report.js';
import { describeFault, planSchedule, type FaultKind } from './schedule.js';
import { ChaosStack } from './stack.js';

export interface ChaosOptions {
  seed: number;
  faults: number;
  /** Length of the chaos phase (default: 8 s per fault, at least 90 s). */
  chaosMs?: number;
  /** Fault kinds to draw from (default: all). */
  kinds?: readonly FaultKind[];
  /** Workload operations per second during the chaos phase (default 8). */
  rate?: number;
  /** How long quiescence may take before the checks run anyway (default 5 min). */
  quiescenceMs?: number;
  /** Where the JSON goes (default `.tidemark/chaos/<seed>.json`). */
  reportFile?: string;
  /** Working folder of the run (stack data, logs, config); default `.tidemark/chaos/run-<seed>`, removed when ok. */
  runDir?: string;
  say?: (line: string) => void;
}

/** One table per capture strategy; Claims carries the PHI rules (hash + drop). */
const TABLES: { ref: TableRef; config: (typeof CLAIMS_PIPELINE_TABLES)[string] }[] = [
  { ref: { id: 'Claims.dbo.Claims', strategy: 'cdc' }, config: CLAIMS_PIPELINE_TABLES.cdc! },
  { ref: { id: 'Claims.dbo.ClaimPayments', strategy: 'rowversion' }, config: CLAIMS_PIPELINE_TABLES.rowversion! },
  { ref: { id: 'Claims.dbo.Providers', strategy: 'change_tracking' }, config: CLAIMS_PIPELINE_TABLES.change_tracking! },
  { ref: { id: 'Claims.dbo.ProviderNotes', strategy: 'updated_at' }, config: CLAIMS_PIPELINE_TABLES.updated_at! },
  { ref: { id: 'Claims.dbo.EligibilityChecks', strategy: 'identity' }, config: CLAIMS_PIPELINE_TABLES.identity! },
];

const SEED_OPERATIONS = 300;
const WORKERS = 2;

export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const say = options.say ?? ((line: string) => process.stdout.write(`${line}\n`));
  const t0 = Date.now();
  const chaosMs = options.chaosMs ?? Math.max(90_000, options.faults * 8_000);
  const schedule = planSchedule({
    seed: options.seed,
    faults: options.faults,
    durationMs: chaosMs,
    ...(options.kinds ? { kinds: options.kinds } : {}),
  });
  say(`Schedule for seed ${options.seed} (${schedule.length} faults over ${Math.round(chaosMs / 1000)} s):`);
  for (const f of schedule) say(`  ${describeFault(f)}`);

  const runDir = resolve(options.runDir ?? join('.tidemark', 'chaos', `run-${options.seed}`));
  await rm(runDir, { recursive: true, force: true });
  await mkdir(runDir, { recursive: true });
  const reportFile = resolve(options.reportFile ?? join('.tidemark', 'chaos', `${options.seed}.json`));
  say(`Run folder: ${runDir}`);

  const stack = await ChaosStack.start({ runDir, workload: { seed: options.seed } }, say);
  let connection: Connection | undefined;
  let deps: Awaited<ReturnType<typeof buildDependencies>> | undefined;
  let client: Client | undefined;
  let removeRunDir = false;
  try {
    const workload = stack.source.workload;
    await workload.run({ operations: SEED_OPERATIONS });
    await workload.drain();
    const { yaml, env, config } = pipelineConfig({
      sourcePort: stack.source.sim.port,
      azuriteConnectionString: stack.azuriteConnectionString,
      temporalAddress: stack.temporalAddress,
      taskQueue: `chaos-${options.seed}`,
      container: `chaos-${options.seed}`,
      tables: TABLES.map((t) => t.config),
    });
    stack.configFile = join(runDir, 'tidemark.yaml');
    await writeFile(stack.configFile, yaml);
    // The workers reach storage through the proxy the storage faults act on; the runner's own reads go direct.
    stack.workerEnv = { ...env, TIDEMARK_SINK_CONNECTION_STRING: stack.workerAzuriteConnectionString };
    Object.assign(process.env, env);
    deps = await buildDependencies(config, createLogger({ name: 'chaos', level: 'error' }));
    for (let i = 0; i < WORKERS; i++) await stack.startWorker();
    say(`${WORKERS} workers polling (logs in ${join(runDir, 'logs')})`);
    connection = await Connection.connect({ address: stack.temporalAddress });
    client = new Client({ connection });
    stack.client = client;
    const started = await runCli(['start', '--config', stack.configFile], runDir);
    if (started.code !== 0) throw new Error(`tidemark start failed (${started.code}): ${started.err}`);
    const setupMs = Date.now() - t0;
    say(`Setup done in ${Math.round(setupMs / 1000)} s; chaos for ${Math.round(chaosMs / 1000)} s …`);

    // --- chaos ---
    const phaseStart = Date.now();
    const stop = new AbortController();
    let workloadOperations = 0;
    let workloadErrors = 0;
    const rate = options.rate ?? 8;
    const writer = (async () => {
      for (let n = 1; !stop.signal.aborted; n++) {
        try {
          await workload.step();
          workloadOperations++;
        } catch {
          workloadErrors++; // a failover resets the workload's connections too
        }
        const wait = phaseStart + (n * 1000) / rate - Date.now();
        if (wait > 0) await sleep(wait);
      }
    })();
    const c = client;
    // Every table that is seen stopped, with its reason: quiescence wakes tables with pause + resume, which also
    // resumes a stopped one, so a stop is recorded when seen, not only at the end.
    const stopsSeen = new Map<string, string[]>();
    const observe = async (id: string) => {
      const s = await c.workflow.getHandle(tableSyncWorkflowId(id)).query(statusQuery);
      if (s.mode !== 'stopped') return;
      const reason = `stopped: ${s.stoppedReason ?? '(no reason)'}`;
      const seen = stopsSeen.get(id) ?? [];
      if (!seen.includes(reason)) stopsSeen.set(id, [...seen, reason]);
    };
    const nudger = (async () => {
      while (!stop.signal.aborted) {
        for (const t of TABLES) {
          const handle = c.workflow.getHandle(tableSyncWorkflowId(t.ref.id));
          await handle.signal(syncNowSignal).catch(() => undefined);
          await observe(t.ref.id).catch(() => undefined);
        }
        await sleep(5_000);
      }
    })();
    const watermarkSamples = new Map<string, string[]>();
    const d = deps;
    const sampler = (async () => {
      while (!stop.signal.aborted) {
        for (const t of TABLES) {
          try {
            const integrity = await lakeIntegrity((await tableContext(d, t.ref)).lake);
            const problems = [...integrity.watermarkProblems, ...integrity.chainProblems];
            if (problems.length)
              watermarkSamples.set(t.ref.id, [...(watermarkSamples.get(t.ref.id) ?? []), ...problems]);
          } catch {
            // Storage down for a fault: sample again later.
          }
        }
        await sleep(10_000);
      }
    })();
    const outcomes: FaultOutcome[] = [];
    for (const f of schedule) {
      const wait = phaseStart + f.atMs - Date.now();
      if (wait > 0) await sleep(wait);
      const o = await injectFault(stack, f, phaseStart);
      outcomes.push(o);
      say(`  [${(o.injectedAtMs / 1000).toFixed(0).padStart(4)} s] #${o.n} ${o.kind}: ${o.detail}`);
    }
    const rest = phaseStart + chaosMs - Date.now();
    if (rest > 0) await sleep(rest);
    stop.abort();
    await Promise.all([writer, nudger, sampler]);
    await workload.drain().catch(() => undefined);
    const chaosDone = Date.now();

    // --- quiescence ---
    say('Quiescence: faults cleared, workload stopped; waiting until every table catches up …');
    await stack.control('DELETE', '/faults').catch(() => undefined);
    while (stack.workers.length < WORKERS) await stack.startWorker();
    for (const t of TABLES) await observe(t.ref.id).catch(() => undefined);
    const verified = new Map<string, VerifyTableOutput | Error>();
    const deadline = Date.now() + (options.quiescenceMs ?? 300_000);
    for (const t of TABLES) {
      try {
        const v = await waitUntilVerified(deps, client, t.ref, { timeoutMs: Math.max(10_000, deadline - Date.now()) });
        verified.set(t.ref.id, v);
        say(`  ${t.ref.id}: ${v.ok ? 'equals the source' : 'still differs at the deadline'} (${v.windows} windows)`);
      } catch (err) {
        verified.set(t.ref.id, err instanceof Error ? err : new Error(String(err)));
      }
    }
    const quiesced = Date.now();

    // --- checks ---
    const findings = await finalChecks(
      deps,
      client,
      TABLES.map((t) => t.ref),
      verified,
      watermarkSamples,
      stack.expectedReseeds,
      stopsSeen,
      stack.expectedStops,
    );
    const ok = findings.every((f) => f.ok);
    const injected = outcomes.filter((o) => o.injected).length;
    const report: ChaosReport = {
      seed: options.seed,
      faultsRequested: options.faults,
      schedule,
      outcomes,
      tables: TABLES.map((t) => ({ id: t.ref.id, strategy: t.ref.strategy })),
      findings,
      survived: ok ? injected : 0,
      ok,
      timings: {
        setupMs,
        chaosMs: chaosDone - phaseStart,
        quiescenceMs: quiesced - chaosDone,
        checksMs: Date.now() - quiesced,
        totalMs: Date.now() - t0,
      },
      workloadOperations,
      workloadErrors,
    };
    await writeReport(reportFile, report);
    say('');
    say(formatReport(report));
    say(`JSON: ${reportFile}`);
    removeRunDir = ok;
    if (!ok) say(`Kept the run folder for inspection: ${runDir}`);
    return report;
  } finally {
    if (client)
      for (const t of TABLES)
        await client.workflow
          .getHandle(tableSyncWorkflowId(t.ref.id))
          .terminate('chaos run finished')
          .catch(() => undefined);
    await connection?.close().catch(() => undefined);
    await deps?.close().catch(() => undefined);
    await stack.stop();
    if (removeRunDir) await rm(runDir, { recursive: true, force: true }).catch(() => undefined);
  }
}

/** Runs a `tidemark` verb in this process (the operator's own CLI). */
async function runCli(args: string[], cwd: string): Promise<{ code: number; err: string }> {
  const out = new PassThrough();
  out.resume();
  const err = new PassThrough();
  const chunks: Buffer[] = [];
  err.on('data', (b: Buffer) => chunks.push(b));
  const code = await cli(args, { stdout: out, stderr: err, env: process.env, cwd });
  return { code, err: Buffer.concat(chunks).toString('utf8') };
}
