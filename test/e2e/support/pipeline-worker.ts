/**
 * The end-to-end tests' pipeline around a started simulator: its config written to a temporary directory (for
 * the `tidemark` verbs), a worker in this process on the shared test stack, and a Temporal client.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { buildDependencies, type ActivityDeps } from '../../../src/activities/index.js';
import type { TidemarkConfig } from '../../../src/config/index.js';
import { createLogger } from '../../../src/util/logger.js';
import { startWorker, type RunningWorker, type StartWorkerOptions } from '../../../src/worker.js';
import { pipelineConfig, type ClaimsSource, type PipelineTable } from '../../../scripts/demo/harness.js';
import { azuriteForTests, temporalForTests } from '../../support/stack.js';

export interface PipelineWorker {
  readonly dir: string;
  readonly configFile: string;
  /** The secrets the config refers to (not put into process.env). */
  readonly env: Record<string, string>;
  readonly config: TidemarkConfig;
  readonly deps: ActivityDeps;
  readonly worker: RunningWorker;
  readonly connection: Connection;
  readonly client: Client;
  /** Closes the client, stops the worker, closes its dependencies and removes the directory. */
  close(): Promise<void>;
}

/** `name` prefixes the task queue, container and directory, each made unique. */
export async function startPipelineWorker(
  source: ClaimsSource,
  name: string,
  tables: PipelineTable[],
  /** Extra worker options (e.g. `metricsPort`). */
  workerOptions: Partial<Pick<StartWorkerOptions, 'metricsPort' | 'metricsRefreshMs'>> = {},
): Promise<PipelineWorker> {
  const temporalAddress = await temporalForTests();
  const made = pipelineConfig({
    sourcePort: source.sim.port,
    azuriteConnectionString: await azuriteForTests(),
    temporalAddress,
    taskQueue: `${name}-${randomBytes(4).toString('hex')}`,
    container: `${name}-${randomBytes(4).toString('hex')}`,
    tables,
  });
  const dir = await mkdtemp(join(tmpdir(), `tidemark-${name}-`));
  const configFile = join(dir, 'tidemark.yaml');
  await writeFile(configFile, made.yaml);
  const logger = createLogger({ name: 'e2e', level: 'warn' });
  const deps = await buildDependencies(made.config, logger);
  const worker = await startWorker({ config: made.config, logger, deps, shutdownGraceTime: '2s', ...workerOptions });
  const connection = await Connection.connect({ address: temporalAddress });
  return {
    dir,
    configFile,
    env: made.env,
    config: made.config,
    deps,
    worker,
    connection,
    client: new Client({ connection }),
    close: async () => {
      await connection.close();
      await worker.stop();
      await deps.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
