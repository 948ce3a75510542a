/** A simulator plus source connections for the source tests (real TDS, real mssql). */
import sql from 'mssql';
import { SIM_CREDENTIALS, startSimulator, type Simulator, type SimulatorOptions } from '../../sim/index.js';
import { SourceConnection } from '../../src/source/connection.js';
import type { SourceConfig } from '../../src/config/types.js';
import { durationOf } from '../../src/config/duration.js';
import type { ChangeRow, CaptureStrategy, SourceWindow } from '../../src/source/strategies/types.js';

export interface SourceSim {
  sim: Simulator;
  /** An admin pool (sa) for setting up tables and running OLTP sessions. */
  admin: sql.ConnectionPool;
  /** A source connection as the extractor would have (sa unless `user` given). */
  connect(opts?: { user?: string; password?: string; poolMax?: number }): Promise<SourceConnection>;
  /** A dedicated single-connection pool (an OLTP session that can hold a transaction open). */
  session(): Promise<sql.ConnectionPool>;
  stop(): Promise<void>;
}

export async function startSourceSim(options: SimulatorOptions = {}): Promise<SourceSim> {
  const sim = await startSimulator({ port: 0, ...options });
  const pools: sql.ConnectionPool[] = [];
  const conns: SourceConnection[] = [];
  const pool = async (user: string, password: string, max: number) => {
    const p = new sql.ConnectionPool({
      server: sim.host,
      port: sim.port,
      user,
      password,
      database: 'Claims',
      pool: { max, min: 0 },
      requestTimeout: 30_000,
      options: { encrypt: false, trustServerCertificate: true, appName: 'tidemark' },
    });
    return p.connect();
  };
  const admin = await pool(SIM_CREDENTIALS.admin.user, SIM_CREDENTIALS.admin.password, 2);
  pools.push(admin);
  return {
    sim,
    admin,
    async connect(opts = {}) {
      const p = await pool(
        opts.user ?? SIM_CREDENTIALS.admin.user,
        opts.password ?? SIM_CREDENTIALS.admin.password,
        opts.poolMax ?? 2,
      );
      const c = new SourceConnection(p, { maxConcurrentQueries: 4, maxRowsPerSecond: 10_000_000 });
      conns.push(c);
      return c;
    },
    async session() {
      const p = await pool(SIM_CREDENTIALS.admin.user, SIM_CREDENTIALS.admin.password, 1);
      pools.push(p);
      return p;
    },
    async stop() {
      for (const c of conns) await c.close().catch(() => undefined);
      for (const p of pools) await p.close().catch(() => undefined);
      await sim.stop();
    },
  };
}

/** The typed source config of a simulator, as `sa` over plain TCP, one pooled connection (SourceConnection.open). */
/**
 * CDC on for the database and for `dbo.<table>` (`id int` key, `note varchar(20)`), with the capture job stopped:
 * the test harvests with `sp_cdc_scan` when it wants the changes in the change table.
 */
export async function cdcTableWithoutJob(s: SourceSim, table: string): Promise<void> {
  await s.admin.request().batch(`EXEC sys.sp_cdc_enable_db;
    CREATE TABLE dbo.${table} (id int NOT NULL PRIMARY KEY, note varchar(20) NULL);
    EXEC sys.sp_cdc_enable_table @source_schema = N'dbo', @source_name = N'${table}', @role_name = NULL;
    EXEC sys.sp_cdc_stop_job @job_type = N'capture';`);
}

export function simSourceConfig(sim: { host: string; port: number }): SourceConfig {
  return {
    host: sim.host,
    port: sim.port,
    database: 'Claims',
    auth: {
      type: 'sql-login',
      user: SIM_CREDENTIALS.admin.user,
      password: { kind: 'value', value: SIM_CREDENTIALS.admin.password, fromEnv: [] },
    },
    encrypt: false,
    trustServerCertificate: true,
    readOnlyIntent: false,
    appName: 'tidemark',
    connectTimeout: durationOf(15_000),
    requestTimeout: durationOf(30_000),
    pool: { max: 1, min: 0, idleTimeout: durationOf(30_000) },
    maxConcurrentQueries: 1,
  };
}

/** Reads a whole window into memory (tests only). */
export async function collect(strategy: CaptureStrategy, window: SourceWindow): Promise<ChangeRow[]> {
  return (await collectWithResume(strategy, window)).rows;
}

/** Reads a window; returns its rows and where the next window starts (the read's refined end, else `to`). */
export async function collectWithResume(
  strategy: CaptureStrategy,
  window: SourceWindow,
): Promise<{ rows: ChangeRow[]; resumePosition: string }> {
  const rows: ChangeRow[] = [];
  let resumePosition = window.to;
  for await (const b of strategy.readWindow(window)) {
    rows.push(...b.rows);
    if (b.resumePosition !== undefined) resumePosition = b.resumePosition;
  }
  return { rows, resumePosition };
}

/** Plans and reads one window; returns the rows and the new watermark. */
export async function poll(
  strategy: CaptureStrategy,
  last: string | null,
): Promise<{ rows: ChangeRow[]; position: string | null; window: SourceWindow }> {
  const window = await strategy.planWindow(last);
  if (window.empty) return { rows: [], position: last, window };
  const read = await collectWithResume(strategy, window);
  return { rows: read.rows, position: read.resumePosition, window };
}

/** Column value of a change row by name. */
export function val(strategy: CaptureStrategy, row: ChangeRow, column: string): unknown {
  const i = strategy.columns.findIndex((c) => c.name === column);
  return row.values[i];
}
