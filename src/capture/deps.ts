/**
 * What the capture engine needs from the worker: the source connection pool, the lake's blob store(s), the
 * logger, the loaded config and the PHI hash key. Built once by the activities (`buildDependencies`) and shared;
 * tests may build it by hand (e.g. with another {@link BlobStore}).
 */
import type { BlobStore } from '../lake/blob-store.js';
import type { TidemarkConfig } from '../config/types.js';
import type { SourceConnection } from '../source/index.js';
import type { Logger } from '../util/logger.js';

export interface CaptureDeps {
  readonly config: TidemarkConfig;
  readonly source: SourceConnection;
  readonly store: BlobStore;
  /** Where `_state/watermark.json` lives when it is not `store` (config `sink.stateContainer`). */
  readonly stateStore?: BlobStore;
  readonly logger: Logger;
  /** Key for PHI `hash` rules (HMAC-SHA256); required when any table hashes a column. */
  readonly phiHashKey?: string;
  /** Local scratch directory for Parquet parts (default: the OS temp directory). */
  readonly scratchDir?: string;
  /** Rows per Parquet part (bounded memory); default 200,000. */
  readonly partRows?: number;
  close(): Promise<void>;
}
