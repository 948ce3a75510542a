/**
 * `npm run bench:source [-- --rows 1000000 --log-rows 200000]`: rows/s of each capture strategy reading a
 * claim-line window, beside the raw `mssql` stream of the same rows in the same run, and the client's peak
 * RSS. The simulator runs as its own process (seeded dbo.ClaimLines, 25 columns).
 *
 * - raw: `SELECT *` streamed by mssql (arrayRowMode, no decoding) — the driver's ceiling; and, after each
 *   strategy, the very query that strategy sent, streamed raw (the same rows through the same index), so the
 *   ratio isolates the client-side cost (batching, backpressure, decoding) from the server's;
 * - raw+casts: the strategies' exact SELECT list (decimal(18,2) and datetimeoffset read as text) — the cost of
 *   the lossless read path on the server and the wire;
 * - rowversion / updated_at / identity / chunk: plan + read through src/source (decode to lake values);
 * - cdc / change_tracking: a window of `--log-rows` updates (the simulator holds the change log in memory); the
 *   CDC window is planned as the worker plans it (with `subRangeRows`: the capped count, and the commit times of
 *   a window of few transactions for the read), not split.
 * Prints one JSON line per step. Figures, not assertions.
 */
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import sql from 'mssql';
import { SIM_CREDENTIALS } from '../sim/index.js';
import { SourceConnection, type QueryParam } from '../src/source/connection.js';
import { discoverTable, tableReaders } from '../src/source/discovery.js';
import { rowversionPositioner } from '../src/source/strategies/rowversion.js';
import { readChunk } from '../src/source/chunks.js';
import { CdcStrategy } from '../src/source/strategies/cdc.js';
import { ChangeTrackingStrategy } from '../src/source/strategies/change-tracking.js';
import { IdentityStrategy } from '../src/source/strategies/identity.js';
import { RowversionStrategy } from '../src/source/strategies/rowversion.js';
import { UpdatedAtStrategy } from '../src/source/strategies/updated-at.js';
import type { CaptureStrategy, PlanOptions } from '../src/source/strategies/types.js';
import { DEFAULTS } from '../src/config/defaults.js';
import { rawStream as rawStreamOn } from './raw-stream.js';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    'log-rows': { type: 'string', default: '200000' },
    skip: { type: 'string', default: '' },
  },
});
const rows = Number(values.rows);
const logRows = Number(values['log-rows']);
const skip = new Set(values.skip.split(',').filter(Boolean));
const peakRssMb = () => Math.round(process.resourceUsage().maxRSS / 1024);
const out = (o: Record<string, unknown>) => console.log(JSON.stringify({ ...o, peakRssMb: peakRssMb() }));

const t0 = performance.now();
const child = spawn(
  process.execPath,
  [
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
  ],
  { stdio: ['ignore', 'pipe', 'inherit'] },
);
const address = await new Promise<{ host: string; port: number }>((resolve, reject) => {
  let buf = '';
  child.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    const nl = buf.indexOf('\n');
    if (nl >= 0) resolve(JSON.parse(buf.slice(0, nl)) as { host: string; port: number });
  });
  child.once('exit', (code) => reject(new Error(`simulator exited with ${code}`)));
});
out({ step: 'load', rows, seconds: +((performance.now() - t0) / 1000).toFixed(1) });

const poolOf = (max: number) =>
  new sql.ConnectionPool({
    server: address.host,
    port: address.port,
    user: SIM_CREDENTIALS.admin.user,
    password: SIM_CREDENTIALS.admin.password,
    database: 'Claims',
    pool: { max, min: 0 },
    requestTimeout: 0,
    options: { encrypt: false, trustServerCertificate: true, appName: 'tidemark' },
  }).connect();

try {
  const admin = await poolOf(1);
  await admin.request().batch(`CREATE INDEX IX_ClaimLines_rv ON dbo.ClaimLines (row_version);
    CREATE INDEX IX_ClaimLines_updated_at ON dbo.ClaimLines (updated_at);`);
  const conn = new SourceConnection(await poolOf(2), {
    maxConcurrentQueries: 2,
    maxRowsPerSecond: Number.MAX_SAFE_INTEGER,
  });
  const d = await discoverTable(conn, 'dbo', 'ClaimLines');

  const rawStream = (text: string, params: readonly QueryParam[] = []) => rawStreamOn(admin, text, params);
  const timed = async (step: string, fn: () => Promise<number>, extra: Record<string, unknown> = {}) => {
    const s = performance.now();
    const n = await fn();
    const secs = (performance.now() - s) / 1000;
    const rate = Math.round(n / secs);
    return { step, rows: n, seconds: +secs.toFixed(2), rowsPerSecond: rate, ...extra };
  };
  await rawStream('SELECT * FROM dbo.ClaimLines'); // warm-up (JIT, engine row packing)
  const raw = await timed('raw mssql stream (SELECT *)', () => rawStream('SELECT * FROM dbo.ClaimLines'));
  out(raw);
  const list = tableReaders(d)
    .map((r) => r.selectSql())
    .join(', ');
  out({
    ...(await timed('raw mssql stream (exact SELECT list)', () => rawStream(`SELECT ${list} FROM dbo.ClaimLines`))),
    textColumns: tableReaders(d)
      .filter((r) => r.readAsText)
      .map((r) => r.name),
  });
  const r0 = await timed('SourceConnection.stream (batches, backpressure, no decoding)', async () => {
    let n = 0;
    for await (const b of conn.stream('bench', `SELECT ${list} FROM dbo.ClaimLines`)) n += b.rows.length;
    return n;
  });
  out({ ...r0, ratioToRaw: +(r0.rowsPerSecond / raw.rowsPerSecond).toFixed(2) });
  // Record each strategy's read query, to stream exactly the same query raw afterwards.
  let lastRead: { text: string; params: readonly QueryParam[] } | undefined;
  const stream = conn.stream.bind(conn);
  conn.stream = (op, text, params = [], opts = {}) => {
    lastRead = { text, params };
    return stream(op, text, params, opts);
  };
  const sameQueryRaw = async (name: string, r: { rowsPerSecond: number }) => {
    if (!lastRead) return {};
    const q = lastRead;
    const rr = await timed(`raw mssql stream (${name}'s read query)`, () => rawStream(q.text, q.params));
    return {
      rawSameQueryRowsPerSecond: rr.rowsPerSecond,
      ratioToRawSameQuery: +(r.rowsPerSecond / rr.rowsPerSecond).toFixed(2),
    };
  };
  const drain = async (st: CaptureStrategy, last: string | null, plan: PlanOptions = {}): Promise<number> => {
    const w = await st.planWindow(last, plan);
    let n = 0;
    for await (const b of st.readWindow(w)) n += b.rows.length;
    return n;
  };
  const ratio = (r: { rowsPerSecond: number }) => ({ ratioToRaw: +(r.rowsPerSecond / raw.rowsPerSecond).toFixed(2) });
  const strategies: [string, () => CaptureStrategy][] = [
    ['rowversion', () => new RowversionStrategy(conn, d, 'row_version')],
    ['updated_at', () => new UpdatedAtStrategy(conn, d, 'updated_at', { lookbackMs: 0, safetyLagMs: 0 })],
    ['identity', () => new IdentityStrategy(conn, d, 'claim_line_id', { maxRowsPerWindow: rows })],
  ];
  for (const [name, make] of strategies) {
    if (skip.has(name)) continue;
    const st = make();
    // Identity from high-water 0: the incremental path (one seek, then the read); planWindow(null) is a full
    // load's start position, which reads every key once.
    const r = await timed(name, () => drain(st, name === 'identity' ? '0'.repeat(20) : null));
    out({ ...r, ...ratio(r), ...(await sameQueryRaw(name, r)), planMs: st.lastPlanStats?.durationMs });
  }
  if (!skip.has('chunk')) {
    const r = await timed('chunk (snapshot read, r events)', async () => {
      let n = 0;
      for await (const b of readChunk(conn, d, {
        limit: rows,
        positioner: rowversionPositioner('row_version'),
      }))
        n += b.rows.length;
      return n;
    });
    out({ ...r, ...ratio(r), ...(await sameQueryRaw('chunk', r)) });
  }

  // Change-log strategies: a window of logRows updates.
  const touch = `UPDATE TOP (${logRows}) dbo.ClaimLines SET notes = N'repriced'`;
  if (!skip.has('cdc')) {
    await admin.request().batch(`EXEC sys.sp_cdc_enable_db;
      EXEC sys.sp_cdc_enable_table @source_schema = N'dbo', @source_name = N'ClaimLines', @role_name = NULL;
      EXEC sys.sp_cdc_stop_job @job_type = N'capture';
      EXEC sys.sp_cdc_scan @maxtrans = 500, @maxscans = 10, @continuous = 0;`);
    const st = new CdcStrategy(conn, await discoverTable(conn, 'dbo', 'ClaimLines'));
    const start = (await st.planWindow(null)).to;
    await admin.request().batch(touch);
    await admin.request().batch('EXEC sys.sp_cdc_scan @maxtrans = 500, @maxscans = 10, @continuous = 0');
    const rawCdc = await timed('raw mssql stream (CDC function)', () =>
      rawStream(
        `DECLARE @f binary(10) = sys.fn_cdc_increment_lsn(0x${start.slice(0, 20)}), @t binary(10) = sys.fn_cdc_get_max_lsn();
         SELECT * FROM cdc.fn_cdc_get_all_changes_dbo_ClaimLines(@f, @t, N'all')`,
      ),
    );
    out(rawCdc);
    const r = await timed('cdc', () => drain(st, start, { rowsPerSubRange: DEFAULTS.subRangeRows }));
    out({
      ...r,
      ratioToRawCdc: +(r.rowsPerSecond / rawCdc.rowsPerSecond).toFixed(2),
      ...(await sameQueryRaw('cdc', r)),
    });
  }
  if (!skip.has('change_tracking')) {
    await admin.request().batch(`ALTER DATABASE Claims SET ALLOW_SNAPSHOT_ISOLATION ON;
      ALTER DATABASE Claims SET CHANGE_TRACKING = ON (CHANGE_RETENTION = 2 DAYS, AUTO_CLEANUP = ON);
      ALTER TABLE dbo.ClaimLines ENABLE CHANGE_TRACKING;`);
    const d2 = await discoverTable(conn, 'dbo', 'ClaimLines');
    const st = new ChangeTrackingStrategy(conn, d2);
    const start = (await st.planWindow(null)).to;
    await admin.request().batch(touch.replace("N'repriced'", "N'repriced again'"));
    const r = await timed('change_tracking', () => drain(st, start));
    out({ ...r, ...ratio(r), ...(await sameQueryRaw('change_tracking', r)) });
  }
  await conn.close();
  await admin.close();
} finally {
  child.kill('SIGTERM');
}
