/**
 * Connections to the source SQL Server: an `mssql` pool built from the typed config (TLS, SQL login or Entra
 * ID, read-only intent, appName `tidemark`, pool and request timeouts), and {@link SourceConnection}, through
 * which every query of src/source runs: throttled (slots, rows/s, latency back-off), retried when transient,
 * guarded against lock-skipping hints, and streamed in batches with backpressure. A permission failure of any
 * query becomes a SourcePermissionError naming the object and the GRANT that fixes it (permissions.ts).
 */
import { readFile } from 'node:fs/promises';
import {
  ClientSecretCredential,
  DefaultAzureCredential,
  ManagedIdentityCredential,
  type TokenCredential,
} from '@azure/identity';
import sql from 'mssql';
import type { SourceConfig } from '../config/types.js';
import type { SecretProvider } from '../config/secret-provider.js';
import { SourceThrottle, type ThrottleOptions } from './throttle.js';
import {
  LatencyMonitor,
  type LatencyMonitorOptions,
  type LatencyProbeSettings,
  type TableBackoff,
} from './latency-monitor.js';
import type { BackoffLawOptions } from './latency-backoff.js';
import type { ProbeThreadInput } from './latency-probe-thread.js';
import {
  DEFAULT_RETRY,
  sqlErrorInfo,
  toSourceQueryError,
  transientReason,
  withTransientRetry,
  type RetryPolicy,
} from './transient.js';
import { SourceError, SourceQueryError, TransientSourceError } from './errors.js';
import { permissionErrorOf, type SourcePrincipal } from './permissions.js';
import { RowBatches, type RowBatch } from './row-batches.js';

/**
 * The TDS packet size Tidemark's source connections ask for: the largest SQL Server accepts (512–32,767 bytes;
 * the server answers with the size it grants, and the driver uses that). tedious's default is 4,096: a chunk or
 * window read is then one packet per 4 KiB of rows, each with its own header, its own read and its own
 * "value split across packets, parse the row again" in the driver (`NotEnoughDataError`, ~2% of the raw read's
 * driver time), and a query text over ~2,000 characters is two packets, which the driver's Nagle-on socket sends
 * with a delayed-ACK stall between them (docs/performance.md, "The load's CPU per row").
 */
export const SOURCE_PACKET_SIZE = 32_767;

/** Builds the `mssql` pool configuration. Secrets are resolved here, at connect time, and kept nowhere else. */
export async function buildPoolConfig(
  source: SourceConfig,
  deps: { secrets: SecretProvider; credential?: (auth: SourceConfig['auth']) => TokenCredential },
): Promise<sql.config> {
  const options: sql.IOptions = {
    encrypt: source.encrypt,
    trustServerCertificate: source.trustServerCertificate,
    readOnlyIntent: source.readOnlyIntent,
    appName: source.appName || 'tidemark',
    useUTC: true,
    packetSize: SOURCE_PACKET_SIZE,
  };
  if (source.caFile) {
    const ca = await readFile(source.caFile, 'utf8');
    (options as Record<string, unknown>).cryptoCredentialsDetails = { ca };
  }
  const cfg: sql.config = {
    server: source.host,
    port: source.port,
    database: source.database,
    connectionTimeout: source.connectTimeout.ms,
    requestTimeout: source.requestTimeout.ms,
    pool: { max: source.pool.max, min: source.pool.min, idleTimeoutMillis: source.pool.idleTimeout.ms },
    // The pool checks a connection it hands out by its socket (logged in, open, writable), not by a `SELECT 1`
    // round trip before every query (mssql's default): that doubled the round trips of every plan, chunk and
    // catalog query (docs/performance.md, "The cost of planWindow"). A connection the server or the network
    // closed is still refused here; one that breaks silently fails its query, which the transient retry repeats
    // on a fresh connection.
    validateConnection: 'socket',
    options,
  };
  const auth = source.auth;
  if (auth.type === 'sql-login') {
    cfg.user = auth.user;
    cfg.password = await deps.secrets.resolve(auth.password);
  } else {
    const credential = deps.credential ? deps.credential(auth) : await entraCredential(auth, deps.secrets);
    (cfg as unknown as Record<string, unknown>).authentication = { type: 'token-credential', options: { credential } };
  }
  return cfg;
}

/** The `@azure/identity` credential for an Entra ID auth setting (tokens for `https://database.windows.net/`). */
export async function entraCredential(auth: SourceConfig['auth'], secrets: SecretProvider): Promise<TokenCredential> {
  switch (auth.type) {
    case 'entra-default':
      return new DefaultAzureCredential();
    case 'entra-managed-identity':
      return auth.clientId
        ? new ManagedIdentityCredential({ clientId: auth.clientId })
        : new ManagedIdentityCredential();
    case 'entra-service-principal':
      return new ClientSecretCredential(auth.tenantId, auth.clientId, await secrets.resolve(auth.clientSecret));
    case 'sql-login':
      throw new Error('a SQL login has no token credential');
  }
}

/** A parameter of a source query. */
export interface QueryParam {
  readonly name: string;
  readonly type: sql.ISqlType | (() => sql.ISqlType);
  readonly value: unknown;
}

export type { ResultColumn, RowBatch } from './row-batches.js';

/** Options of one query. */
export interface QueryOptions {
  /** Per-query timeout; the connection's request timeout when absent. */
  readonly timeoutMs?: number;
  /** A transaction to run in (snapshot reads); retries are then the caller's business. */
  readonly transaction?: sql.Transaction;
  /**
   * The query counts or cuts a window, so its time grows with the window's size: not a sample for the throttle's
   * latency back-off (throttle.ts, `LatencySampleOptions`). Set it on every query whose work is proportional to the
   * rows of the range it asks about (COUNT over a window, ROW_NUMBER cuts); catalog and bounds queries leave it off.
   */
  readonly sizeDependent?: boolean;
}

/** Where a streamed request's time went, ms (see `SourceConnection.stream`'s `timing`). */
export interface StreamTiming {
  pausedMs: number;
  waitedMs: number;
}

/** Hints that skip or dirty-read locked rows: the exact rows a watermark must not lose. Never sent. */
const FORBIDDEN_HINTS = /\b(NOLOCK|READPAST|READUNCOMMITTED)\b|ISOLATION\s+LEVEL\s+READ\s+UNCOMMITTED/i;

/** Refuses SQL with lock-skipping hints (a programming error, caught in tests). */
export function assertNoDirtyReads(text: string): void {
  if (FORBIDDEN_HINTS.test(text)) throw new Error('source queries must never use NOLOCK, READPAST or READ UNCOMMITTED');
}

/**
 * A pool plus the protections every source query goes through. One per source per worker process; it owns
 * the pool (close it with {@link close}).
 */
export class SourceConnection {
  readonly throttle: SourceThrottle;
  private who: SourcePrincipal | undefined;
  /** Where a latency probe connects (the config, or a plain pool config in tests); none: no back-off probe. */
  private probeTarget: ProbeThreadInput['target'] | undefined;
  /** One latency monitor per distinct probe (statement and interval): tables with the same probe share it. */
  private readonly monitors = new Map<string, LatencyMonitor>();
  /** Where a probe's failures are told (the worker's logger); none: counted only. */
  onProbeError: ((message: string) => void) | undefined;
  /** Where each decision of a table's latency back-off is told (the worker's logger, at debug); none: not told. */
  onBackoffDecision: LatencyMonitorOptions['onDecision'];
  constructor(
    readonly pool: sql.ConnectionPool,
    throttle: ThrottleOptions | SourceThrottle,
    readonly retry: RetryPolicy = DEFAULT_RETRY,
  ) {
    this.throttle = throttle instanceof SourceThrottle ? throttle : new SourceThrottle(throttle);
  }

  /** Lets tables of this source use the application-latency back-off (probes connect to `target`). */
  useProbeTarget(target: ProbeThreadInput['target']): void {
    this.probeTarget = target;
  }

  /**
   * The back-off of table `key` (schema.table) with `probe`: its rows/s cap, set from the probe's latency
   * (latency-monitor.ts). Undefined when this connection has no probe target (opened from a bare pool).
   */
  tableBackoff(key: string, probe: LatencyProbeSettings, law: BackoffLawOptions): TableBackoff | undefined {
    if (!this.probeTarget) return undefined;
    const id = `${probe.intervalMs}\u0000${probe.statement}`;
    let m = this.monitors.get(id);
    if (!m) {
      m = new LatencyMonitor(this.throttle, this.probeTarget, probe, {
        onProbeError: (message) => this.onProbeError?.(message),
        onDecision: (table, decision) => this.onBackoffDecision?.(table, decision),
      });
      this.monitors.set(id, m);
    }
    return m.table(key, law);
  }

  /** The rows/s cap the latency back-off sets for table `key` (schema.table) now, if it has one here. */
  backoffRateOf(key: string): number | undefined {
    for (const m of this.monitors.values()) {
      const r = m.rateOf(key);
      if (r !== undefined) return r;
    }
    return undefined;
  }

  /** The monitors of this connection (benches and tests read their counters). */
  latencyMonitors(): LatencyMonitor[] {
    return [...this.monitors.values()];
  }

  /** Opens a pool from the typed config. */
  static async open(
    source: SourceConfig,
    deps: { secrets: SecretProvider; credential?: (auth: SourceConfig['auth']) => TokenCredential },
    throttle?: Partial<ThrottleOptions>,
  ): Promise<SourceConnection> {
    const cfg = await buildPoolConfig(source, deps);
    const pool = await withTransientRetry('connect', async () => {
      const p = new sql.ConnectionPool(cfg);
      try {
        return await p.connect();
      } catch (err) {
        await p.close().catch(() => undefined);
        throw err;
      }
    });
    const conn = new SourceConnection(pool, {
      maxConcurrentQueries: source.maxConcurrentQueries,
      maxRowsPerSecond: Number.MAX_SAFE_INTEGER,
      ...throttle,
    });
    conn.useProbeTarget({ source });
    return conn;
  }

  /**
   * The extractor's database user and login (cached after the first call): what a GRANT in an error message
   * names. Discovery asks first, so the answer is known before any query that can be denied (a permission
   * failure inside a transaction must not wait for a second connection from a one-connection pool).
   */
  async principal(): Promise<SourcePrincipal> {
    if (this.who) return this.who;
    const r = await this.pool.request().query('SELECT USER_NAME() AS u, SUSER_NAME() AS l');
    const row = r.recordset[0] as { u?: string | null; l?: string | null } | undefined;
    this.who = { user: row?.u ?? null, login: row?.l ?? null };
    return this.who;
  }

  /**
   * The error a failed query surfaces as: a permission failure → SourcePermissionError (never retried); other
   * source errors unchanged; anything else classified by transient.ts.
   */
  private async failure(operation: string, err: unknown, inTransaction: boolean): Promise<Error> {
    if (err instanceof SourceError && !(err instanceof SourceQueryError)) return err;
    const info = sqlErrorInfo(err);
    const number = err instanceof SourceQueryError ? err.sqlErrorNumber : info.number;
    const text = err instanceof SourceQueryError ? err.diagnostic : info.message;
    // Outside a transaction the principal can be read now; inside one only the cached answer is used.
    const who = this.who ?? (inTransaction ? undefined : await this.principal().catch(() => undefined));
    const denied = permissionErrorOf(operation, number, text, who);
    if (denied) return denied;
    if (err instanceof SourceQueryError) return err;
    const reason = transientReason(err);
    return reason ? new TransientSourceError(operation, reason, 1) : toSourceQueryError(operation, err);
  }

  private request(params: readonly QueryParam[], opts: QueryOptions): sql.Request {
    // mssql 12: `new Request(parent, { requestTimeout })` sets a per-request timeout.
    const overrides = opts.timeoutMs !== undefined ? { requestTimeout: opts.timeoutMs } : {};
    const RequestWithOverrides = sql.Request as unknown as new (
      parent: sql.ConnectionPool | sql.Transaction,
      o: { requestTimeout?: number },
    ) => sql.Request;
    const req = new RequestWithOverrides(opts.transaction ?? this.pool, overrides);
    for (const p of params) req.input(p.name, p.type, p.value);
    return req;
  }

  /** Runs a small query (metadata, bounds) and returns its first result set as objects. */
  async query<T = Record<string, unknown>>(
    operation: string,
    text: string,
    params: readonly QueryParam[] = [],
    opts: QueryOptions = {},
  ): Promise<T[]> {
    assertNoDirtyReads(text);
    const run = async () => {
      const release = await this.throttle.acquire();
      const t0 = Date.now();
      try {
        const r = await this.request(params, opts).query(text);
        this.throttle.observeLatency(operation, Date.now() - t0, opts);
        return r.recordset as unknown as T[];
      } finally {
        release();
      }
    };
    if (opts.transaction) {
      try {
        return await run();
      } catch (err) {
        // In a transaction the caller retries (a snapshot cannot be resumed), so nothing is transient here.
        if (err instanceof SourceError) throw err;
        const denied = await this.failure(operation, err, true);
        throw denied instanceof TransientSourceError ? toSourceQueryError(operation, err) : denied;
      }
    }
    try {
      return await withTransientRetry(operation, run, this.retry);
    } catch (err) {
      throw await this.failure(operation, err, false);
    }
  }

  /**
   * Streams a query in batches of `batchRows` rows with backpressure: the driver is paused while
   * `maxBufferedBatches` (default 4) batches wait for the consumer, so a window is never held in memory. Not retried
   * (a partly consumed stream cannot be replayed transparently): the step is retried by its activity.
   */
  async *stream(
    operation: string,
    text: string,
    params: readonly QueryParam[] = [],
    opts: QueryOptions & {
      batchRows?: number;
      maxBufferedBatches?: number;
      /** A per-table rows/s limit on top of the source's (config `limits.maxRowsPerSecond`). */
      rowLimiter?: SourceThrottle;
      /**
       * Filled when the stream ends: ms the request was paused by the batch buffer (the consumer behind) and the
       * consumer waited for rows (the socket behind) — where a staged read's main thread waits (bench:e2e).
       */
      timing?: StreamTiming;
    } = {},
  ): AsyncGenerator<RowBatch> {
    assertNoDirtyReads(text);
    const release = await this.throttle.acquire();
    const req = this.request(params, opts);
    req.stream = true;
    req.arrayRowMode = true;
    const batches = new RowBatches(req, opts.batchRows ?? 5000, opts.maxBufferedBatches ?? 4);
    const t0 = Date.now();
    let first = true;
    req.on('recordset', (cols: { name: string; index: number }[]) => batches.columnsChanged(cols));
    req.on('row', (row: unknown[]) => {
      if (first) {
        first = false;
        this.throttle.observeLatency(operation, Date.now() - t0, opts);
      }
      batches.row(row);
    });
    let settle: () => void = () => undefined;
    const settled = new Promise<void>((r) => (settle = r));
    req.on('error', (err: unknown) => {
      batches.fail(err);
      settle();
    });
    req.on('done', () => {
      if (first) this.throttle.observeLatency(operation, Date.now() - t0, opts);
      batches.end();
      settle();
    });
    // In stream mode errors arrive as events; the promise only mirrors them.
    req.query(text).catch(() => undefined);
    try {
      for (;;) {
        const next = batches.take();
        if (next) {
          await this.throttle.rows(next.rows.length);
          await opts.rowLimiter?.rows(next.rows.length);
          yield next;
          continue;
        }
        if (batches.failure !== undefined) {
          // Not retried here (rows already went to the consumer), but classified, so the step is retried.
          throw await this.failure(operation, batches.failure, opts.transaction !== undefined);
        }
        if (batches.done) return;
        await batches.waitForMore();
      }
    } finally {
      if (!batches.done && batches.failure === undefined) {
        // The consumer stopped early: cancel, and wait for the driver to finish the request so the connection
        // (or the snapshot transaction holding it) is free again before the caller commits or rolls back.
        req.cancel();
        if (batches.paused) req.resume();
        await Promise.race([settled, new Promise((r) => setTimeout(r, 5000).unref())]);
      }
      release();
      if (opts.timing) {
        opts.timing.pausedMs = Math.round(batches.pausedMs);
        opts.timing.waitedMs = Math.round(batches.waitedMs);
      }
    }
  }

  /**
   * Runs `fn` inside a SNAPSHOT transaction (consistent reads at one point in time), committing afterwards.
   * 3952 (snapshot not allowed) surfaces as a SourceQueryError the caller turns into a prerequisite error.
   */
  async inSnapshot<T>(operation: string, fn: (tx: sql.Transaction) => Promise<T>): Promise<T> {
    const tx = new sql.Transaction(this.pool);
    try {
      await tx.begin(sql.ISOLATION_LEVEL.SNAPSHOT);
    } catch (err) {
      throw await this.failure(operation, err, false);
    }
    try {
      const out = await fn(tx);
      await tx.commit();
      return out;
    } catch (err) {
      await tx.rollback().catch(() => undefined);
      throw err;
    }
  }

  async close(): Promise<void> {
    for (const m of this.monitors.values()) await m.close();
    this.monitors.clear();
    await this.pool.close();
  }
}
