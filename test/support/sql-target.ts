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

export async function startSqlTarget(): Promise<SqlTarget> {
  const conn = process.env.TIDEMARK_CONFORMANCE_MSSQL;
  if (conn) {
    return {
      kind: 'mssql',
      async connect(opts = {}) {
        const base = sql.ConnectionPool.parseConnectionString(conn) as sql.config;
        const pool = new sql.ConnectionPool({
          ...base,
          ...(opts.database ? { database: opts.database } : {}),
          ...(opts.user ? { user: opts.user, password: opts.password ?? '' } : {}),
          pool: { max: opts.poolMax ?? 1, min: 0 },
          requestTimeout: opts.requestTimeout ?? 15_000,
          options: { ...(base.options ?? {}), trustServerCertificate: true },
        });
        return pool.connect();
      },
      stop: () => Promise.resolve(),
    };
  }
  const sim = await startSimulator({ port: 0 });
  return {
    kind: 'simulator',
    simulator: sim,
    async connect(opts = {}) {
      const pool = new sql.ConnectionPool({
        server: sim.host,
        port: sim.port,
        user: opts.user ?? SIM_CREDENTIALS.admin.user,
        password: opts.user ? (opts.password ?? '') : SIM_CREDENTIALS.admin.password,
        database: opts.database ?? 'Claims',
        pool: { max: opts.poolMax ?? 1, min: 0 },
        requestTimeout: opts.requestTimeout ?? 15_000,
        options: { encrypt: false, trustServerCertificate: true },
      });
      return pool.connect();
    },
    stop: () => sim.stop(),
  };
}
