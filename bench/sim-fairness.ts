/**
 * `npm run bench:sim:fairness [-- --rows 200000 --burst 20000 --chunk-rows 100000 --sim-cpus 0 --baseline-sim DIR
 *  --out FILE]`: how fairly the SQL Server simulator shares its one thread between sessions while one of them
 * reads a large result — the question behind the OLTP impact of issue 14: does the application's statement wait
 * behind Tidemark's read because the database is loaded, or because the simulator (one Node process, one event
 * loop) produces the read's rows in long synchronous runs that no other session can interrupt? A real SQL Server
 * runs each session on its schedulers and yields every ~4 ms quantum and on every network wait.
 *
 * The simulator (its own process, seeded with `--rows` rows of the 25-column dbo.ClaimLines, CDC on) serves three
 * reads as Tidemark sends them, one at a time, on the admin pool (tedious's default packets, as Tidemark's source
 * pool): `SELECT *` of the table (the raw-read baseline), a chunk read (a keyset range of `--chunk-rows` keys in key
 * order), and a CDC window read of a `--burst`-row update (the function, ordered by LSN, seqval, operation). During
 * each, a second session (the workload's pool) runs a keyed lookup on dbo.ClaimLines back to back, the shape of the
 * application's statements; the same lookups run for 2 s before the read as the idle baseline. Per read: its rows/s,
 * the lookups that completed while it streamed and their p50/p95/max against idle, the longest gap between two
 * rows as the reader received them, and the simulator's event-loop delay (p99/max of 250 ms intervals, from
 * bench/loop-delay-report.ts preloaded into it).
 *
 * `--baseline-sim DIR` runs everything first on another checkout's simulator (DIR holds its `sim/`,
 * `package.json` and `tsconfig.json`, node_modules linked), then on this one, in the same run: compare the two
 * within the run (the machine may be shared). Figures, not assertions.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import sql from 'mssql';
import { SIM_CREDENTIALS } from '../sim/index.js';
import { BusyMeter } from './process-cpu.js';
import { quantileMs, workloadPool } from './steady-workload.js';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '200000' },
    burst: { type: 'string', default: '20000' },
    'chunk-rows': { type: 'string', default: '100000' },
    'sim-cpus': { type: 'string' },
    'baseline-sim': { type: 'string' },
    out: { type: 'string' },
  },
});
const ROWS = Number(values.rows);
const BURST = Number(values.burst);
const CHUNK_ROWS = Number(values['chunk-rows']);
const say = (line: string) => process.stdout.write(`${line}\n`);
const LOOP_REPORT = fileURLToPath(new URL('./loop-delay-report.ts', import.meta.url));

interface LoopSample {
  at: number;
  p50: number;
  p99: number;
  max: number;
}

interface Sim {
  child: ChildProcess;
  admin: sql.ConnectionPool;
  /** The read's connection settings (tedious's default packet size, like Tidemark's source pool). */
  reader: sql.config;
  app: sql.ConnectionPool;
  loop: LoopSample[];
  stop(): Promise<void>;
}

async function startSim(dir?: string): Promise<Sim> {
  const argv = [
    '--import',
    'tsx',
    '--import',
    LOOP_REPORT,
    'sim/cli.ts',
    '--port',
    '0',
    '--cdc-polling-s',
    '1',
    '--seed',
    '42',
    '--rows',
    String(ROWS),
  ];
  const simCpus = values['sim-cpus'];
  const [cmd, args] = simCpus ? ['taskset', ['-c', simCpus, process.execPath, ...argv]] : [process.execPath, argv];
  const child = spawn(cmd, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, LOOP_DELAY_REPORT_MS: '250' },
    ...(dir ? { cwd: resolve(dir) } : {}),
  });
  const loop: LoopSample[] = [];
  let err = '';
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString();
    for (let nl = err.indexOf('\n'); nl >= 0; nl = err.indexOf('\n')) {
      const line = err.slice(0, nl);
      err = err.slice(nl + 1);
      if (line.startsWith('loop-delay ')) loop.push(JSON.parse(line.slice('loop-delay '.length)) as LoopSample);
      else process.stderr.write(`${line}\n`);
    }
  });
  const first = await new Promise<string>((ok, fail) => {
    let buf = '';
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      const nl = buf.indexOf('\n');
      if (nl >= 0) ok(buf.slice(0, nl));
    });
    child.once('exit', (code) => fail(new Error(`simulator exited with ${code}`)));
  });
  const { host, port } = JSON.parse(first) as { host: string; port: number };
  const reader: sql.config = {
    server: host,
    port,
    user: SIM_CREDENTIALS.admin.user,
    password: SIM_CREDENTIALS.admin.password,
    database: 'Claims',
    pool: { max: 1, min: 0 },
    requestTimeout: 0,
    options: { encrypt: false, trustServerCertificate: true },
  };
  const admin = await new sql.ConnectionPool({ ...reader, pool: { max: 2, min: 0 } }).connect();
  const app = await workloadPool(host, port, 1);
  return {
    child,
    admin,
    reader,
    app,
    loop,
    stop: async () => {
      await app.close().catch(() => undefined);
      await admin.close().catch(() => undefined);
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(30_000)]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

/** Keyed lookups on one session, back to back, until `stop` is set: each one's latency and end time. */
async function lookups(app: sql.ConnectionPool, stop: { now: boolean }) {
  const done: { ms: number; endedAt: number }[] = [];
  let id = 1;
  while (!stop.now) {
    id = (id * 7919 + 13) % ROWS || 1;
    const t = performance.now();
    await app
      .request()
      .input('id', sql.BigInt, id)
      .query('SELECT status, paid_amount FROM dbo.ClaimLines WHERE claim_line_id = @id');
    const end = performance.now();
    done.push({ ms: end - t, endedAt: performance.timeOrigin + end });
  }
  return done;
}

/**
 * The read runs on a thread of its own (its own event loop, the driver's row parsing there): on the bench's main
 * thread it would delay the lookups' own responses, and the figure would mix the reader's CPU into theirs.
 * Plain JavaScript evaluated in the thread (mssql only), so no TypeScript loader is needed there.
 */
const READER = `
const { parentPort, workerData } = require('node:worker_threads');
const sql = require('mssql');
(async () => {
  const { config, text, params } = workerData;
  const pool = await new sql.ConnectionPool(config).connect();
  const req = pool.request();
  for (const p of params) req.input(p.name, sql.BigInt, p.value);
  req.stream = true;
  req.arrayRowMode = true;
  let n = 0, maxGap = 0, last = 0;
  parentPort.postMessage({ kind: 'start', at: performance.timeOrigin + performance.now() });
  const t0 = performance.now();
  await new Promise((ok, fail) => {
    req.on('row', () => {
      const now = performance.now();
      if (n > 0 && now - last > maxGap) maxGap = now - last;
      last = now;
      n++;
    });
    req.on('error', fail);
    req.on('done', () => ok());
    void req.query(text).catch(() => undefined);
  });
  const ms = performance.now() - t0;
  await pool.close();
  parentPort.postMessage({ kind: 'done', rows: n, ms, maxGapMs: maxGap, at: performance.timeOrigin + performance.now() });
})().catch((err) => parentPort.postMessage({ kind: 'error', message: String(err) }));
`;

interface ReadResult {
  rows: number;
  ms: number;
  maxGapMs: number;
  /** Epoch ms of the read's start and end (the two threads share no performance.now() origin). */
  startedAt: number;
  endedAt: number;
}

/** Streams `text` on a thread of its own (arrayRowMode, rows only counted). */
function streamed(config: sql.config, text: string, params: { name: string; value: number }[] = []) {
  return new Promise<ReadResult>((ok, fail) => {
    const thread = new Worker(READER, { eval: true, workerData: { config, text, params } });
    let startedAt = 0;
    thread.on(
      'message',
      (m: { kind: string; at: number; rows: number; ms: number; maxGapMs: number; message: string }) => {
        if (m.kind === 'start') startedAt = m.at;
        else if (m.kind === 'done') ok({ rows: m.rows, ms: m.ms, maxGapMs: m.maxGapMs, startedAt, endedAt: m.at });
        else fail(new Error(m.message));
      },
    );
    thread.on('error', fail);
  });
}

const round = (x: number | null) => (x === null ? null : +x.toFixed(1));

async function measure(sim: Sim, name: string, read: () => Promise<ReadResult>) {
  // Idle baseline: the same lookups for 2 s with nothing else running.
  const idleStop = { now: false };
  const idleRun = lookups(sim.app, idleStop);
  await sleep(2000);
  idleStop.now = true;
  const idle = await idleRun;
  const busy = new BusyMeter(sim.child.pid);
  const stop = { now: false };
  const during = lookups(sim.app, stop);
  const r = await read();
  stop.now = true;
  const all = await during;
  const simBusy = busy.lap();
  const inRead = all.filter((l) => l.endedAt <= r.endedAt).map((l) => l.ms);
  // Intervals that ended while the read ran (each covers the 250 ms before its time stamp).
  const loop = sim.loop.filter((s) => s.at >= r.startedAt && s.at <= r.endedAt + 250);
  const out = {
    read: name,
    rows: r.rows,
    seconds: +(r.ms / 1000).toFixed(2),
    rowsPerSecond: Math.round((r.rows * 1000) / r.ms),
    maxGapBetweenRowsMs: round(r.maxGapMs),
    simulatorBusy: simBusy.share,
    /** The simulator's CPU per row streamed (the lookups' share included, a few %): the figure load moves least. */
    simulatorCpuUsPerRow: simBusy.cpuSeconds === null ? null : +((simBusy.cpuSeconds * 1e6) / r.rows).toFixed(1),
    lookupsIdle: {
      count: idle.length,
      p50Ms: quantileMs(
        idle.map((l) => l.ms),
        0.5,
      ),
      p95Ms: quantileMs(
        idle.map((l) => l.ms),
        0.95,
      ),
    },
    lookupsDuringRead: {
      count: inRead.length,
      perSecond: +((inRead.length * 1000) / r.ms).toFixed(1),
      p50Ms: quantileMs(inRead, 0.5),
      p95Ms: quantileMs(inRead, 0.95),
      maxMs: round(inRead.length ? Math.max(...inRead) : null),
    },
    simulatorLoopDelay: {
      p99MaxMs: loop.length ? Math.max(...loop.map((s) => s.p99)) : null,
      maxMs: loop.length ? Math.max(...loop.map((s) => s.max)) : null,
      p99PerInterval: loop.map((s) => s.p99),
      maxPerInterval: loop.map((s) => s.max),
    },
  };
  say(
    `  ${name}: ${out.rows} rows in ${out.seconds} s (${out.rowsPerSecond} rows/s, sim busy ${out.simulatorBusy}, ${out.simulatorCpuUsPerRow} µs CPU/row); ` +
      `lookups idle p50/p95 ${out.lookupsIdle.p50Ms}/${out.lookupsIdle.p95Ms} ms; during the read ${out.lookupsDuringRead.count} ` +
      `(${out.lookupsDuringRead.perSecond}/s) p50/p95/max ${out.lookupsDuringRead.p50Ms}/${out.lookupsDuringRead.p95Ms}/${out.lookupsDuringRead.maxMs} ms; ` +
      `longest gap between rows ${out.maxGapBetweenRowsMs} ms; sim loop delay max ${out.simulatorLoopDelay.maxMs} ms`,
  );
  return out;
}

async function run(dir?: string) {
  const sim = await startSim(dir);
  try {
    await sim.admin.request().batch(`ALTER DATABASE Claims SET ALLOW_SNAPSHOT_ISOLATION ON;
      EXEC sys.sp_cdc_enable_db;
      EXEC sys.sp_cdc_enable_table @source_schema = N'dbo', @source_name = N'ClaimLines', @role_name = NULL;`);
    await streamed(sim.reader, 'SELECT TOP 20000 * FROM dbo.ClaimLines'); // warm-up (JIT, connections)
    // The raw-read baseline alone (no lookups): what the quantum costs the benches' baseline, if anything.
    const alone = new BusyMeter(sim.child.pid);
    const raw = await streamed(sim.reader, 'SELECT * FROM dbo.ClaimLines');
    const rawBusy = alone.lap();
    const rawRead = {
      rows: raw.rows,
      rowsPerSecond: Math.round((raw.rows * 1000) / raw.ms),
      simulatorBusy: rawBusy.share,
      simulatorCpuUsPerRow: rawBusy.cpuSeconds === null ? null : +((rawBusy.cpuSeconds * 1e6) / raw.rows).toFixed(1),
    };
    say(
      `  raw SELECT * alone: ${rawRead.rows} rows at ${rawRead.rowsPerSecond} rows/s, sim busy ${rawRead.simulatorBusy}, ${rawRead.simulatorCpuUsPerRow} µs CPU/row`,
    );
    const select = await measure(sim, 'SELECT *', () => streamed(sim.reader, 'SELECT * FROM dbo.ClaimLines'));
    const chunk = await measure(sim, `chunk of ${CHUNK_ROWS} keys`, () =>
      streamed(
        sim.reader,
        `SELECT * FROM dbo.ClaimLines WHERE claim_line_id > @lo AND claim_line_id <= @hi
          ORDER BY claim_line_id OPTION (MAXDOP 1)`,
        [
          { name: 'lo', value: 0 },
          { name: 'hi', value: CHUNK_ROWS },
        ],
      ),
    );
    await sim.admin.request().batch(`UPDATE TOP (${BURST}) dbo.ClaimLines SET notes = N'repriced in bench'`);
    for (const t0 = performance.now(); performance.now() - t0 < 600_000; await sleep(200)) {
      const r = await sim.admin
        .request()
        .query<{ n: number }>('SELECT COUNT(*) AS n FROM cdc.dbo_ClaimLines_CT WHERE __$operation = 4');
      if ((r.recordset[0]?.n ?? 0) >= BURST) break;
    }
    const cdc = await measure(sim, `CDC window of ${BURST} updates`, () =>
      streamed(
        sim.reader,
        `DECLARE @f binary(10) = sys.fn_cdc_get_min_lsn(N'dbo_ClaimLines'), @t binary(10) = sys.fn_cdc_get_max_lsn();
         SELECT c.__$start_lsn, c.__$seqval, c.__$operation, c.*
           FROM cdc.fn_cdc_get_all_changes_dbo_ClaimLines(@f, @t, N'all') AS c
          ORDER BY c.__$start_lsn, c.__$seqval, c.__$operation OPTION (MAXDOP 1)`,
      ),
    );
    return { rawRead, select, chunk, cdc };
  } finally {
    await sim.stop();
  }
}

const baseline = values['baseline-sim'];
const result = {
  benchmark: 'sim-fairness',
  at: new Date().toISOString(),
  machine: { cpus: cpus().length, node: process.version },
  options: { rows: ROWS, burst: BURST, chunkRows: CHUNK_ROWS, simCpus: values['sim-cpus'] ?? null },
  baselineSimulator: baseline ?? null,
  baseline: baseline ? (say(`baseline simulator (${baseline})`), await run(baseline)) : null,
  ours: (say("this checkout's simulator"), await run()),
};
const out = values.out ?? join('bench', 'results', `sim-fairness-${result.at.replace(/\D/g, '').slice(0, 12)}.json`);
await mkdir(dirname(out), { recursive: true });
// Formatted with the repository's Prettier settings, so a result kept in bench/results passes `format:check`.
const { format, resolveConfig } = await import('prettier');
const style = (await resolveConfig(resolve(out))) ?? {};
await writeFile(out, await format(JSON.stringify(result, null, 2), { ...style, parser: 'json' }));
say(`results: ${out}`);
process.exit(0);
