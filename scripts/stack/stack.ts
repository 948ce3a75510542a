/**
 * The local stack: Azurite + the Temporal dev server (and, later, the SQL Server simulator), started by the
 * project itself. `up` starts detached processes and records them in `.tidemark/stack/state.json`; `down`
 * stops exactly those; `status` reports what runs and where.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { azuriteConnectionString, startAzurite } from './azurite.js';
import { isAlive, portIsOpen, stopProcess, type SpawnedService } from './process.js';
import { ensureTemporalBinaries, startTemporalDevServer } from './temporal.js';

export interface StackOptions {
  /** Project state folder (git-ignored): data, logs, pid records, the Temporal virtualenv. */
  stateDir: string;
  /** Where the Temporal virtualenv lives; defaults to `stateDir` (tests share the project's). */
  toolsDir?: string;
  host: string;
  azuritePort: number;
  temporalPort: number;
  temporalUiPort: number;
}

export const DEFAULT_STACK_OPTIONS: StackOptions = {
  stateDir: resolve('.tidemark'),
  host: '127.0.0.1',
  azuritePort: Number(process.env.TIDEMARK_AZURITE_PORT ?? 10000),
  temporalPort: Number(process.env.TIDEMARK_TEMPORAL_PORT ?? 7233),
  temporalUiPort: Number(process.env.TIDEMARK_TEMPORAL_UI_PORT ?? 8233),
};

export interface ServiceRecord {
  name: string;
  pid: number;
  endpoint: string;
  logFile: string;
}

export interface StackState {
  startedAt: string;
  services: ServiceRecord[];
  azuriteConnectionString: string;
  temporalAddress: string;
  temporalUi: string;
}

const stateFile = (stateDir: string) => join(stateDir, 'stack', 'state.json');

export function readStackState(stateDir: string): StackState | undefined {
  const file = stateFile(stateDir);
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, 'utf8')) as StackState;
}

/** Starts Azurite and Temporal (detached). Stops whatever it started if a later part fails. */
export async function stackUp(options: StackOptions, log: (line: string) => void): Promise<StackState> {
  const existing = readStackState(options.stateDir);
  if (existing && existing.services.some((s) => isAlive(s.pid))) {
    log('The stack is already running:');
    return existing;
  }
  const logs = join(options.stateDir, 'logs');
  mkdirSync(join(options.stateDir, 'stack'), { recursive: true });
  const binaries = ensureTemporalBinaries(options.toolsDir ?? options.stateDir, log);
  const started: SpawnedService[] = [];
  try {
    log(`Starting Azurite on ${options.host}:${options.azuritePort} …`);
    started.push(
      await startAzurite({
        host: options.host,
        port: options.azuritePort,
        location: join(options.stateDir, 'azurite'),
        logFile: join(logs, 'azurite.log'),
        detached: true,
      }),
    );
    log(
      `Starting the Temporal dev server on ${options.host}:${options.temporalPort} (Web UI ${options.temporalUiPort}) …`,
    );
    started.push(
      await startTemporalDevServer({
        binary: binaries.temporal,
        host: options.host,
        port: options.temporalPort,
        uiPort: options.temporalUiPort,
        dbFile: join(options.stateDir, 'temporal', 'temporal.db'),
        logFile: join(logs, 'temporal.log'),
        detached: true,
      }),
    );
  } catch (err) {
    for (const service of started.reverse()) await stopProcess(service.pid);
    throw err;
  }
  const [azurite, temporal] = started as [SpawnedService, SpawnedService];
  const state: StackState = {
    startedAt: new Date().toISOString(),
    services: [
      {
        name: 'azurite',
        pid: azurite.pid,
        endpoint: `http://${options.host}:${options.azuritePort}`,
        logFile: azurite.logFile,
      },
      {
        name: 'temporal',
        pid: temporal.pid,
        endpoint: `${options.host}:${options.temporalPort}`,
        logFile: temporal.logFile,
      },
    ],
    azuriteConnectionString: azuriteConnectionString(options.host, options.azuritePort),
    temporalAddress: `${options.host}:${options.temporalPort}`,
    temporalUi: `http://${options.host}:${options.temporalUiPort}`,
  };
  writeFileSync(stateFile(options.stateDir), JSON.stringify(state, null, 2));
  return state;
}

/** Stops every process `up` recorded; returns what happened to each. */
export async function stackDown(stateDir: string): Promise<{ name: string; result: string }[]> {
  const state = readStackState(stateDir);
  if (!state) return [];
  const results: { name: string; result: string }[] = [];
  // Reverse start order: Temporal first, then the storage it might still be writing to.
  for (const service of [...state.services].reverse()) {
    results.push({ name: service.name, result: await stopProcess(service.pid) });
  }
  rmSync(stateFile(stateDir), { force: true });
  return results;
}

export interface ServiceStatus extends ServiceRecord {
  running: boolean;
  listening: boolean;
}

export async function stackStatus(stateDir: string): Promise<ServiceStatus[]> {
  const state = readStackState(stateDir);
  if (!state) return [];
  const out: ServiceStatus[] = [];
  for (const service of state.services) {
    const [host, port] = service.endpoint.replace(/^https?:\/\//, '').split(':');
    out.push({
      ...service,
      running: isAlive(service.pid),
      listening: await portIsOpen(host ?? '127.0.0.1', Number(port)),
    });
  }
  return out;
}
