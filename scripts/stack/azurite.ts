/**
 * Azurite (npm `azurite`, pinned 3.37.0) as the local Blob endpoint. Paired with `@azure/storage-blob`
 * 12.33.0, whose API version (2026-06-06) this Azurite accepts, so no `--skipApiVersionCheck` is needed.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { portIsOpen, spawnService, StackStartError, waitUntilReady, type SpawnedService } from './process.js';

/** Azurite's documented development account; not a secret. */
export const AZURITE_ACCOUNT = 'devstoreaccount1';
export const AZURITE_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface AzuriteOptions {
  host: string;
  port: number;
  /** Folder for blobs and metadata; omitted = in memory (tests). */
  location?: string;
  logFile: string;
  detached: boolean;
  /** How long to wait for Azurite to answer; default {@link azuriteReadyTimeoutMs}. */
  readyTimeoutMs?: number;
}

/** Overrides how long a start waits for Azurite to answer, in seconds. */
export const AZURITE_READY_ENV = 'TIDEMARK_AZURITE_READY_TIMEOUT_S';

/**
 * How long a start waits for Azurite to answer: `TIDEMARK_AZURITE_READY_TIMEOUT_S` seconds, default 120. (It was
 * 30 s: on a loaded machine — benches beside test runs — Azurite's node start-up alone took longer, and four bench
 * starts failed; a healthy start is a second or two, so a longer deadline costs nothing when it works.)
 */
export function azuriteReadyTimeoutMs(env: NodeJS.ProcessEnv = process.env): number {
  const text = env[AZURITE_READY_ENV];
  if (text === undefined || text === '') return 120_000;
  const s = Number(text);
  if (!Number.isFinite(s) || s <= 0)
    throw new StackStartError(
      `${AZURITE_READY_ENV}=${text} is not a number of seconds: set it to e.g. 300, or unset it.`,
    );
  return s * 1000;
}

/** Whether Azurite's blob endpoint answers HTTP (any status: an anonymous request is refused once it serves). */
export async function azuriteAnswers(host: string, port: number): Promise<boolean> {
  try {
    await fetch(`http://${host}:${port}/${AZURITE_ACCOUNT}?comp=list`, { signal: AbortSignal.timeout(2000) });
    return true;
  } catch {
    return false;
  }
}

export function azuriteConnectionString(host: string, port: number): string {
  return `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};BlobEndpoint=http://${host}:${port}/${AZURITE_ACCOUNT};`;
}

function azuriteBlobEntry(): string {
  const require = createRequire(import.meta.url);
  let pkg: string;
  try {
    pkg = require.resolve('azurite/package.json');
  } catch {
    throw new StackStartError(
      'Azurite is not installed: run `npm install` in the project folder (it is a devDependency).',
    );
  }
  const entry = join(dirname(pkg), 'dist/src/blob/main.js');
  if (!existsSync(entry))
    throw new StackStartError(`Azurite's blob entry point is missing at ${entry}: reinstall with \`npm install\`.`);
  return entry;
}

export async function startAzurite(options: AzuriteOptions): Promise<SpawnedService> {
  if (await portIsOpen(options.host, options.port)) {
    throw new StackStartError(
      `Port ${options.port} on ${options.host} is already in use, so Azurite cannot listen there. Stop what uses it (\`npm run stack:down\` if it is an earlier stack) or choose another port with --azurite-port.`,
    );
  }
  const args = [
    azuriteBlobEntry(),
    '--blobHost',
    options.host,
    '--blobPort',
    String(options.port),
    '--silent',
    '--disableTelemetry',
  ];
  if (options.location) args.push('--location', options.location);
  else args.push('--inMemoryPersistence');
  const service = spawnService({
    name: 'Azurite',
    command: process.execPath,
    args,
    logFile: options.logFile,
    detached: options.detached,
  });
  const timeoutMs = options.readyTimeoutMs ?? azuriteReadyTimeoutMs();
  try {
    await waitUntilReady(
      service,
      () => azuriteAnswers(options.host, options.port),
      timeoutMs,
      `The machine may be too busy for it to start in time (other test or bench runs): wait for them to end and start again, or give it longer with ${AZURITE_READY_ENV}=<seconds> (now ${timeoutMs / 1000}).`,
    );
  } catch (e) {
    // Not left behind half-started: the caller never gets the service to stop.
    service.child.kill('SIGKILL');
    throw e;
  }
  return service;
}
