/**
 * The chaos run's own stack, every part restartable: Azurite persisting to a folder and the Temporal dev server
 * persisting to a SQLite file (both child processes on free ports, restarted on the same port and data), the
 * SQL Server simulator with the claims tables behind an availability-group listener and its fault control
 * channel, and Tidemark workers as OS processes (src/worker.ts) on one task queue.
 *
 * Nothing here reaches into Tidemark: the workers are black boxes that read the config file written here.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@temporalio/client';
import { bundleWorkflowCode } from '@temporalio/worker';
import { FAILURE_CONVERTER_PATH } from '../../src/temporal/data-converter.js';
import { azuriteConnectionString, startAzurite } from '../stack/azurite.js';
import { freePort, stopProcess, type SpawnedService } from '../stack/process.js';
import { ensureTemporalBinaries, startTemporalDevServer } from '../stack/temporal.js';
import { startClaimsSource, type ClaimsSource } from '../demo/harness.js';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.js';
import { WORKFLOW_BUNDLE, WORKFLOWS_SOURCE } from '../../src/worker.js';
// The e2e tests' worker-process launcher: one launcher for every place that runs workers as OS processes.
import { startWorkerProcess, type WorkerProcess } from '../../test/e2e/support/worker-process.js';

const HOST = '127.0.0.1';

/** A server child process that can be stopped and started again on the same port and data. */
export class RestartableService {
  private service: SpawnedService | undefined;
  restarts = 0;

  constructor(
    readonly name: string,
    private readonly start: () => Promise<SpawnedService>,
  ) {}

  async up(): Promise<void> {
    this.service = await this.start();
    const pid = this.service.pid;
    // A runner that exits (Ctrl-C, a crash) must not leave the server running.
    const guard = () => {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        /* already gone */
      }
    };
    process.once('exit', guard);
    this.service.child.once('exit', () => process.off('exit', guard));
  }

  /** SIGTERM (then SIGKILL after 10 s): Azurite flushes its metadata on SIGTERM, loses its last seconds on SIGKILL. */
  async down(): Promise<void> {
    if (this.service) await stopProcess(this.service.pid, 10_000);
    this.service = undefined;
  }

  async restart(downMs: number): Promise<void> {
    await this.down();
    await sleep(downMs);
    await this.up();
    this.restarts++;
  }
}

export interface ChaosStackOptions {
  runDir: string;
  workload: { seed: number };
}

export class ChaosStack {
  readonly workers: WorkerProcess[] = [];
  private workerSeq = 0;
  configFile = '';
  workerEnv: Record<string, string> = {};
  /** The runner's Temporal client (faults that signal a table use it). */
  client: Client | undefined;
  /** Tables a fault took changes away from: they must have healed by re-seeding (checked at the end). */
  readonly expectedReseeds = new Set<string>();
  /**
   * Stops a fault causes by design, by table: the reasons they may give (a dropped capture instance stops its
   * table until an operator re-creates it). The checks accept such a stop, and report it, if the table runs again.
   */
  readonly expectedStops = new Map<string, RegExp>();

  private constructor(
    readonly runDir: string,
    readonly azurite: RestartableService,
    readonly azuriteConnectionString: string,
    readonly temporal: RestartableService,
    readonly temporalAddress: string,
    readonly source: ClaimsSource,
    /** The workers reach Azurite through this proxy (storage-drop, storage-delay); the runner's checks do not. */
    readonly storageProxy: TcpProxy,
  ) {}

  /** The connection string the workers use: Azurite's, through {@link storageProxy}. */
  get workerAzuriteConnectionString(): string {
    return azuriteConnectionString(HOST, this.storageProxy.port);
  }

  /** Starts Azurite, Temporal, the simulator (AG + control channel) and builds the workflow bundle. */
  static async start(options: ChaosStackOptions, say: (line: string) => void): Promise<ChaosStack> {
    const logs = join(options.runDir, 'logs');
    await mkdir(logs, { recursive: true });
    const binaries = ensureTemporalBinaries(join(process.cwd(), '.tidemark'), say);
    const azuritePort = await freePort();
    const azurite = new RestartableService('azurite', () =>
      startAzurite({
        host: HOST,
        port: azuritePort,
        location: join(options.runDir, 'azurite'),
        logFile: join(logs, 'azurite.log'),
        detached: false,
      }),
    );
    const temporalPort = await freePort();
    const temporal = new RestartableService('temporal', () =>
      startTemporalDevServer({
        binary: binaries.temporal,
        host: HOST,
        port: temporalPort,
        uiPort: 0,
        headless: true,
        dbFile: join(options.runDir, 'temporal', 'temporal.db'),
        logFile: join(logs, 'temporal.log'),
        detached: false,
      }),
    );
    const started: RestartableService[] = [];
    try {
      say(`Azurite on ${HOST}:${azuritePort} (data in ${join(options.runDir, 'azurite')}) …`);
      await azurite.up();
      started.push(azurite);
      say(`Temporal dev server on ${HOST}:${temporalPort} (db ${join(options.runDir, 'temporal', 'temporal.db')}) …`);
      await temporal.up();
      started.push(temporal);
    } catch (err) {
      for (const s of started.reverse()) await s.down();
      throw err;
    }
    say('SQL Server simulator (claims tables, availability group, fault control channel) …');
    const source = await startClaimsSource({
      cdcPollMs: 500,
      workload: {
        seed: options.workload.seed,
        rate: 0,
        longTransactionMs: 500,
        // Past stamps are the nightly sweep's business, not what this run measures (as in the e2e tests).
        skewProbability: 0,
      },
      simulator: { secondary: { redoLagMs: 0 }, control: { port: 0 } },
    });
    const storageProxy = await startTcpProxy({ target: { host: HOST, port: azuritePort } });
    // Workers load one pre-built bundle (NODE_ENV=production): built once here from the current source, so a
    // restarted worker is polling in seconds instead of re-bundling on a busy machine.
    say('Building the workflow bundle …');
    const { code } = await bundleWorkflowCode({
      workflowsPath: WORKFLOWS_SOURCE,
      failureConverterPath: FAILURE_CONVERTER_PATH,
      logger: quietLogger,
    });
    await mkdir(join(WORKFLOW_BUNDLE, '..'), { recursive: true });
    await writeFile(WORKFLOW_BUNDLE, code);
    return new ChaosStack(
      options.runDir,
      azurite,
      azuriteConnectionString(HOST, azuritePort),
      temporal,
      `${HOST}:${temporalPort}`,
      source,
      storageProxy,
    );
  }

  /** The simulator's fault control channel (sim/faults/control-server.ts). */
  async control<T = unknown>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<T> {
    const c = this.source.sim.control;
    if (!c) throw new Error('the simulator has no control channel');
    const res = await fetch(`http://${c.host}:${c.port}${path}`, {
      method,
      headers: { 'content-type': 'application/json' },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const value = (await res.json()) as T & { error?: string };
    if (!res.ok) throw new Error(`sim control ${method} ${path}: ${res.status} ${value.error ?? ''}`);
    return value;
  }

  /** Starts one more worker process and waits until it polls. */
  async startWorker(): Promise<WorkerProcess> {
    const name = `worker-${++this.workerSeq}`;
    const w = await startWorkerProcess({
      configFile: this.configFile,
      env: this.workerEnv,
      logFile: join(this.runDir, 'logs', `${name}.log`),
      nodeEnv: 'production',
      activityConcurrency: 4,
      readyTimeoutMs: 120_000,
    });
    this.workers.push(w);
    return w;
  }

  /** Removes a worker from the live list (it was killed or stopped). */
  forget(w: WorkerProcess): void {
    const i = this.workers.indexOf(w);
    if (i >= 0) this.workers.splice(i, 1);
  }

  async stop(): Promise<void> {
    for (const w of this.workers.splice(0)) await w.kill().catch(() => undefined);
    await this.source.stop().catch(() => undefined);
    await this.storageProxy.close().catch(() => undefined);
    await this.temporal.down();
    await this.azurite.down();
  }
}

const quietLogger = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: (message: string) => process.stderr.write(`workflow bundle: ${message}\n`),
};
