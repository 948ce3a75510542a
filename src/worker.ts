/**
 * The Tidemark worker: builds the dependencies from the config (source pool, blob store, logger) and runs a
 * Temporal worker with the workflows and activities on the configured task queue. Several workers on one task
 * queue share the work (chunks of a snapshot fan out across them).
 *
 * - Workflow code: the pre-built bundle (`npm run build:workflows` → `dist/workflow-bundle.js`) when
 *   NODE_ENV=production and the bundle exists; otherwise bundled at start from src/workflows.
 * - Graceful shutdown on SIGINT/SIGTERM: no new tasks, in-flight activities get `shutdownGraceTime` to finish
 *   (an extraction interrupted later resumes from its heartbeat on another worker), then the Parquet writer
 *   threads end before the process exits ({@link runUntilSignalled}).
 * - Logs are JSON (pino); the Temporal Runtime's own logs are routed into it at WARN and above, errors (e.g. of a
 *   failed activity) with their message, credentials masked.
 * - Setup problems (Temporal or storage unreachable, bad config) end the process with one line that names what
 *   was tried and what to do, and exit code 1 (2 for config).
 *
 * - Metrics: with `--metrics-port P` (or TIDEMARK_METRICS_PORT), `GET :P/metrics` serves Tidemark's series
 *   (docs/metrics.md) and the Temporal SDK's runtime metrics in one endpoint; off by default.
 *
 * - Activity slots (`--activity-concurrency`, TIDEMARK_ACTIVITY_CONCURRENCY): {@link DEFAULT_ACTIVITY_SLOTS} by
 *   default. More throughput comes from more workers on the task queue, each with its own cores.
 *
 * - Chunk reads (`--chunk-reads`, TIDEMARK_CHUNK_READS): how many job chunks read the source at once in this
 *   process ({@link DEFAULT_CHUNK_READ_SLOTS} by default; capture/chunk-read-budget.ts): what bounds the worker's
 *   memory however many chunks its slots take.
 *
 * - Heap: `npm run worker` starts node with a V8 old-generation cap (worker-heap.ts), which keeps the worker's memory
 *   under 1 GiB; a worker started without one logs a warning.
 *
 * CLI: `npm run worker -- --config tidemark.yaml [--activity-concurrency N] [--chunk-reads N] [--metrics-port 9464]`
 * (or TIDEMARK_CONFIG).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { configuredDataConverter } from './temporal/data-converter.js';
import type { Duration } from '@temporalio/common';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  activityLineage,
  activityMeter,
  createActivities,
  lineageEmitterOf,
  logContextInterceptor,
  type StopKinds,
} from './activities/index.js';
import { findTable, tableRef } from './config/tables.js';
import { freeLoopbackPort, startMetricsServer, type MetricsServer } from './metrics/metrics-server.js';
import { TidemarkMetrics } from './metrics/tidemark-metrics.js';
import { startTableMetricsRefresher, type TableMetricsRefresher } from './worker-metrics.js';
import { buildDependencies, type ActivityDeps } from './activities/dependencies.js';
import { loadConfig, phiColumnNames, type TableConfig, type TidemarkConfig } from './config/index.js';
import {
  chunkBackoffKey,
  chunkRowsPerSecondCap,
  installFastDateDecode,
  installFastVarcharDecode,
} from './source/index.js';
import { closeWriterThreads, prewarmWriterThreads } from './lake/parquet-writer-thread.js';
import { resolveSecret } from './config/secrets.js';
import { temporalConnectionSettings, temporalTarget, temporalUnreachableError } from './temporal/connect.js';
import { createLogger, type Logger } from './util/logger.js';
import { runtimeLogLine } from './worker-runtime-log.js';
import { packageIdentity } from './util/package-identity.js';
import { chunkReadBudget, DEFAULT_CHUNK_READ_SLOTS } from './capture/chunk-read-budget.js';
import { heapCapped, heapLimitMb, WORKER_NODE_FLAGS } from './worker-heap.js';
import { nodeRuntimeWarning } from './util/node-runtime.js';

export const WORKFLOWS_SOURCE = fileURLToPath(new URL('./workflows/index.ts', import.meta.url));
export const WORKFLOW_BUNDLE = fileURLToPath(new URL('../dist/workflow-bundle.js', import.meta.url));

export interface StartWorkerOptions {
  config: TidemarkConfig;
  logger?: Logger;
  /** Dependencies built by the caller (tests); built from the config otherwise (and closed on shutdown). */
  deps?: ActivityDeps;
  /** Activities run at once by this worker (default {@link DEFAULT_ACTIVITY_SLOTS}). */
  activityConcurrency?: number;
  /** Overrides `temporal.taskQueue`. */
  taskQueue?: string;
  /** Time in-flight activities get to finish on shutdown (default 30 s). */
  shutdownGraceTime?: Duration;
  /**
   * Serve Prometheus metrics on this port (0: any free port; undefined: no endpoint — the default, and what tests
   * use unless they test metrics). Tidemark's series and the Temporal SDK's runtime metrics share the endpoint.
   */
  metricsPort?: number;
  /** Interface the metrics endpoint listens on (default: all). */
  metricsHost?: string;
  /** How often the table gauges are refreshed from the workflows' status (default 15 s). */
  metricsRefreshMs?: number;
}

/** The worker's metrics, when it serves them. */
export interface WorkerMetrics {
  readonly port: number;
  readonly metrics: TidemarkMetrics;
  /** Refreshes the table gauges now (tests: before scraping). */
  refresh(): Promise<void>;
}

export interface RunningWorker {
  worker: Worker;
  deps: ActivityDeps;
  /** Resolves when the worker has stopped and its dependencies are closed. */
  done: Promise<void>;
  /** Stops taking work, waits for in-flight tasks, closes dependencies. */
  stop(): Promise<void>;
  /** Present when the worker serves metrics (`metricsPort`). */
  metrics?: WorkerMetrics;
}

/**
 * Activities a worker runs at once unless told. Not fewer than this by default: every table's window steps share
 * these slots with any snapshot chunks, so a worker with one slot would hold every other table's windows behind a
 * chunk that reads for minutes (their freshness is the product). Measured on a 2-core worker, 500K rows in two
 * chunks: 2 slots loaded at 0.232× the raw read, 1 slot at 0.190× (docs/performance.md, "Snapshot fan-out") — more
 * slots were not slower; the chunk count was what cost.
 */
export const DEFAULT_ACTIVITY_SLOTS = 4;

let runtimeInstalled = false;
let runtimeMetricsAddress: string | undefined;

/**
 * Routes the Temporal Runtime's logs into pino (WARN+), once per process; with `metricsBindAddress`, the
 * runtime's Rust core also serves its own Prometheus metrics there. Returns the address the runtime's metrics
 * are served on (undefined: none — the runtime of this process was installed without them).
 */
export function installRuntimeLogger(logger: Logger, metricsBindAddress?: string): string | undefined {
  if (runtimeInstalled) return runtimeMetricsAddress;
  runtimeInstalled = true;
  runtimeMetricsAddress = metricsBindAddress;
  const temporalLog = logger.child({ component: 'temporal' });
  Runtime.install({
    // Levels and fields as src/worker-runtime-log.ts decides (an activity not registered here is a WARN).
    logger: new DefaultLogger('WARN', (entry) => {
      const line = runtimeLogLine(entry);
      temporalLog[line.level](line.fields, line.message);
    }),
    // Core (Rust) logs go to the console by default; forward them into the same JSON log instead.
    telemetryOptions: {
      logging: { filter: { core: 'WARN', other: 'WARN' }, forward: {} },
      // Names as docs/metrics.md lists them: counters with `_total`, durations in seconds with the unit suffix.
      ...(metricsBindAddress
        ? {
            metrics: {
              prometheus: {
                bindAddress: metricsBindAddress,
                countersTotalSuffix: true,
                unitSuffix: true,
                useSecondsForDurations: true,
              },
            },
          }
        : {}),
    },
  });
  return runtimeMetricsAddress;
}

function chunkCapOf(t: TableConfig): { chunkMaxRowsPerSecond?: number } {
  const cap = chunkRowsPerSecondCap(t);
  return cap === undefined ? {} : { chunkMaxRowsPerSecond: cap };
}

/** Tidemark's metrics of every configured table. */
export function workerMetricsOf(config: TidemarkConfig, taskQueue: string): TidemarkMetrics {
  const metrics = new TidemarkMetrics(
    config.tables.map((t) => ({
      table: tableRef(config, t).id,
      strategy: t.capture.strategy,
      cadenceSeconds: t.cadence.ms / 1000,
      maxRowsPerSecond: t.limits.maxRowsPerSecond,
      ...chunkCapOf(t),
      database: config.source.database,
    })),
  );
  metrics.workerInfo.set(
    { namespace: config.temporal.namespace, task_queue: taskQueue, version: packageIdentity().version },
    1,
  );
  return metrics;
}

/** Creates and runs a worker; returns at once with a handle. */
export async function startWorker(options: StartWorkerOptions): Promise<RunningWorker> {
  const { config } = options;
  // Once per process, before the first source connection: the driver's ASCII varchar shortcut and its one-`Date`
  // datetime2/date read (both exact; see src/source/varchar-decode.ts, src/source/date-decode.ts). Here, not at
  // each connection open, so only worker processes patch the driver.
  installFastVarcharDecode();
  const logger = options.logger ?? createLogger({ name: 'worker', phiColumns: phiColumnNames(config) });
  const dates = installFastDateDecode();
  if (!dates.installed)
    logger.warn(
      `datetime2 and date values are read by the driver's own, slower reader: ${dates.reason}. ` +
        'Loads are correct; to get the faster read, run the tedious version in package-lock.json.',
    );
  const wantMetrics = options.metricsPort !== undefined;
  const coreAddress = installRuntimeLogger(logger, wantMetrics ? `127.0.0.1:${await freeLoopbackPort()}` : undefined);
  if (wantMetrics && !coreAddress)
    logger.warn('the Temporal runtime of this process was installed without metrics: serving Tidemark metrics only');
  const ownDeps = !options.deps;
  const deps = options.deps ?? (await buildDependencies(config, logger));
  const taskQueue = options.taskQueue ?? config.temporal.taskQueue;
  const metrics = wantMetrics ? workerMetricsOf(config, taskQueue) : undefined;
  const throttle = deps.source.throttle;
  const dataConverter = await configuredDataConverter(config.temporal, resolveSecret);
  const connection = await connectTemporal(config, async () => {
    if (ownDeps) await deps.close();
  });
  const useBundle = process.env.NODE_ENV === 'production' && existsSync(WORKFLOW_BUNDLE);
  let probeErrorLoggedAt = 0;
  deps.source.onProbeError ??= (message) => {
    // A failing probe fails every interval: told once a minute.
    if (Date.now() - probeErrorLoggedAt < 60_000) return;
    probeErrorLoggedAt = Date.now();
    logger.warn(
      { error: message },
      'latency probe failed: the latency back-off takes no decision without it (see docs/operations.md)',
    );
  };
  // Every decision of a latency back-off (one per three probes while a table reads): at debug, for tuning
  // (bench:load reads them); no row values, only rates and latencies.
  deps.source.onBackoffDecision ??= (table, d) =>
    logger.debug(
      {
        backoffTable: table,
        decision: d.decision,
        fromRowsPerSecond: d.fromRowsPerSecond,
        toRowsPerSecond: d.toRowsPerSecond,
        medianMs: +d.medianMs.toFixed(3),
        limitMs: +d.limitMs.toFixed(3),
        baselineMs: +d.baselineMs.toFixed(3),
      },
      'latency back-off decision',
    );
  const meter = activityMeter(
    metrics,
    () => throttle.stats,
    (id, path) => {
      const t = findTable(config, id);
      if (!t) return undefined;
      return deps.source.backoffRateOf(path === 'chunk' ? chunkBackoffKey(t) : `${t.schema}.${t.table}`);
    },
  );
  const lineageEmitter = await lineageEmitterOf(config, deps, logger, (destination) =>
    metrics?.lineageFailures.inc({ destination }),
  );
  const lineage = activityLineage(deps, lineageEmitter);
  const concurrency = options.activityConcurrency ?? DEFAULT_ACTIVITY_SLOTS;
  let worker: Worker;
  try {
    worker = await Worker.create({
      connection,
      namespace: config.temporal.namespace,
      taskQueue,
      ...(useBundle ? { workflowBundle: { codePath: WORKFLOW_BUNDLE } } : { workflowsPath: WORKFLOWS_SOURCE }),
      activities: createActivities(deps, meter, lineage),
      // The SDK's own activity log lines (`Activity failed`) carry the table and window too.
      interceptors: { activity: [logContextInterceptor] },
      dataConverter,
      maxConcurrentActivityTaskExecutions: concurrency,
      shutdownGraceTime: options.shutdownGraceTime ?? '30s',
    });
  } catch (err) {
    await connection.close();
    if (ownDeps) await deps.close();
    throw err;
  }
  let served: ServedMetrics | undefined;
  if (metrics && options.metricsPort !== undefined) {
    try {
      served = await serveMetrics(
        { ...options, metricsPort: options.metricsPort },
        { metrics, connection, deps, stopKinds: meter.stopKinds, logger, coreAddress },
      );
    } catch (err) {
      await connection.close();
      if (ownDeps) await deps.close();
      throw err;
    }
  }
  const refresher = served?.refresher;
  const server = served?.server;
  // The Parquet writer threads start now, not when the first window or chunk needs them (their start is seconds of
  // wall time on a busy machine, which a fresh worker's first load waited for: parquet-writer-thread.ts).
  // A thread that cannot start now is started again when a writer needs it (and fails there, with its reason).
  prewarmWriterThreads().catch((err: unknown) =>
    logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'Parquet writer threads not started ahead'),
  );
  logger.info(
    {
      taskQueue,
      activityConcurrency: concurrency,
      chunkReads: chunkReadBudget.slots,
      heapLimitMb: heapLimitMb(),
      bundle: useBundle,
      metricsPort: server?.port ?? null,
      node: process.version,
    },
    'worker started',
  );
  const runtimeWarning = nodeRuntimeWarning(process.version);
  if (runtimeWarning) logger.warn(runtimeWarning);
  const done = worker.run().finally(async () => {
    await refresher?.stop();
    await server?.close();
    // The last windows' events get a few seconds to go out (the lake copy needs the store still open).
    await Promise.race([lineageEmitter?.drain(), sleep(5000, undefined, { ref: false })]);
    await connection.close();
    if (ownDeps) await deps.close();
    logger.info('worker stopped');
  });
  const workerMetrics: WorkerMetrics | undefined =
    metrics && server && refresher ? { port: server.port, metrics, refresh: () => refresher.refresh() } : undefined;
  return {
    worker,
    deps,
    done,
    ...(workerMetrics ? { metrics: workerMetrics } : {}),
    stop: async () => {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await done;
    },
  };
}

/** Connects to Temporal; on failure runs `cleanUp` and throws the operator message naming what was tried. */
async function connectTemporal(config: TidemarkConfig, cleanUp: () => Promise<void>): Promise<NativeConnection> {
  const settings = await temporalConnectionSettings(config.temporal, resolveSecret);
  try {
    return await NativeConnection.connect(settings);
  } catch (err) {
    await cleanUp();
    throw temporalUnreachableError(err, temporalTarget(settings, config.temporal.namespace));
  }
}

interface ServedMetrics {
  readonly refresher: TableMetricsRefresher;
  readonly server: MetricsServer;
}

/** Starts the per-table status refresher and the metrics endpoint (Tidemark's series, then the SDK's). */
async function serveMetrics(
  options: StartWorkerOptions & { metricsPort: number },
  w: {
    metrics: TidemarkMetrics;
    connection: NativeConnection;
    deps: ActivityDeps;
    stopKinds: StopKinds;
    logger: Logger;
    coreAddress: string | undefined;
  },
): Promise<ServedMetrics> {
  const refresher = startTableMetricsRefresher({
    config: options.config,
    metrics: w.metrics,
    connection: w.connection,
    source: w.deps.source,
    stopKinds: w.stopKinds,
    logger: w.logger,
    ...(options.metricsRefreshMs !== undefined ? { statusIntervalMs: options.metricsRefreshMs } : {}),
  });
  try {
    const server = await startMetricsServer({
      text: () => w.metrics.text(),
      port: options.metricsPort,
      ...(options.metricsHost !== undefined ? { host: options.metricsHost } : {}),
      ...(w.coreAddress ? { coreUrl: `http://${w.coreAddress}/metrics` } : {}),
    });
    return { refresher, server };
  } catch (err) {
    await refresher.stop();
    throw new Error(
      `The metrics endpoint could not listen on port ${options.metricsPort} (${(err as Error).message}): choose another --metrics-port, or leave it out to serve no metrics`,
    );
  }
}

function argValue(argv: readonly string[], name: string): string | undefined {
  const i = argv.indexOf(name);
  if (i >= 0) return argv[i + 1];
  const eq = argv.find((a) => a.startsWith(`${name}=`));
  return eq?.slice(name.length + 1);
}

/** `npm run worker -- --config FILE [--activity-concurrency N] [--chunk-reads N] [--task-queue Q] [--metrics-port P]`. */
export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<number> {
  const file = argValue(argv, '--config') ?? process.env.TIDEMARK_CONFIG;
  const logger = createLogger({ name: 'worker' });
  if (!file) {
    logger.error('no config: pass --config FILE or set TIDEMARK_CONFIG');
    return 2;
  }
  let config: TidemarkConfig;
  try {
    config = await loadConfig(file);
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    return 2;
  }
  const concurrencyArg = argValue(argv, '--activity-concurrency') ?? process.env.TIDEMARK_ACTIVITY_CONCURRENCY;
  const concurrency = concurrencyArg === undefined ? DEFAULT_ACTIVITY_SLOTS : Number(concurrencyArg);
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    logger.error(
      `--activity-concurrency must be a whole number of at least 1, got ${concurrencyArg}: leave it out for the default of ${DEFAULT_ACTIVITY_SLOTS}`,
    );
    return 2;
  }
  const chunkReadsArg = argValue(argv, '--chunk-reads') ?? process.env.TIDEMARK_CHUNK_READS;
  const chunkReads = chunkReadsArg === undefined ? DEFAULT_CHUNK_READ_SLOTS : Number(chunkReadsArg);
  if (!Number.isInteger(chunkReads) || chunkReads < 1) {
    logger.error(
      `--chunk-reads must be a whole number of at least 1, got ${chunkReadsArg}: leave it out for the default of ${DEFAULT_CHUNK_READ_SLOTS}`,
    );
    return 2;
  }
  chunkReadBudget.resize(chunkReads);
  if (!heapCapped())
    logger.warn(
      `the worker runs without a heap cap (heap limit ${heapLimitMb()} MiB): start it with \`npm run worker\`, or give node ${WORKER_NODE_FLAGS.join(' ')}, to keep its memory under 1 GiB`,
    );
  const taskQueue = argValue(argv, '--task-queue');
  const metricsPortArg = argValue(argv, '--metrics-port') ?? process.env.TIDEMARK_METRICS_PORT;
  const metricsPort = metricsPortArg === undefined ? undefined : Number(metricsPortArg);
  if (metricsPort !== undefined && (!Number.isInteger(metricsPort) || metricsPort < 0 || metricsPort > 65535)) {
    logger.error(`--metrics-port must be a port number (0-65535), got ${metricsPortArg}`);
    return 2;
  }
  const running = await startWorker({
    ...(metricsPort !== undefined ? { metricsPort } : {}),
    config,
    logger: createLogger({ name: 'worker', phiColumns: phiColumnNames(config) }),
    activityConcurrency: concurrency,
    ...(taskQueue ? { taskQueue } : {}),
  });
  return runUntilSignalled(running, logger);
}

/** How long, after the worker stopped, its Parquet writer threads get to end before the process exits. */
const WRITER_THREADS_EXIT_MS = 30_000;

/** Exit codes of a process ended by a signal, by the shell's convention (128 + the signal's number). */
const SIGNAL_EXIT_CODES: Record<'SIGINT' | 'SIGTERM', number> = { SIGINT: 130, SIGTERM: 143 };

/**
 * Runs until SIGINT or SIGTERM (or until the worker stops), then: no new tasks, in-flight activities get their
 * grace time (`running.stop`), and the Parquet writer threads end — a part being written completes, an abandoned
 * writer closes — before the exit code is returned for `process.exit` (an exit while a thread is inside DuckDB
 * aborts the process with a native error: src/lake/parquet-writer-thread.ts, closeWriterThreads).
 *
 * A second SIGINT or SIGTERM while it waits exits at once (`exit`, code 128 + the signal's number) after one log
 * line. Decided: a second signal is an operator's "I mean it" (Ctrl-C twice; an orchestrator sends one SIGTERM and
 * then SIGKILL, so it never gets here), and cutting the wait loses nothing: what is not committed — a window or
 * chunk in flight, a part half written — is read and written again by the retry, and a commit is one conditional
 * manifest put that either happened or did not. Ignoring it would leave the operator with SIGKILL, which says
 * nothing in the log. The cost: a writer thread inside DuckDB at that moment may make the exit print a native error.
 */
export async function runUntilSignalled(
  running: Pick<RunningWorker, 'stop' | 'done'>,
  logger: Logger,
  exit: (code: number) => void = (code) => process.exit(code),
): Promise<number> {
  let stopping = false;
  const onSignal = (signal: 'SIGINT' | 'SIGTERM') => {
    if (stopping) {
      logger.warn(
        { signal },
        `second ${signal}: exiting now without waiting for in-flight activities and writer threads (nothing committed is lost; uncommitted windows and chunks are read again by their retries)`,
      );
      exit(SIGNAL_EXIT_CODES[signal]);
      return;
    }
    stopping = true;
    logger.info(
      { signal },
      'shutting down (in-flight activities get their grace time; a second SIGINT or SIGTERM exits at once)',
    );
    void running.stop();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    await running.done;
    if (!(await closeWriterThreads(WRITER_THREADS_EXIT_MS)))
      logger.warn(
        `a Parquet writer thread did not end within ${WRITER_THREADS_EXIT_MS / 1000} s of the worker stopping: exiting anyway (nothing uncommitted is lost; its window is read again)`,
      );
    return 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`worker failed: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
