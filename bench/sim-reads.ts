/**
 * `npm run bench:sim:reads [-- --rows 500000 --chunk-rows 500000 --burst 50000 --baseline-sim DIR --out FILE]`:
 * the SQL Server simulator's CPU per row for each query Tidemark's initial load and CDC burst send it, beside
 * the raw `SELECT *` of the same rows — measured in the simulator's process (/proc/<pid>/stat, user + system, all
 * threads), no Tidemark worker, Temporal or Azurite (issue 14, "The simulator's read path").
 *
 * Steps, on a simulator seeded with `--rows` rows of dbo.ClaimLines (25 columns), snapshot isolation and CDC on:
 * 1. raw `SELECT *` (mssql, arrayRowMode, rows counted only): the baseline, never to get slower;
 * 2. the plan's chunk boundaries: src/source's `nextChunkBoundary` as chunk-plan.ts calls it for chunks of
 *    `--chunk-rows` keys (`ORDER BY key OFFSET n-1 ROWS FETCH NEXT 1 ROWS ONLY`), per row of the table;
 * 3. the chunks: src/source's `readChunk` (SNAPSHOT transaction, the exact SELECT list with its CASTs);
 * 4. `SELECT COUNT_BIG(*)` of the table;
 * 5. a burst: `UPDATE TOP (--burst)` and one capture scan (figures for context, not the read path);
 * 6. raw `SELECT *` of the CDC function over the burst (arrayRowMode);
 * 7. Tidemark's CDC window over it: `CdcStrategy.planWindow` + `readWindow` (counts, the commit-time query, the
 *    read), per change.
 * `--baseline-sim DIR` runs every step first on the simulator of another checkout (DIR holds its `sim/`, e.g.
 * `git archive <commit> sim package.json tsconfig.json` extracted, node_modules linked), then on this one, so the
 * two compare within one run. `--steps a,b` runs only those steps (by the names printed; the boundaries are
 * planned whenever the chunks are read); `--cpu-prof DIR` runs each simulator under `node --cpu-prof` (profiles in
 * DIR/baseline and DIR/ours). Figures, not assertions; on a shared machine compare only within one run.
 */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { SourceConnection, SOURCE_PACKET_SIZE } from '../src/source/connection.js';
import { discoverTable } from '../src/source/discovery.js';
import { nextChunkBoundary, readChunk } from '../src/source/chunks.js';
import { CdcStrategy, cdcPositioner } from '../src/source/strategies/cdc.js';
import type { KeyValues } from '../src/domain/keys.js';
import { benchStack, stopChild } from './pipeline-stack.js';
import { BusyMeter } from './process-cpu.js';
import { rawStream } from './raw-stream.js';
import { simAdminPool } from './sim-pool.js';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '500000' },
    'chunk-rows': { type: 'string', default: '500000' },
    burst: { type: 'string', default: '50000' },
    repeat: { type: 'string', default: '1' },
    'baseline-sim': { type: 'string' },
    'cpu-prof': { type: 'string' },
    steps: { type: 'string' },
    out: { type: 'string' },
  },
});
const ROWS = Number(values.rows);
const CHUNK_ROWS = Number(values['chunk-rows']);
const BURST = Number(values.burst);
const REPEAT = Number(values.repeat);
for (const [name, v] of Object.entries({ rows: ROWS, 'chunk-rows': CHUNK_ROWS, burst: BURST, repeat: REPEAT }))
  if (!Number.isInteger(v) || v <= 0) throw new Error(`--${name} must be a positive integer (got ${String(v)})`);
const STEPS = values.steps ? new Set(values.steps.split(',').map((x) => x.trim())) : undefined;
const say = (line: string) => process.stdout.write(`${line}\n`);
const at = new Date().toISOString();
const stack = benchStack({
  workDir: await mkdtemp(join(tmpdir(), 'tidemark-bench-sim-reads-')),
  runId: at.replace(/\D/g, '').slice(0, 14),
  prefix: 'bench-sim-reads',
  cadenceSeconds: 60, // no pipeline here: the simulator only
});

interface Step {
  rows: number;
  wallSeconds: number;
  simulatorCpuSeconds: number | null;
  /** The simulator's CPU per row (µs): the figure to compare. */
  simulatorCpuUsPerRow: number | null;
}

async function phase(dir?: string): Promise<Record<string, Step>> {
  const prof = values['cpu-prof']
    ? ['--cpu-prof', '--cpu-prof-dir', resolve(values['cpu-prof'], dir ? 'baseline' : 'ours')]
    : [];
  const sim = await stack.startSim(['--seed', '42', '--rows', String(ROWS)], undefined, 4, prof, dir && resolve(dir));
  const pool = await simAdminPool(sim, { poolMax: 2, requestTimeout: 0, packetSize: SOURCE_PACKET_SIZE });
  const conn = new SourceConnection(pool, { maxConcurrentQueries: 2, maxRowsPerSecond: Number.MAX_SAFE_INTEGER });
  const steps: Record<string, Step> = {};
  try {
    await sim.admin.request().batch(`ALTER DATABASE Claims SET ALLOW_SNAPSHOT_ISOLATION ON;
      EXEC sys.sp_cdc_enable_db;
      EXEC sys.sp_cdc_enable_table @source_schema = N'dbo', @source_name = N'ClaimLines', @role_name = NULL;
      EXEC sys.sp_cdc_stop_job @job_type = N'capture';
      EXEC sys.sp_cdc_scan @maxtrans = 500, @maxscans = 10, @continuous = 0;`);
    const d = await discoverTable(conn, 'dbo', 'ClaimLines');
    await rawStream(sim.admin, 'SELECT TOP 20000 * FROM dbo.ClaimLines'); // warm-up (JIT, connection)
    const busy = new BusyMeter(sim.child.pid);
    const step = async (name: string, fn: () => Promise<number>, needed = false) => {
      if (STEPS && !STEPS.has(name) && !needed) return 0;
      busy.lap();
      let rows = 0;
      for (let i = 0; i < REPEAT; i++) rows += await fn();
      const b = busy.lap();
      const s: Step = {
        rows,
        wallSeconds: b.wallSeconds,
        simulatorCpuSeconds: b.cpuSeconds,
        simulatorCpuUsPerRow: b.cpuSeconds === null || rows === 0 ? null : +((b.cpuSeconds * 1e6) / rows).toFixed(2),
      };
      steps[name] = s;
      say(
        `  ${name.padEnd(28)} ${String(rows).padStart(8)} rows  ${s.wallSeconds.toFixed(2).padStart(7)} s  sim CPU ${s.simulatorCpuSeconds?.toFixed(2) ?? 'n/a'} s = ${s.simulatorCpuUsPerRow ?? 'n/a'} µs/row`,
      );
      return rows;
    };
    await step('rawSelectStar', () => rawStream(sim.admin, 'SELECT * FROM dbo.ClaimLines'));
    // The plan's boundary queries, as src/capture/chunk-plan.ts sends them; counted per row of the table.
    const boundaries: KeyValues[] = [];
    await step(
      'chunkBoundaries',
      async () => {
        boundaries.length = 0;
        let after: KeyValues | undefined;
        for (;;) {
          const b = await nextChunkBoundary(conn, d, after, CHUNK_ROWS);
          if (!b) break;
          boundaries.push(b);
          after = b;
        }
        if (after) await nextChunkBoundary(conn, d, after, 1);
        return ROWS;
      },
      STEPS?.has('chunkReads'),
    );
    await step('chunkReads', async () => {
      let n = 0;
      const ends: (KeyValues | undefined)[] = [...boundaries, undefined];
      let after: KeyValues | undefined;
      for (const upTo of ends) {
        for await (const b of readChunk(conn, d, {
          ...(after ? { after } : {}),
          ...(upTo ? { upTo } : {}),
          limit: ROWS,
          positioner: cdcPositioner,
          snapshot: true,
        }))
          n += b.rows.length;
        after = upTo;
      }
      return n;
    });
    await step('countBig', async () => {
      const r = await sim.admin.request().query<{ n: number }>('SELECT COUNT_BIG(*) AS n FROM dbo.ClaimLines');
      return Number(r.recordset[0]?.n ?? 0);
    });
    const st = new CdcStrategy(conn, d);
    const start = (await st.planWindow(null)).to;
    await step(
      'burstUpdateAndCapture',
      async () => {
        await sim.admin.request().batch(`UPDATE TOP (${BURST}) dbo.ClaimLines SET notes = N'repriced in bench'`);
        await sim.admin.request().batch('EXEC sys.sp_cdc_scan @maxtrans = 500, @maxscans = 10, @continuous = 0');
        return BURST;
      },
      STEPS?.has('rawCdcFunction') || STEPS?.has('cdcWindow'),
    );
    await step('rawCdcFunction', () =>
      rawStream(
        sim.admin,
        `DECLARE @f binary(10) = sys.fn_cdc_increment_lsn(0x${start.slice(0, 20)}), @t binary(10) = sys.fn_cdc_get_max_lsn();
         SELECT * FROM cdc.fn_cdc_get_all_changes_dbo_ClaimLines(@f, @t, N'all')`,
      ),
    );
    await step('cdcWindow', async () => {
      const w = await st.planWindow(start);
      let n = 0;
      for await (const b of st.readWindow(w)) n += b.rows.length;
      return n;
    });
    return steps;
  } finally {
    await conn.close().catch(() => undefined);
    await sim.admin.close().catch(() => undefined);
    await stopChild(sim.child);
  }
}

const baseline = values['baseline-sim'];
say(`bench:sim:reads — ${ROWS} rows, chunks of ${CHUNK_ROWS}, burst ${BURST}, each step ×${REPEAT}`);
let before: Record<string, Step> | undefined;
if (baseline) {
  say(`baseline simulator (${baseline}):`);
  before = await phase(baseline);
}
say("this checkout's simulator:");
const ours = await phase();
if (before) {
  say('simulator CPU per row, µs: baseline → this checkout (after ÷ before)');
  for (const [name, s] of Object.entries(ours)) {
    const b = before[name];
    const x = b?.simulatorCpuUsPerRow;
    const y = s.simulatorCpuUsPerRow;
    say(
      `  ${name.padEnd(28)} ${String(x ?? 'n/a').padStart(8)} → ${String(y ?? 'n/a').padStart(8)}  (${x && y ? (y / x).toFixed(2) : 'n/a'})`,
    );
  }
}
const result = {
  benchmark: 'sim-reads',
  at,
  machine: { cpus: cpus().length, node: process.version },
  rows: ROWS,
  chunkRows: CHUNK_ROWS,
  burst: BURST,
  repeat: REPEAT,
  baselineSimulator: baseline ?? null,
  baseline: before ?? null,
  ours,
};
const out = values.out ?? join('bench', 'results', `sim-reads-${at.replace(/\D/g, '').slice(0, 12)}.json`);
await mkdir(dirname(out), { recursive: true });
const { format } = await import('prettier');
await writeFile(out, await format(JSON.stringify(result, null, 2), { parser: 'json' }));
say(`results: ${out}`);
process.exit(0);
