/**
 * The end-to-end tests' pipeline with Tidemark workers as their own OS processes (`src/worker.ts`, the flags
 * `npm run worker` gives it) around a started simulator: the config written to a temporary directory, the
 * activities' dependencies in this process (to verify the lake), a Temporal client, and one worker process per
 * entry of `workers` (log file `<name>.log` in the directory).
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { buildDependencies, type ActivityDeps } from '../../../src/activities/index.js';
import { createLogger } from '../../../src/util/logger.js';
import { pipelineConfig, type ClaimsSource, type PipelineTable } from '../../../scripts/demo/harness.js';
import { azuriteForTests, temporalForTests } from '../../support/stack.js';
import { startWorkerProcess, type WorkerProcess } from './worker-process.js';

export interface ProcessWorkers {
  readonly dir: string;
  readonly taskQueue: string;
  readonly deps: ActivityDeps;
  readonly client: Client;
  /** In the order of `workers`. */
  readonly workers: WorkerProcess[];
  /** Closes the client, stops the workers, closes the dependencies and removes the directory. */
  close(): Promise<void>;
}

/** `name` prefixes the task queue, container and directory, each made unique. */
export async function startProcessWorkers(
  source: ClaimsSource,
  name: string,
  tables: PipelineTable[],
  workers: readonly { readonly name: string; readonly activityConcurrency?: number }[],
): Promise<ProcessWorkers> {
  const temporalAddress = await temporalForTests();
  const taskQueue = `${name}-${randomBytes(4).toString('hex')}`;
  const { yaml, env, config } = pipelineConfig({
    sourcePort: source.sim.port,
    azuriteConnectionString: await azuriteForTests(),
    temporalAddress,
    taskQueue,
    container: `${name}-${randomBytes(4).toString('hex')}`,
    tables,
  });
  const dir = await mkdtemp(join(tmpdir(), `tidemark-${name}-`));
  const configFile = join(dir, 'tidemark.yaml');
  await writeFile(configFile, yaml);
  const deps = await buildDependencies(config, createLogger({ name, level: 'warn' }));
  const connection = await Connection.connect({ address: temporalAddress });
  const started: WorkerProcess[] = [];
  const close = async () => {
    await connection.close();
    for (const w of started) await w.stop().catch(() => undefined);
    await deps.close();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    for (const w of workers)
      started.push(
        await startWorkerProcess({
          configFile,
          env,
          logFile: join(dir, `${w.name}.log`),
          ...(w.activityConcurrency !== undefined ? { activityConcurrency: w.activityConcurrency } : {}),
        }),
      );
  } catch (e) {
    await close();
    throw e;
  }
  return { dir, taskQueue, deps, client: new Client({ connection }), workers: started, close };
}
