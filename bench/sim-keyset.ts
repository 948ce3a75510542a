/**
 * `npm run bench:sim -- [--rows 5000000] [--stream 1000000] [--read 1000000] [--page 10000]`: runs the
 * simulator in a child process (bench/sim-server.ts, as the pipeline runs it) with the seeded ClaimLines table
 * of `--rows` rows and prints, one JSON line each:
 *
 * 1. `load`: load time, the simulator's memory per stored row (JS heap, buffers outside it, total) and RSS;
 * 2. `stream`: `mssql` streaming one `--stream`-row result (arrayRowMode, as the extractor reads), and the ratio to the simulator's own
 *    rate for the same query (engine + TDS encoding, no socket): a ratio well below 1 means the client is the
 *    limit, not the simulator;
 * 3. `keyset`: keyset paging over the table with the extractor's query shape (src/source/chunks.ts: `TOP (n)`,
 *    key `>` the last one, `ORDER BY` the key), each page streamed the same way, and the ratio to (2);
 * 4. `memory`: the same memory figures and the peak RSS at the end.
 *
 * The rates share two cores with whatever else runs, so compare ratios from one run rather than rates across
 * runs; `simCpuUsPerRow` (the simulator's CPU time per row served) depends much less on the machine's load,
 * and `simBusyShare` says whether the simulator was the bottleneck (see simCost).
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import sql from 'mssql';
import { SIM_CREDENTIALS } from '../sim/index.js';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '5000000' },
    stream: { type: 'string', default: '1000000' },
    read: { type: 'string', default: '1000000' },
    page: { type: 'string', default: '10000' },
  },
});
const rows = Number(values.rows);
const toStream = Math.min(Number(values.stream), rows);
const toRead = Math.min(Number(values.read), rows);
const page = Number(values.page);

interface ServerInfo {
  host: string;
  port: number;
  loadSeconds: number;
  encodeRowsPerSec: number;
  encodeCpuUsPerRow: number;
  heapBytes: number;
  bufferBytes: number;
  peakRssBytes: number;
}
interface Memory {
  heapBytes: number;
  bufferBytes: number;
  peakRssBytes: number;
}
interface Usage {
  cpuMs: number;
  gcMs: number;
}

/** The simulator's CPU and GC time since start. */
async function simUsage(): Promise<Usage> {
  child.stdin.write('usage\n');
  return nextLine<Usage>();
}

/**
 * Between two usage readings over `wallMs`: the simulator's CPU µs per row served, its busy share (CPU time over
 * wall time: well below 1 means it waited for the client, so it was not the bottleneck), and GC pause time per
 * 1000 rows (wall-clock pauses, so inflated when the machine is oversubscribed).
 */
function simCost(a: Usage, b: Usage, n: number, wallMs: number): Record<string, number> {
  const cpu = b.cpuMs - a.cpuMs;
  return {
    simCpuUsPerRow: +((cpu * 1000) / n).toFixed(1),
    simBusyShare: +(cpu / wallMs).toFixed(2),
    simGcMsPer1kRows: +(((b.gcMs - a.gcMs) * 1000) / n).toFixed(2),
  };
}

/** Memory per stored row: JS heap (objects), buffers outside it (packed row bytes), and both. */
function perRow(m: Memory): Record<string, number> {
  return {
    heapBytesPerRow: Math.round(m.heapBytes / rows),
    bufferBytesPerRow: Math.round(m.bufferBytes / rows),
    totalBytesPerRow: Math.round((m.heapBytes + m.bufferBytes) / rows),
  };
}

const child = spawn(
  process.execPath,
  [
    '--max-old-space-size=12288',
    // A larger young generation: serving rows allocates short-lived values fast, and with the default 16 MB
    // semi-space the scavenges cost ~3 ms of pauses per 1000 rows at 5M rows (64 MB: ~1 ms; sim/README.md).
    '--max-semi-space-size=64',
    '--expose-gc',
    // e.g. BENCH_SIM_NODE_FLAGS='--cpu-prof --cpu-prof-dir=/tmp/prof' to profile the simulator.
    ...(process.env.BENCH_SIM_NODE_FLAGS ?? '').split(' ').filter(Boolean),
    '--import',
    'tsx',
    new URL('./sim-server.ts', import.meta.url).pathname,
    String(rows),
    String(toStream),
  ],
  { stdio: ['pipe', 'pipe', 'inherit'] },
);
const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
/** The simulator's next JSON line; other output (e.g. `--trace-gc` in BENCH_SIM_NODE_FLAGS) goes to stderr. */
async function nextLine<T>(): Promise<T> {
  for (;;) {
    const r = await lines.next();
    if (r.done) throw new Error('the simulator process ended early (see its output above)');
    if (r.value.startsWith('{')) return JSON.parse(r.value) as T;
    console.error(r.value);
  }
}

const mb = (b: number): number => Math.round(b / 1e6);
const server = await nextLine<ServerInfo>();
console.log(
  JSON.stringify({
    step: 'load',
    rows,
    seconds: +server.loadSeconds.toFixed(1),
    rowsPerSec: Math.round(rows / server.loadSeconds),
    ...perRow(server),
    heapMb: mb(server.heapBytes),
    peakRssMb: mb(server.peakRssBytes),
  }),
);

const pool = await new sql.ConnectionPool({
  server: server.host,
  port: server.port,
  user: SIM_CREDENTIALS.extractor.user,
  password: SIM_CREDENTIALS.extractor.password,
  database: 'Claims',
  pool: { max: 1 },
  requestTimeout: 600_000,
  options: { encrypt: false, trustServerCertificate: true },
}).connect();

/**
 * Streams one query's rows in arrayRowMode (as src/source/connection.ts reads); returns the row count and the
 * last row's first column (the key).
 */
function streamRows(req: sql.Request, text: string): Promise<{ rows: number; lastKey: unknown }> {
  return new Promise((resolve, reject) => {
    let n = 0;
    let lastKey: unknown;
    req.stream = true;
    req.arrayRowMode = true;
    req.on('row', (row: unknown[]) => {
      n++;
      lastKey = row[0];
    });
    req.on('error', reject);
    req.on('done', () => resolve({ rows: n, lastKey }));
    void req.query(text);
  });
}

try {
  // (2) One streamed result: the rate the client can consume.
  const u0 = await simUsage();
  const t2 = performance.now();
  const { rows: streamed } = await streamRows(
    pool.request(),
    `SELECT TOP (${toStream}) * FROM dbo.ClaimLines ORDER BY claim_line_id`,
  );
  const streamMs = performance.now() - t2;
  const streamRate = streamed / (streamMs / 1000);
  const u1 = await simUsage();
  console.log(
    JSON.stringify({
      step: 'stream',
      rows: streamed,
      rowsPerSec: Math.round(streamRate),
      simEncodeRowsPerSec: Math.round(server.encodeRowsPerSec),
      simEncodeCpuUsPerRow: +server.encodeCpuUsPerRow.toFixed(1),
      ratioToSimEncode: +(streamRate / server.encodeRowsPerSec).toFixed(2),
      ...simCost(u0, u1, streamed, streamMs),
    }),
  );

  // (3) Keyset paging with the extractor's query shape (src/source/chunks.ts), each page streamed.
  let last = '0';
  let read = 0;
  const t1 = performance.now();
  while (read < toRead) {
    const r = await streamRows(
      pool.request().input('last', sql.BigInt, last),
      `SELECT TOP (${page}) * FROM dbo.ClaimLines WHERE claim_line_id > @last ORDER BY claim_line_id OPTION (MAXDOP 1)`,
    );
    if (r.rows === 0) break;
    read += r.rows;
    last = String(r.lastKey);
  }
  const keysetMs = performance.now() - t1;
  const keysetRate = read / (keysetMs / 1000);
  const u2 = await simUsage();
  console.log(
    JSON.stringify({
      step: 'keyset',
      tableRows: rows,
      rows: read,
      page,
      rowsPerSec: Math.round(keysetRate),
      ratioToStream: +(keysetRate / streamRate).toFixed(2),
      ...simCost(u1, u2, read, keysetMs),
    }),
  );
} finally {
  await pool.close();
}

// (4) The simulator's memory after serving.
child.stdin.write('memory\n');
const end = await nextLine<Memory>();
console.log(
  JSON.stringify({
    step: 'memory',
    ...perRow(end),
    heapMb: mb(end.heapBytes),
    peakRssMb: mb(end.peakRssBytes),
  }),
);
child.stdin.end();
