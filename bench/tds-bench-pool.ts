/**
 * An `mssql` pool on bench/tds-bench-server.ts, started as a child process (so server and client do not share a
 * core), whose `select claim lines` answers `rows` claim-line rows: bench/tds-encode.ts and bench/driver-read-cpu.ts.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import sql from 'mssql';

export async function tdsBenchPool(
  rows: number,
  opts: { tls?: boolean; options?: sql.IOptions } = {},
): Promise<{ pool: sql.ConnectionPool; stop: () => Promise<void> }> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      new URL('./tds-bench-server.ts', import.meta.url).pathname,
      String(rows),
      opts.tls ? 'tls' : 'plain',
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  try {
    const [line] = (await once(createInterface({ input: child.stdout }), 'line')) as [string];
    const { port } = JSON.parse(line) as { port: number };
    const pool = await new sql.ConnectionPool({
      server: '127.0.0.1',
      port,
      user: 'sa',
      password: 'Sim-Passw0rd',
      options: { encrypt: opts.tls ?? false, trustServerCertificate: true, ...opts.options },
      arrayRowMode: true,
      requestTimeout: 600_000,
    }).connect();
    return {
      pool,
      stop: async () => {
        try {
          await pool.close();
        } finally {
          child.kill('SIGTERM');
        }
      },
    };
  } catch (err) {
    child.kill('SIGTERM');
    throw err;
  }
}
