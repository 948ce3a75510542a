/**
 * The Tidemark worker: builds the dependencies from the config (source pool, blob store, logger) and runs a
 * Temporal worker with the workflows and activities on the configured task queue. Several workers on one task
 * queue share the work (chunks of a snapshot fan out across them).
 *
 * - Workflow code: the pre-built bundle (`npm run build:workflows` → `dist/workflow-bundle.js`) when
 *   NODE_ENV=production and the bundle exists; otherwise bundled at start from src/workflows.
 * - Graceful shutdown on SIGINT/SIGTERM: no new tasks, in-flight activities get `shutdownGraceTime` to finish
 *   (an extraction interrupted later resumes from its heartbeat on another worker).
 * - Logs are JSON (pino); the Temporal Runtime's own logs are routed into it at WARN and above, errors (e.g. of a
 *   failed activity) with their message, credentials masked.
 * - Setup problems (Temporal or storage unreachable, bad config) end the process with one line that names what
 *   was tried and what to do, and exit code 1 (2 for config).
 *
 * CLI: `npm run worker -- --config tidemark.yaml [--activity-concurrency 4]` (or TIDEMARK_CONFIG).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DefaultLogger, NativeConnection, Runtime, Worker, type LogLevel } from '@temporalio/worker';
import { configuredDataConverter } from './temporal/data-converter.js';
import type { Duration } from '@temporalio/common';
import { createActivities } from './activities/index.js';
import { buildDependencies, type ActivityDeps } from './activities/dependencies.js';
import { loadConfig, phiColumnNames, type TidemarkConfig } from './config/index.js';
import { resolveSecret } from './config/secrets.js';
import { temporalConnectionSettings, temporalTarget, temporalUnreachableError } from './temporal/connect.js';
import { createLogger, withSerializedErrors, type Logger } from './util/logger.js';

export const WORKFLOWS_SOURCE = fileURLToPath(new URL('./workflows/index.ts', import.meta.url));
export const WORKFLOW_BUNDLE = fileURLToPath(new URL('../dist/workflow-bundle.js', import.meta.url));

export interface StartWorkerOptions {
  config: TidemarkConfig;
  logger?: Logger;
  /** Dependencies built by the caller (tests); built from the config otherwise (and closed on shutdown). */
  deps?: ActivityDeps;
  /** Activities run at once by this worker (default 4). */
  activityConcurrency?: number;
  /** Overrides `temporal.taskQueue`. */
  taskQueue?: string;
  /** Time in-flight activities get to finish on shutdown (default 30 s). */
  shutdownGraceTime?: Duration;
}

export interface RunningWorker {
  worker: Worker;
  deps: ActivityDeps;
  /** Resolves when the worker has stopped and its dependencies are closed. */
  done: Promise<void>;
  /** Stops taking work, waits for in-flight tasks, closes dependencies. */
  stop(): Promise<void>;
}

let runtimeInstalled = false;

/** Routes the Temporal Runtime's logs into pino (WARN+), once per process. */
export function installRuntimeLogger(logger: Logger): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  const temporalLog = logger.child({ component: 'temporal' });
  Runtime.install({
    logger: new DefaultLogger('WARN', (entry) => {
      const level: LogLevel = entry.level;
      // "Activity failed" carries the error under `error`: log its message (masked), not only its type.
      const fields = withSerializedErrors(entry.meta);
      if (level === 'ERROR') temporalLog.error(fields, entry.message);
      else if (level === 'WARN') temporalLog.warn(fields, entry.message);
      else temporalLog.debug(fields, entry.message);
    }),
    // Core (Rust) logs go to the console by default; forward them into the same JSON log instead.
    telemetryOptions: { logging: { filter: { core: 'WARN', other: 'WARN' }, forward: {} } },
  });
}

/** Creates and runs a worker; returns at once with a handle. */
export async function startWorker(options: StartWorkerOptions): Promise<RunningWorker> {
  const { config } = options;
  const logger = options.logger ?? createLogger({ name: 'worker', phiColumns: phiColumnNames(config) });
  installRuntimeLogger(logger);
  const ownDeps = !options.deps;
  const deps = options.deps ?? (await buildDependencies(config, logger));
  const settings = await temporalConnectionSettings(config.temporal, resolveSecret);
  const dataConverter = await configuredDataConverter(config.temporal, resolveSecret);
  let connection: NativeConnection;
  try {
    connection = await NativeConnection.connect(settings);
  } catch (err) {
    if (ownDeps) await deps.close();
    throw temporalUnreachableError(err, temporalTarget(settings, config.temporal.namespace));
  }
  const useBundle = process.env.NODE_ENV === 'production' && existsSync(WORKFLOW_BUNDLE);
  const taskQueue = options.taskQueue ?? config.temporal.taskQueue;
  const concurrency = options.activityConcurrency ?? 4;
  let worker: Worker;
  try {
    worker = await Worker.create({
      connection,
      namespace: config.temporal.namespace,
      taskQueue,
      ...(useBundle ? { workflowBundle: { codePath: WORKFLOW_BUNDLE } } : { workflowsPath: WORKFLOWS_SOURCE }),
      activities: createActivities(deps),
      dataConverter,
      maxConcurrentActivityTaskExecutions: concurrency,
      shutdownGraceTime: options.shutdownGraceTime ?? '30s',
    });
  } catch (err) {
    await connection.close();
    if (ownDeps) await deps.close();
    throw err;
  }
  logger.info({ taskQueue, activityConcurrency: concurrency, bundle: useBundle }, 'worker started');
  const done = worker.run().finally(async () => {
    await connection.close();
    if (ownDeps) await deps.close();
    logger.info('worker stopped');
  });
  return {
    worker,
    deps,
    done,
    stop: async () => {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await done;
    },
  };
}

function argValue(argv: readonly string[], name: string): string | undefined {
  const i = argv.indexOf(name);
  if (i >= 0) return argv[i + 1];
  const eq = argv.find((a) => a.startsWith(`${name}=`));
  return eq?.slice(name.length + 1);
}

/** `npm run worker -- --config FILE [--activity-concurrency N] [--task-queue Q]`. */
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
  const concurrency = Number(
    argValue(argv, '--activity-concurrency') ?? process.env.TIDEMARK_ACTIVITY_CONCURRENCY ?? 4,
  );
  const taskQueue = argValue(argv, '--task-queue');
  const running = await startWorker({
    config,
    logger: createLogger({ name: 'worker', phiColumns: phiColumnNames(config) }),
    activityConcurrency: concurrency,
    ...(taskQueue ? { taskQueue } : {}),
  });
  const stop = () => {
    logger.info('shutting down (in-flight activities get their grace time)');
    void running.stop();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  await running.done;
  return 0;
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
