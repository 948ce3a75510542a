/**
 * `npm run bench:sim -- --rows 5000000 --read 1000000 --page 10000 [--child]`: loads the seeded ClaimLines table
 * into a simulator, then reads it with `mssql` by keyset paging (the extractor's access pattern) and as one
 * streamed result, printing rows/s, load time and heap use. By default the simulator runs in this process (the
 * client shares its CPU: a lower bound); `--child` runs it as a separate process like the real pipeline.
 */
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import sql from 'mssql';
import { SIM_CREDENTIALS, startSimulator } from '../sim/index.js';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    read: { type: 'string', default: '500000' },
    page: { type: 'string', default: '10000' },
    child: { type: 'boolean', default: false },
  },
});
const rows = Number(values.rows);
const toRead = Math.min(Number(values.read), rows);
const page = Number(values.page);

const t0 = performance.now();
let address: { host: string; port: number };
let stop: () => Promise<void>;
if (values.child) {
  // The simulator as its own process (sim/cli.ts), as the pipeline runs it.
  const args = [
    '--max-old-space-size=12288',
    '--import',
    'tsx',
    'sim/cli.ts',
    '--port',
    '0',
    '--seed',
    '42',
    '--rows',
    String(rows),
  ];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    let buf = '';
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      const nl = buf.indexOf('\n');
      if (nl >= 0) resolve(buf.slice(0, nl));
    });
    child.once('exit', (code) => reject(new Error(`simulator exited with ${code}`)));
  });
  address = JSON.parse(line) as { host: string; port: number };
  stop = () => {
    child.kill('SIGTERM');
    return Promise.resolve();
  };
  const seconds = +((performance.now() - t0) / 1000).toFixed(1);
  console.log(JSON.stringify({ step: 'load', rows, mode: 'child', seconds }));
} else {
  const sim = await startSimulator({ port: 0, seed: 42, seedRows: rows });
  address = sim;
  stop = () => sim.stop();
  const loadMs = performance.now() - t0;
  global.gc?.();
  const heapMb = Math.round(process.memoryUsage().heapUsed / 1e6);
  const rowsPerSec = Math.round(rows / (loadMs / 1000));
  console.log(
    JSON.stringify({
      step: 'load',
      rows,
      mode: 'in-process',
      seconds: +(loadMs / 1000).toFixed(1),
      rowsPerSec,
      heapMb,
    }),
  );
}

const pool = await new sql.ConnectionPool({
  server: address.host,
  port: address.port,
  user: SIM_CREDENTIALS.extractor.user,
  password: SIM_CREDENTIALS.extractor.password,
  database: 'Claims',
  pool: { max: 1 },
  requestTimeout: 600_000,
  options: { encrypt: false, trustServerCertificate: true },
}).connect();

// Keyset paging, as the extractor reads.
let last = '0';
let read = 0;
const t1 = performance.now();
while (read < toRead) {
  const r = await pool
    .request()
    .input('last', sql.BigInt, last)
    .input('n', sql.Int, page)
    .query(
      'SELECT * FROM dbo.ClaimLines WHERE claim_line_id > @last ORDER BY claim_line_id OFFSET 0 ROWS FETCH NEXT @n ROWS ONLY',
    );
  if (r.recordset.length === 0) break;
  read += r.recordset.length;
  last = String((r.recordset[r.recordset.length - 1] as { claim_line_id: string }).claim_line_id);
}
const pagedS = (performance.now() - t1) / 1000;
console.log(
  JSON.stringify({
    step: 'keyset',
    rows: read,
    page,
    seconds: +pagedS.toFixed(2),
    rowsPerSec: Math.round(read / pagedS),
  }),
);

// One streamed result.
const t2 = performance.now();
let streamed = 0;
await new Promise<void>((resolve, reject) => {
  const req = pool.request();
  req.stream = true;
  req.arrayRowMode = true;
  req.on('row', () => {
    streamed++;
  });
  req.on('error', reject);
  req.on('done', () => resolve());
  void req.query(`SELECT TOP (${toRead}) * FROM dbo.ClaimLines ORDER BY claim_line_id`);
});
const streamS = (performance.now() - t2) / 1000;
console.log(
  JSON.stringify({
    step: 'stream',
    rows: streamed,
    seconds: +streamS.toFixed(2),
    rowsPerSec: Math.round(streamed / streamS),
  }),
);
await pool.close();
await stop();
