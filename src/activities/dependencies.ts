/**
 * The worker's dependencies, built once from the config and shared by every activity: the source connection
 * pool, the lake's blob store, the logger, and each table's resolved config. Closable (the pool owns sockets).
 */
import { AzureBlobStore } from '../lake/blob-store.js';
import type { CaptureDeps } from '../capture/deps.js';
import type { TidemarkConfig } from '../config/types.js';
import { resolveSecret } from '../config/secrets.js';
import { createSecretProvider } from '../config/secret-provider.js';
import { SourceConnection } from '../source/index.js';
import type { Logger } from '../util/logger.js';

/** What activities need: the capture engine's dependencies. Tests may build it by hand. */
export type ActivityDeps = CaptureDeps;

/** Opens the source pool and the blob store (creating the container when missing: local stacks). */
export async function buildDependencies(
  config: TidemarkConfig,
  logger: Logger,
  options: { scratchDir?: string; partRows?: number; ensureContainer?: boolean } = {},
): Promise<ActivityDeps> {
  const sink = config.sink;
  const reach =
    sink.auth === 'connectionString'
      ? { connectionString: await resolveSecret(sink.connectionString) }
      : { accountUrl: sink.accountUrl };
  const storeFor = (container: string): AzureBlobStore =>
    new AzureBlobStore({
      container,
      ...reach,
      ...(sink.encryptionScope ? { encryptionScope: sink.encryptionScope } : {}),
    });
  const store = storeFor(sink.container);
  const stateStore = sink.stateContainer !== undefined ? storeFor(sink.stateContainer) : undefined;
  if (options.ensureContainer ?? true) {
    await store.ensureContainer();
    await stateStore?.ensureContainer();
  }
  const source = await SourceConnection.open(config.source, { secrets: createSecretProvider() });
  const phiHashKey = config.privacy?.hashKey ? await resolveSecret(config.privacy.hashKey) : undefined;
  return {
    config,
    source,
    store,
    ...(stateStore !== undefined ? { stateStore } : {}),
    logger,
    ...(phiHashKey !== undefined ? { phiHashKey } : {}),
    ...(options.scratchDir !== undefined ? { scratchDir: options.scratchDir } : {}),
    ...(options.partRows !== undefined ? { partRows: options.partRows } : {}),
    close: async () => {
      await source.close();
    },
  };
}
