/**
 * `npm run bench:sim -- --rows 5000000 --read 1000000 --page 10000`: loads the seeded ClaimLines table into an
 * in-process simulator, then reads it with `mssql` by keyset paging (the extractor's access pattern) and as one
 * streamed result, printing rows/s, load time and heap use. The client runs in this process too, so the
 * numbers are a lower bound for a separate client process.
 */
import { parseArgs } from 'node:util';
import sql from 'mssql';
import { SIM_CREDENTIALS, startSimulator } from '../sim/index.js';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    read: { type: 'string', default: '500000' },
    page: { type: 'string', default: '10000' },
  },
});
const rows = Number(values.rows);
const toRead = Math.min(Number(values.read), rows);
const page = Number(values.page);

const t0 = performance.now();
const sim = await startSimulator({ port: 0, seed: 42, seedRows: rows });
const loadMs = performance.now() - t0;
global.gc?.();
const heapMb = process.memoryUsage().heapUsed / 1e6;
console.log(
  JSON.stringify({
    step: 'load',
    rows,
    seconds: +(loadMs / 1000).toFixed(1),
    rowsPerSec: Math.round(rows / (loadMs / 1000)),
    heapMb: Math.round(heapMb),
  }),
);

const pool = await new sql.ConnectionPool({
  server: sim.host,
  port: sim.port,
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
await sim.stop();
