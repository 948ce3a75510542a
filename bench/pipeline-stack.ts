/**
 * The pieces the end-to-end benchmarks share (bench/e2e.ts, bench/load.ts): the SQL Server simulator and a
 * Tidemark worker each as their own process, optionally pinned to CPU cores (`taskset`), a pipeline config and
 * its Temporal client, the `tidemark` CLI in process, and the table status queries the benches wait on.
 *
 * One {@link benchStack} per bench run: it holds the run's work directory (child logs, configs), its id (task
 * queue and container names) and the options every child shares (cadence, `--cpu-prof`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection } from '@temporalio/client';
import { azuriteForTests, temporalForTests } from '../test/support/stack.js';
import { pipelineConfig, type PipelineTable } from '../scripts/demo/harness.js';
import type { TableRef } from '../src/domain/table.js';
import { buildDependencies } from '../src/activities/index.js';
import { main as cli } from '../src/cli/main.js';
import { createLogger } from '../src/util/logger.js';
import type { VerifyTableOutput } from '../src/verify/verify-table.js';
import { tidemarkDataConverter } from '../src/temporal/data-converter.js';
import { parsePayloadKeys } from '../src/temporal/payload-codec.js';
import { jobWorkflowId } from '../src/workflows/chunked-jobs.js';
import { statusQuery } from '../src/workflows/messages.js';
import { tableSyncWorkflowId } from '../src/workflows/table-sync.js';
import { WORKER_NODE_FLAGS } from '../src/worker-heap.js';
import { simAdminPool } from './sim-pool.js';

export const mb = (kb: number) => Math.round(kb / 1024);
export const seconds = (ms: number) => +(ms / 1000).toFixed(2);

/** A field of a live process's /proc status (VmHWM = peak resident set, VmRSS = resident now), in MiB. */
function procMb(pid: number | undefined, field: 'VmHWM' | 'VmRSS'): number | null {
  if (pid === undefined) return null;
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m?.[1] ? mb(Number(m[1])) : null;
  } catch {
    return null;
  }
}

/** Peak resident set of a live process (Linux VmHWM), in MiB; null where /proc is not available. */
export const peakRssOf = (pid: number | undefined) => procMb(pid, 'VmHWM');
/** Resident set of a live process now (Linux VmRSS), in MiB; null where /proc is not available. */
export const rssOf = (pid: number | undefined) => procMb(pid, 'VmRSS');

export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await Promise.race([exited, sleep(20_000)]);
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

export const fmtVerify = (v: VerifyTableOutput) =>
  `${v.ok ? 'OK' : 'DIFFERENT'}: source ${v.sourceRows} rows, lake ${v.lakeRows}; missing ${v.missingInLake}, ` +
  `extra ${v.extraInLake}, different ${v.different}, duplicate events ${v.duplicateEvents}`;

export interface Pipeline {
  configFile: string;
  taskQueue: string;
  env: Record<string, string>;
  deps: Awaited<ReturnType<typeof buildDependencies>>;
  client: Client;
  close(): Promise<void>;
}

export interface BenchStackOptions {
  /** Child logs and config files go here. */
  workDir: string;
  /** Part of task queue and container names, unique per run. */
  runId: string;
  /** Prefix of task queue and container names (`bench-e2e`, `bench-load`). */
  prefix: string;
  /** Every table's cadence, seconds. */
  cadenceSeconds: number;
  /** Run workers (only them) under `node --cpu-prof`, profiles written here. */
  cpuProfDir?: string | undefined;
}

/** Where a child process may run: `taskset -c <cpus>` (e.g. "0" or "1"); undefined = anywhere. */
export type Cpus = string | undefined;

export function benchStack(o: BenchStackOptions) {
  /** A child node process started with tsx; resolves once `ready(line)` accepts a line of its stdout. */
  async function spawnNode(
    name: string,
    args: string[],
    env: Record<string, string>,
    ready: (line: string) => boolean,
    nodeFlags: string[] = [],
    cpus?: Cpus,
    cwd?: string,
  ): Promise<{ child: ChildProcess; firstLine: string; logFile: string }> {
    const logFile = join(o.workDir, `${name}.log`);
    const log = createWriteStream(logFile);
    const argv = [...nodeFlags, '--import', 'tsx', ...args];
    const [cmd, cmdArgs] = cpus ? ['taskset', ['-c', cpus, process.execPath, ...argv]] : [process.execPath, argv];
    const child = spawn(cmd, cmdArgs, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
      ...(cwd ? { cwd } : {}),
    });
    child.stderr?.pipe(log);
    const firstLine = await new Promise<string>((resolve, reject) => {
      let buf = '';
      child.stdout?.on('data', (d: Buffer) => {
        log.write(d);
        buf += d.toString();
        for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          if (ready(line)) resolve(line);
        }
      });
      child.once('exit', (code) =>
        reject(new Error(`${name} exited with ${code} before it was ready (log: ${logFile})`)),
      );
    });
    return { child, firstLine, logFile };
  }

  /**
   * The SQL Server simulator as its own process (`sim/cli.ts`), with the young generation `npm run sim` gives it
   * (64 MB semi-spaces: sim/README.md "Scale"; under bench:load's writes, 0.85–0.89× its CPU per change event and
   * a third of the bytes promoted, docs/performance.md "The simulator under sustained load"); `nodeFlags` more,
   * e.g. a larger heap; `cwd` another checkout's root, to run its simulator instead of this one's
   * (bench:sim:workload's `--baseline-sim`).
   */
  async function startSim(args: string[], cpus?: Cpus, poolMax = 6, nodeFlags: string[] = [], cwd?: string) {
    const { child, firstLine } = await spawnNode(
      'simulator',
      ['sim/cli.ts', '--port', '0', '--cdc-polling-s', '1', ...args],
      {},
      (l) => l.includes('listening'),
      ['--max-semi-space-size=64', ...nodeFlags],
      cpus,
      cwd,
    );
    const address = JSON.parse(firstLine) as { host: string; port: number };
    const admin = await simAdminPool(address, { poolMax, requestTimeout: 0 });
    return { child, host: address.host, port: address.port, admin };
  }

  /**
   * A Tidemark worker as its own process (`src/worker.ts`), ready once it logged `worker started`. With
   * `cpuProfDir`, the worker (and only it) runs under `node --cpu-prof`; the profile is written when it exits.
   */
  async function startWorkerProcess(
    configFile: string,
    env: Record<string, string>,
    name: string,
    cpus?: Cpus,
    extraArgs: string[] = [],
  ) {
    // One file per thread (main, workflow and loader threads), named by pid and thread id.
    // The worker runs with the flags `npm run worker` gives it (its heap cap, src/worker-heap.ts), unless
    // BENCH_WORKER_NODE_FLAGS (space-separated; empty for none) says which node flags to try instead.
    const benchFlags = process.env.BENCH_WORKER_NODE_FLAGS;
    const workerFlags = benchFlags === undefined ? [...WORKER_NODE_FLAGS] : benchFlags.split(/\s+/).filter(Boolean);
    const flags = [...workerFlags, ...(o.cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', o.cpuProfDir] : [])];
    const { child, logFile } = await spawnNode(
      name,
      ['src/worker.ts', '--config', configFile, ...extraArgs],
      env,
      (l) => l.includes('worker started'),
      flags,
      cpus,
    );
    return { child, logFile };
  }

  async function pipeline(
    name: string,
    sourcePort: number,
    tables: PipelineTable[],
    payloadEncryption = false,
  ): Promise<Pipeline> {
    const taskQueue = `${o.prefix}-${name}-${o.runId}`;
    const { yaml, env, config } = pipelineConfig({
      payloadEncryption,
      sourcePort,
      azuriteConnectionString: await azuriteForTests(),
      temporalAddress: await temporalForTests(),
      taskQueue,
      container: `${o.prefix}-${name}-${o.runId}`,
      tables,
      cadence: `${o.cadenceSeconds}s`,
    });
    const configFile = join(o.workDir, `tidemark.${name}.yaml`);
    await writeFile(configFile, yaml);
    const deps = await buildDependencies(config, createLogger({ name: 'bench', level: 'warn' }));
    const connection = await Connection.connect({ address: config.temporal.address });
    // The bench's own client queries status: with payload keys, its payloads are sealed too.
    const keys = env.TIDEMARK_PAYLOAD_KEYS;
    const client = new Client({
      connection,
      ...(keys ? { dataConverter: tidemarkDataConverter(parsePayloadKeys(keys)) } : {}),
    });
    return {
      configFile,
      taskQueue,
      env,
      deps,
      client,
      close: async () => {
        await connection.close();
        await deps.close();
      },
    };
  }

  return { spawnNode, startSim, startWorkerProcess, pipeline };
}

export async function tidemark(p: Pipeline, args: string[]): Promise<void> {
  const code = await cli([...args, '--config', p.configFile], {
    stdout: process.stdout,
    stderr: process.stderr,
    env: { ...process.env, ...p.env },
    cwd: process.cwd(),
  });
  if (code !== 0) throw new Error(`tidemark ${args.join(' ')} exited with ${code}`);
}

export const status = (p: Pipeline, t: TableRef) =>
  p.client.workflow.getHandle(tableSyncWorkflowId(t.id)).query(statusQuery);

/** Waits until a table's initial snapshot job is done; returns its job workflow's start and close times. */
export async function waitForSnapshot(p: Pipeline, t: TableRef, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await status(p, t).catch(() => undefined);
    if (s?.mode === 'stopped') throw new Error(`${t.id} stopped: ${s.stoppedReason ?? ''}`);
    const job = s?.jobs.find((j) => j.kind === 'snapshot' && j.state === 'done');
    if (s && job) {
      const workflowId = jobWorkflowId(t.id, 'snapshot', job.id);
      const d = await p.client.workflow.getHandle(workflowId).describe();
      return {
        workflowId,
        rows: job.rows ?? 0,
        windows: job.windows ?? 0,
        jobStarted: d.startTime.getTime(),
        jobClosed: d.closeTime?.getTime() ?? Date.now(),
      };
    }
    if (Date.now() > deadline) throw new Error(`${t.id}: no initial snapshot after ${timeoutMs / 1000}s`);
    await sleep(250);
  }
}

export async function terminate(p: Pipeline, tables: TableRef[]): Promise<void> {
  for (const t of tables)
    await p.client.workflow
      .getHandle(tableSyncWorkflowId(t.id))
      .terminate('benchmark finished')
      .catch(() => undefined);
}
