/**
 * The SQL Server the conformance suite runs against: a real one when `TIDEMARK_CONFORMANCE_MSSQL` holds an
 * mssql connection string (e.g. `Server=localhost,1433;Database=Claims;User Id=sa;Password=…;Encrypt=false`),
 * otherwise the simulator started in-process. Tests use only the `mssql` API, so they run unchanged on both.
 */
import { randomBytes } from 'node:crypto';
import sql from 'mssql';
import { SIM_CREDENTIALS, startSimulator, type Simulator } from '../../sim/index.js';

export interface ConnectOptions {
  poolMax?: number;
  requestTimeout?: number;
  database?: string;
  /** ApplicationIntent=ReadOnly: routed to the readable secondary when the target has one. */
  readOnlyIntent?: boolean;
  /** Connect straight to the secondary's endpoint (skips the listener's routing). */
  secondary?: boolean;
  appName?: string;
  /** Another login than the admin one (tests create least-privilege logins). */
  user?: string;
  password?: string;
}

export interface SqlTarget {
  /** 'simulator' or 'mssql' (a real server). */
  kind: 'simulator' | 'mssql';
  /** A new connection pool (size 1 unless told), connected. Close it with `close()`. */
  connect(opts?: ConnectOptions): Promise<sql.ConnectionPool>;
  /** The simulator, when the target is the simulator (for accounting helpers that do not exist on SQL Server). */
  simulator?: Simulator;
  stop(): Promise<void>;
}

/** A unique table name for this test run (tests create their own tables). */
export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
}

export interface SqlTargetOptions {
  /**
   * A readable secondary: the simulator starts one (with this redo lag); a real server needs an availability
   * group listener in TIDEMARK_CONFORMANCE_MSSQL and the secondary's `host,port` in
   * TIDEMARK_CONFORMANCE_MSSQL_SECONDARY for direct connections.
   */
  secondary?: { redoLagMs?: number };
}

export async function startSqlTarget(targetOptions: SqlTargetOptions = {}): Promise<SqlTarget> {
  const conn = process.env.TIDEMARK_CONFORMANCE_MSSQL;
  if (conn) {
    return {
      kind: 'mssql',
      async connect(opts = {}) {
        const base = sql.ConnectionPool.parseConnectionString(conn) as sql.config;
        const direct = process.env.TIDEMARK_CONFORMANCE_MSSQL_SECONDARY?.split(',');
        if (opts.secondary && direct) {
          base.server = direct[0] ?? base.server;
          if (direct[1]) base.port = Number(direct[1]);
        }
        const pool = new sql.ConnectionPool({
          ...base,
          ...(opts.database ? { database: opts.database } : {}),
          ...(opts.user ? { user: opts.user, password: opts.password ?? '' } : {}),
          pool: { max: opts.poolMax ?? 1, min: 0 },
          requestTimeout: opts.requestTimeout ?? 15_000,
          options: {
            ...(base.options ?? {}),
            trustServerCertificate: true,
            ...(opts.readOnlyIntent ? { readOnlyIntent: true } : {}),
            ...(opts.appName ? { appName: opts.appName } : {}),
          },
        });
        return pool.connect();
      },
      stop: () => Promise.resolve(),
    };
  }
  const sim = await startSimulator({
    port: 0,
    ...(targetOptions.secondary ? { secondary: { redoLagMs: targetOptions.secondary.redoLagMs ?? 0 } } : {}),
  });
  return {
    kind: 'simulator',
    simulator: sim,
    async connect(opts = {}) {
      const pool = new sql.ConnectionPool({
        server: opts.secondary && sim.secondary ? sim.secondary.host : sim.host,
        port: opts.secondary && sim.secondary ? sim.secondary.port : sim.port,
        user: opts.user ?? SIM_CREDENTIALS.admin.user,
        password: opts.user ? (opts.password ?? '') : SIM_CREDENTIALS.admin.password,
        database: opts.database ?? 'Claims',
        pool: { max: opts.poolMax ?? 1, min: 0 },
        requestTimeout: opts.requestTimeout ?? 15_000,
        options: {
          encrypt: false,
          trustServerCertificate: true,
          ...(opts.readOnlyIntent ? { readOnlyIntent: true } : {}),
          ...(opts.appName ? { appName: opts.appName } : {}),
        },
      });
      return pool.connect();
    },
    stop: () => sim.stop(),
  };
}
