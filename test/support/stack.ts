/**
 * Where tests find the local stack. `npm test` (scripts/run-tests.ts) starts one in-memory Azurite and one
 * headless, in-memory Temporal dev server on free ports and passes them in the environment. A test file run on
 * its own (`node --import tsx --test file`) starts its own the first time it asks, and stops them on exit.
 */
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { azuriteConnectionString, startAzurite } from '../../scripts/stack/azurite.js';
import { freePort, type SpawnedService } from '../../scripts/stack/process.js';
import { ensureTemporalBinaries, startTemporalDevServer } from '../../scripts/stack/temporal.js';

export const ENV_AZURITE = 'TIDEMARK_TEST_AZURITE_CONNECTION_STRING';
export const ENV_TEMPORAL = 'TIDEMARK_TEST_TEMPORAL_ADDRESS';
export const ENV_TEMPORAL_TEST_SERVER = 'TIDEMARK_TEST_TEMPORAL_TEST_SERVER';

const owned: SpawnedService[] = [];
/** Servers this test process started itself must not keep it alive once its tests are done. */
function own(service: SpawnedService): void {
  service.child.unref();
  owned.push(service);
}
process.once('exit', () => {
  for (const s of owned) s.child.kill('SIGTERM');
});

const logDir = () => join(tmpdir(), `tidemark-test-${process.pid}`);

/** A connection string for an Azurite blob endpoint (in memory). */
export async function azuriteForTests(): Promise<string> {
  const fromEnv = process.env[ENV_AZURITE];
  if (fromEnv) return fromEnv;
  const port = await freePort();
  own(await startAzurite({ host: '127.0.0.1', port, logFile: join(logDir(), 'azurite.log'), detached: false }));
  process.env[ENV_AZURITE] = azuriteConnectionString('127.0.0.1', port);
  return process.env[ENV_AZURITE];
}

/** The address (host:port) of a Temporal dev server (in memory, headless). */
export async function temporalForTests(): Promise<string> {
  const fromEnv = process.env[ENV_TEMPORAL];
  if (fromEnv) return fromEnv;
  const { temporal } = ensureTemporalBinaries(join(process.cwd(), '.tidemark'));
  const port = await freePort();
  own(
    await startTemporalDevServer({
      binary: temporal,
      host: '127.0.0.1',
      port,
      uiPort: 0,
      headless: true,
      logFile: join(logDir(), 'temporal.log'),
      detached: false,
    }),
  );
  process.env[ENV_TEMPORAL] = `127.0.0.1:${port}`;
  return process.env[ENV_TEMPORAL];
}

/** Path of the time-skipping test server binary (`temporal-test-server <port>`). */
export function temporalTestServerBinary(): string {
  return process.env[ENV_TEMPORAL_TEST_SERVER] ?? ensureTemporalBinaries(join(process.cwd(), '.tidemark')).testServer;
}
