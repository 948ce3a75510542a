/**
 * The typed, validated, defaults-applied Tidemark configuration.
 *
 * Field names are the YAML keys, so the resolved config printed by `tidemark config check` reads like
 * the file. Durations are {@link Duration} (milliseconds plus canonical text). Paths to files are
 * resolved against the config file's directory by `loadConfig`.
 *
 * Secrets are {@link Secret}s: either a value produced by `${ENV}` interpolation, or a reference to an
 * Azure Key Vault secret resolved at connect time. Print or log a config only through `maskSecrets`.
 */
import { type Duration } from './duration.js';

export type { Duration } from './duration.js';

/** The whole configuration of one Tidemark deployment: one source database, one sink, one Temporal. */
export interface TidemarkConfig {
  /** Format version of the file; only `1` exists. */
  readonly version: 1;
  /** The SQL Server database changes are read from. */
  readonly source: SourceConfig;
  /** The Azure Blob Storage / ADLS Gen2 container the raw layer is written to. */
  readonly sink: SinkConfig;
  /** The Temporal cluster that runs the workflows. */
  readonly temporal: TemporalConfig;
  /** The tables to land, at least one. */
  readonly tables: readonly TableConfig[];
  /** The nightly heavy-read window; required when a table's strategy needs nightly reconciliation. */
  readonly nightly?: NightlyConfig;
  /** Settings of the PHI column policy; required when a table hashes a column. */
  readonly privacy?: PrivacyConfig;
  /** Where OpenLineage run events go; absent: no lineage events. */
  readonly lineage?: LineageConfig;
}

/** `lineage`: OpenLineage run events per window and job (docs/lineage.md). */
export interface LineageConfig {
  /** Base URL of an OpenLineage server (Marquez, …); events are POSTed to `<endpoint>/api/v1/lineage`. */
  readonly endpoint?: string;
  /** Sent as `Authorization: Bearer <key>`. */
  readonly apiKey?: Secret;
  /** Also write each event to the lake, under `<table>/_lineage/`; default false. */
  readonly lake: boolean;
}

/** A secret: a value from the environment, or a reference to Azure Key Vault. */
export type Secret = SecretValue | KeyVaultSecretRef;

/** A secret value, produced by `${ENV}` interpolation (writing one literally in the file is an error). */
export interface SecretValue {
  readonly kind: 'value';
  /** The secret itself. Never log it; `maskSecrets` replaces it. */
  readonly value: string;
  /** The environment variables it was read from, for messages and masked output. */
  readonly fromEnv: readonly string[];
}

/**
 * A secret kept in Azure Key Vault, read at connect time with `DefaultAzureCredential` (managed identity
 * in production), so the secret value never appears in the file, the environment, or the config object.
 */
export interface KeyVaultSecretRef {
  readonly kind: 'keyVault';
  /** `https://<vault>.vault.azure.net` */
  readonly vaultUrl: string;
  /** Name of the secret in the vault. */
  readonly secretName: string;
  /** A specific version; latest when absent. */
  readonly version?: string;
}

/** Connection to the source SQL Server. */
export interface SourceConfig {
  /** Host name or address; in production, the availability group listener. */
  readonly host: string;
  /** TCP port; default 1433. */
  readonly port: number;
  /** Database name. */
  readonly database: string;
  /** How Tidemark authenticates. */
  readonly auth: SourceAuth;
  /** Encrypt the connection (TLS); default true. Only a loopback host may turn it off. */
  readonly encrypt: boolean;
  /** Skip certificate validation; default false. Only a loopback host may turn it on (use `caFile`). */
  readonly trustServerCertificate: boolean;
  /** PEM file of the CA that signed the server's certificate, for an internal CA. */
  readonly caFile?: string;
  /** Connect with `ApplicationIntent=ReadOnly` so the listener routes to a readable secondary; default true. */
  readonly readOnlyIntent: boolean;
  /** Application name reported to SQL Server (visible to DBAs in sessions and traces); default `tidemark`. */
  readonly appName: string;
  /** Time allowed to open a connection; default 15s. */
  readonly connectTimeout: Duration;
  /** Default time allowed for one query, unless a table sets `limits.queryTimeout`; default 2m. */
  readonly requestTimeout: Duration;
  /** Connection pool of one worker process. */
  readonly pool: SourcePoolConfig;
  /** Queries one worker runs against the source at the same time, across all tables; default 4. */
  readonly maxConcurrentQueries: number;
}

/** Connection pool of one worker process. */
export interface SourcePoolConfig {
  /** Most open connections; default 4. */
  readonly max: number;
  /** Connections kept open when idle; default 0. */
  readonly min: number;
  /** An idle connection is closed after this; default 30s. */
  readonly idleTimeout: Duration;
}

/** How Tidemark authenticates to SQL Server. */
export type SourceAuth = SqlLoginAuth | EntraDefaultAuth | EntraManagedIdentityAuth | EntraServicePrincipalAuth;

/** A SQL Server login (least privilege: a login that can only read the captured tables and change functions). */
export interface SqlLoginAuth {
  readonly type: 'sql-login';
  /** Login name. */
  readonly user: string;
  /** Login password, from the environment or Key Vault. */
  readonly password: Secret;
}

/** Entra ID through `DefaultAzureCredential` (environment, workload identity, managed identity, Azure CLI). */
export interface EntraDefaultAuth {
  readonly type: 'entra-default';
}

/** Entra ID through a managed identity: system-assigned, or user-assigned when `clientId` is given. */
export interface EntraManagedIdentityAuth {
  readonly type: 'entra-managed-identity';
  /** Client id of a user-assigned identity. */
  readonly clientId?: string;
}

/** Entra ID through a service principal with a client secret. */
export interface EntraServicePrincipalAuth {
  readonly type: 'entra-service-principal';
  /** Directory (tenant) id. */
  readonly tenantId: string;
  /** Application (client) id. */
  readonly clientId: string;
  /** Client secret, from the environment or Key Vault. */
  readonly clientSecret: Secret;
}

/** Where the raw layer is written. */
export type SinkConfig = SinkWithEntraId | SinkWithConnectionString;

/** Settings shared by both kinds of sink authentication. */
export interface SinkCommon {
  /** Container name (3–63 lowercase letters, digits and single hyphens). */
  readonly container: string;
  /** Path prefix inside the container, without leading or trailing `/`; default `''`. */
  readonly prefix: string;
  /**
   * Container for the one mutable object per table, `_state/watermark.json`, when `container` carries a
   * time-based immutability (WORM) policy that forbids replacing it; default: `container`. The watermark is a
   * pointer that can always be rebuilt from the manifests, so it needs no immutability of its own.
   */
  readonly stateContainer?: string;
  /** Encryption scope applied to every blob written (customer-managed keys); account default when absent. */
  readonly encryptionScope?: string;
  /** How the data files are compressed (`sink.parquet`); {@link DEFAULT_PARQUET_COMPRESSION} when absent. */
  readonly parquet?: ParquetCompression;
}

/**
 * The codecs a data file may be written with: those every reader of the lake reads (DuckDB, pyarrow and
 * delta-rs, Spark's parquet-mr). Not LZ4: it cost the CPU snappy costs here (docs/performance.md, branch
 * i14-zstd), and LZ4_RAW is younger than some readers' Parquet libraries.
 */
export const PARQUET_CODECS = ['zstd', 'snappy'] as const;
export type ParquetCodec = (typeof PARQUET_CODECS)[number];

/** zstd levels allowed (`sink.parquet.zstdLevel`); zstd's negative "fast" levels are not offered. */
export const ZSTD_LEVELS = { min: 1, max: 19 } as const;

/** A data file's compression (config `sink.parquet`). */
export interface ParquetCompression {
  readonly codec: ParquetCodec;
  /** zstd only: the level, {@link ZSTD_LEVELS}. */
  readonly level?: number;
}

/**
 * The data files' default: zstd at level 3 (zstd's own default, and what DuckDB wrote before it was a setting).
 * Why: docs/performance.md, "The Parquet encoder's codec, level and threads (branch i14-zstd)".
 */
export const DEFAULT_PARQUET_COMPRESSION: ParquetCompression = { codec: 'zstd', level: 3 };

/** Sink reached with Entra ID (`DefaultAzureCredential`): the production setting. */
export interface SinkWithEntraId extends SinkCommon {
  readonly auth: 'defaultAzureCredential';
  /** `https://<account>.blob.core.windows.net` (or `.dfs.`); no query string. */
  readonly accountUrl: string;
  /**
   * The storage account's Azure resource id (`/subscriptions/…/providers/Microsoft.Storage/storageAccounts/<name>`),
   * for `tidemark doctor` to check the identity's role through Resource Manager; unchecked when absent.
   */
  readonly resourceId?: string;
}

/** Sink reached with a connection string: Azurite, or accounts without Entra ID. */
export interface SinkWithConnectionString extends SinkCommon {
  readonly auth: 'connectionString';
  /** The connection string; its account key or SAS is a secret. */
  readonly connectionString: Secret;
}

/** Connection to Temporal. */
export interface TemporalConfig {
  /** `host:port` of the frontend service. */
  readonly address: string;
  /** Namespace; default `default`. */
  readonly namespace: string;
  /** Task queue the workers poll and workflows are started on; default `tidemark`. */
  readonly taskQueue: string;
  /**
   * TLS settings; absent means plaintext, which only a loopback address may have: off loopback, and whenever
   * `apiKey` is set, TLS with system CAs is implied and `tls: false` is refused.
   */
  readonly tls?: TemporalTlsConfig;
  /** API key (Temporal Cloud), from the environment or Key Vault. */
  readonly apiKey?: Secret;
  /**
   * Payload encryption keys, `id:base64` pairs with the sealing key first (src/temporal/payload-codec.ts), from
   * the environment or Key Vault. When set, client and workers seal every Temporal payload with AES-256-GCM.
   */
  readonly payloadKeys?: Secret;
}

/** TLS to Temporal: server verification, and mTLS when a client certificate is given. */
export interface TemporalTlsConfig {
  /** Client certificate (PEM) for mTLS; needs `keyFile`. */
  readonly certFile?: string;
  /** Client private key (PEM) for mTLS; needs `certFile`. */
  readonly keyFile?: string;
  /** CA (PEM) that signed the server's certificate; system CAs when absent. */
  readonly caFile?: string;
  /** Server name to verify, when it differs from the address's host. */
  readonly serverName?: string;
}

/** One table to land. */
export interface TableConfig {
  /** `schema.table` as written, e.g. `dbo.Claims`. */
  readonly name: string;
  /** Schema part of `name`. */
  readonly schema: string;
  /** Table part of `name`. */
  readonly table: string;
  /** How changes are captured. */
  readonly capture: CaptureConfig;
  /** Key columns, overriding the table's primary key (for tables without one, or a better unique key). */
  readonly key?: readonly string[];
  /** How often a window is planned; default 15m, at least 5s. */
  readonly cadence: Duration;
  /**
   * An idle table (the source's position moves, this table has no change: CDC's max LSN moves with other
   * tables' changes and the capture job's idle placeholders) commits an empty window at most this often, to keep
   * its committed position ahead of change-log cleanup; in between `status` shows it caught up without a manifest.
   * Default 1h, at least 1m, at most 24h.
   */
  readonly idleCommitInterval: Duration;
  /** Date column that backfills of a date range select on (e.g. the claim's service date). */
  readonly businessDateColumn?: string;
  /** Load limits that protect the OLTP source. */
  readonly limits: TableLimits;
  /** PHI column policy; empty when the table holds no PHI columns that need treatment. */
  readonly phi: readonly PhiRule[];
  /** The data-quality receipt's options (`tables[].quality`). */
  readonly quality?: TableQuality;
}

/** `tables[].quality`: what each window's data-quality receipt adds to its fixed checks. */
export interface TableQuality {
  /**
   * Integer or decimal columns (not PHI) whose sums over the window's inserted, updated and snapshot events
   * (`c`, `u`, `r`) the manifest records as control totals, e.g. claim amounts.
   */
  readonly controlTotals: readonly string[];
  /**
   * Every Nth window (by sequence) the same totals are computed at the source for the same bounds and compared;
   * a difference stops the table. 0: never. CDC tables only (the change table is immutable for a range of LSNs;
   * the other strategies read the current row, which may have changed since the window read it).
   */
  readonly sourceCheckEvery: number;
}

/** A capture strategy and its parameters. */
export type CaptureConfig = CdcCapture | ChangeTrackingCapture | RowversionCapture | UpdatedAtCapture | IdentityCapture;

/** The names of the capture strategies. */
export type CaptureStrategy = CaptureConfig['strategy'];

/** SQL Server CDC: sees inserts, updates and deletes with their LSN order. */
export interface CdcCapture {
  readonly strategy: 'cdc';
  /** Capture instance to read; the table's only instance when absent. Set it while two instances exist. */
  readonly captureInstance?: string;
}

/** SQL Server Change Tracking: net changes per key, including deletes. */
export interface ChangeTrackingCapture {
  readonly strategy: 'change_tracking';
}

/** A `rowversion` column watermark: inserts and updates; deletes by nightly reconciliation. */
export interface RowversionCapture {
  readonly strategy: 'rowversion';
  /** The `rowversion` column. */
  readonly column: string;
}

/** An `updated_at`-style column watermark: inserts and updates its writers stamp; deletes nightly. */
export interface UpdatedAtCapture {
  readonly strategy: 'updated_at';
  /** The datetime column writers maintain. */
  readonly column: string;
  /** How far before the previous upper bound each window starts again (overlap, de-duplicated); default 15m. */
  readonly lookback: Duration;
  /** How far behind the source clock a window's upper bound stays, for in-flight transactions; default 2m. */
  readonly safetyLag: Duration;
}

/** An identity key only: inserts; updates by the nightly 30-day sweep, deletes by nightly reconciliation. */
export interface IdentityCapture {
  readonly strategy: 'identity';
  /** The identity column. */
  readonly column: string;
}

/** Load limits that protect the OLTP source. */
export interface TableLimits {
  /** Rows read per second at most; default 5000. */
  readonly maxRowsPerSecond: number;
  /**
   * New rows in one identity window at most; a larger backlog is read as several windows; default 1000000. Only
   * identity capture caps its windows: the other strategies read everything up to the window's bound, split into
   * sub-ranges of `subRangeRows` (docs/operations.md).
   */
  readonly maxRowsPerWindow: number;
  /**
   * Rows per second at most for one chunk activity of a job (snapshot, backfill, sweep); absent: not capped.
   * Per activity, not per table: a job whose chunks run on N workers at once reads up to N times this.
   */
  readonly maxChunkRowsPerSecond?: number;
  /**
   * Change rows one activity reads of a window at most: a window with a larger backlog (CDC, rowversion, Change
   * Tracking) is split into sub-ranges read by parallel activities on any worker, and committed by one manifest;
   * default 100000.
   */
  readonly subRangeRows: number;
  /** Time allowed for one query of this table; default `source.requestTimeout`. */
  readonly queryTimeout: Duration;
  /**
   * The application-latency back-off of this table's window reads; absent: off (the default). While the table
   * reads, a probe statement is timed against its time while Tidemark reads nothing; when it is more than
   * `maxIncreasePercent` slower, the rows/s cap is lowered (not below `minRowsPerSecond`), and it climbs back
   * while the probe stays within it (src/source/latency-backoff.ts).
   */
  readonly latencyBackoff?: LatencyBackoffLimit;
}

/** `limits.latencyBackoff`: how much slower the application may get while Tidemark reads, and how that is seen. */
export interface LatencyBackoffLimit {
  /** The probe's largest allowed increase over its baseline, in percent (1–1000). */
  readonly maxIncreasePercent: number;
  /** The probe statement (one SELECT; default `SELECT 1`). */
  readonly probe: string;
  /** Time between probes; default 250ms (100ms … 10s). */
  readonly probeInterval: Duration;
  /**
   * The lowest rows/s cap the back-off sets (1 … `maxRowsPerSecond`; default 100, or the table's cap when lower):
   * a table keeps up with the source's writes as long as they stay below it, whatever the probe says.
   */
  readonly minRowsPerSecond: number;
}

/**
 * What happens to a PHI column on its way to the lake. Whatever the action, PHI column values are
 * censored in logs (the logger is given every PHI column name).
 * - `drop`: the column is not landed at all.
 * - `hash`: landed as HMAC-SHA-256 keyed with `privacy.hashKey`, hex: joinable and countable, not
 *   reversible, and not brute-forceable from small domains (SSNs, dates of birth) without the key.
 * - `keep`: landed unchanged and tagged as PHI in the table's schema document, so the lake's access
 *   control can restrict it; protected at rest by storage encryption (`sink.encryptionScope` for
 *   customer-managed keys).
 */
export type PhiAction = 'drop' | 'hash' | 'keep';

/** One PHI rule: these columns get this action. */
export interface PhiRule {
  /** Column names. */
  readonly columns: readonly string[];
  /** What to do with them. */
  readonly action: PhiAction;
}

/** The nightly heavy-read window, when sweeps, reconciliation and health checks run. */
export interface NightlyConfig {
  /** Local start time `HH:MM` (24h) in `timezone`. */
  readonly windowStart: string;
  /** Length of the window; default 2h. */
  readonly duration: Duration;
  /** IANA time zone of `windowStart`; default `UTC`. */
  readonly timezone: string;
}

/** Settings of the PHI column policy. */
export interface PrivacyConfig {
  /** HMAC key of the `hash` action (at least 32 characters), from the environment or Key Vault. */
  readonly hashKey: Secret;
}
