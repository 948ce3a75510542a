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
  await waitUntilReady(service, () => portIsOpen(options.host, options.port), 30_000);
  return service;
}
