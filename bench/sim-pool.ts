/** The `mssql` pool the benches open on a simulator as its admin login (clear text on loopback, database Claims). */
import sql from 'mssql';
import { SIM_CREDENTIALS } from '../sim/index.js';

export function simAdminPool(
  at: { host: string; port: number },
  opts: { poolMax?: number; requestTimeout?: number; packetSize?: number } = {},
): Promise<sql.ConnectionPool> {
  return new sql.ConnectionPool({
    server: at.host,
    port: at.port,
    user: SIM_CREDENTIALS.admin.user,
    password: SIM_CREDENTIALS.admin.password,
    database: 'Claims',
    ...(opts.poolMax !== undefined ? { pool: { max: opts.poolMax, min: 0 } } : {}),
    ...(opts.requestTimeout !== undefined ? { requestTimeout: opts.requestTimeout } : {}),
    options: {
      encrypt: false,
      trustServerCertificate: true,
      ...(opts.packetSize !== undefined ? { packetSize: opts.packetSize } : {}),
    },
  }).connect();
}
