/**
 * `npm run bench:main-row-path [-- --rows 200000 --passes 3]`: the worker main thread's own
 * share of an initial load, in one process, without the network or the machine's noise — from the rows as the
 * driver delivers them to the batches posted to the Parquet writer thread: chunk read's decoding
 * (source/chunks.ts, type-mapping.ts), the capture's events (capture/stage-stream.ts readEvents, the PHI
 * projection), the segment's fill (capture/segment-source.ts), the stage's checks and row (lake/stage-window.ts)
 * and the threaded writer's batches and posts (lake/parquet-writer-thread.ts).
 *
 * The rows: `--rows` rows of the simulator's dbo.ClaimLines (sim/seed.ts, 25 columns; seed 42), read once
 * through `mssql` (arrayRowMode, the worker's varchar decoder installed) from an in-process simulator, and kept —
 * so every value is what tedious gives (bigint as text, Dates with `nanosecondsDelta`, Buffer views). Each pass
 * feeds them in 256-row driver batches through the real modules; segments are encoded by the real writer thread
 * and checked (the part files' own checks), outside the measured span.
 *
 * Measured per pass, per row: the main thread's CPU (Linux /proc/thread-self/stat: user + system, 10 ms ticks)
 * while the segments fill, and the whole process's (process.cpuUsage: the writer thread and V8's helpers too)
 * over the same span. Figures, not assertions; the best pass of `--passes` is printed last.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startSimulator } from '../sim/index.js';
import { SourceConnection } from '../src/source/connection.js';
import { discoverTable, tableReaders, type TableDiscovery } from '../src/source/discovery.js';
import { readChunk } from '../src/source/chunks.js';
import { cdcPositioner } from '../src/source/strategies/cdc.js';
import { lakeColumns } from '../src/source/strategies/common.js';
import { installFastVarcharDecode } from '../src/source/varchar-decode.js';
import { STAGED_READ_BATCHES, type RowBatch } from '../src/source/row-batches.js';
import { readEvents } from '../src/capture/stage-stream.js';
import { SegmentSource } from '../src/capture/segment-source.js';
import { startingProgress } from '../src/capture/stage-progress.js';
import { noProgress } from '../src/capture/progress.js';
import { phiPlan } from '../src/capture/phi-plan.js';
import type { TableContext } from '../src/capture/table-context.js';
import type { CaptureDeps } from '../src/capture/deps.js';
import type { SchemaDoc } from '../src/lake/schema-registry.js';
import type { TableConfig } from '../src/config/types.js';
import { closeWriterThreads } from '../src/lake/parquet-writer-thread.js';
import { simAdminPool } from './sim-pool.js';

const { values: args } = parseArgs({
  options: {
    rows: { type: 'string', default: '200000' },
    passes: { type: 'string', default: '3' },
  },
});
const ROWS = Number(args.rows);
const PASSES = Number(args.passes);

/** CPU seconds (user + system) of the calling thread (Linux); NaN elsewhere. */
function threadCpuSeconds(): number {
  try {
    const stat = readFileSync('/proc/thread-self/stat', 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return NaN;
  }
}

/** The simulator's ClaimLines rows as tedious delivers them, and the table's discovery. */
async function captureRows(): Promise<{ d: TableDiscovery; rows: unknown[][]; lsn: Buffer }> {
  installFastVarcharDecode();
  const sim = await startSimulator({ seed: 42, seedRows: ROWS });
  try {
    const pool = await simAdminPool(sim);
    const conn = new SourceConnection(pool, { maxConcurrentQueries: 2, maxRowsPerSecond: 1e9 });
    try {
      const d = await discoverTable(conn, 'dbo', 'ClaimLines');
      const readers = tableReaders(d);
      const rows: unknown[][] = [];
      for await (const b of conn.stream(
        'bench.capture',
        `SELECT ${readers.map((r) => r.selectSql()).join(', ')} FROM dbo.ClaimLines ORDER BY claim_line_id`,
        [],
        { batchRows: 5000 },
      ))
        rows.push(...b.rows);
      return { d, rows, lsn: Buffer.from('0000002a000001000003', 'hex') };
    } finally {
      await conn.close();
    }
  } finally {
    await sim.stop();
  }
}

/** A connection whose chunk read streams the captured rows in the staged reads' batches. */
function replayConnection(rows: readonly unknown[][], lsn: Buffer): SourceConnection {
  const columns = [{ name: '', index: 0 }];
  return {
    query: () => Promise.resolve([{ lsn }]),
    // A plain generator: `for await` takes it as the driver's stream.
    *stream(): Generator<RowBatch> {
      const n = STAGED_READ_BATCHES.batchRows;
      for (let at = 0; at < rows.length; at += n) yield { columns, rows: rows.slice(at, at + n) };
    },
  } as unknown as SourceConnection;
}

async function pass(d: TableDiscovery, rows: readonly unknown[][], lsn: Buffer) {
  const readers = tableReaders(d);
  const columns = lakeColumns(d, readers);
  const schema = {
    format: 1,
    table: 'dbo.ClaimLines',
    version: 1,
    columns,
    keyColumns: d.key,
    previousVersion: null,
    changes: [],
    createdAt: new Date(0).toISOString(),
  } as unknown as SchemaDoc;
  const config = { name: 'dbo.ClaimLines', phi: [] } as unknown as TableConfig;
  const phi = phiPlan('dbo.ClaimLines', config, d.key, undefined);
  const scratchDir = await mkdtemp(join(tmpdir(), 'tidemark-main-row-path-'));
  const ctx = {
    ref: { id: 'dbo.ClaimLines' },
    config,
    lake: { layout: { id: 'bench' } },
    projector: (c: never, s: SchemaDoc) => phi.projector(c, s),
  } as unknown as TableContext;
  const deps = { scratchDir, config: { sink: {} } } as unknown as CaptureDeps;
  const window = { seq: 1, kind: 'snapshot', from: '', to: '' } as never;
  const progress = startingProgress(noProgress, 1, 1);
  const conn = replayConnection(rows, lsn);
  const batches = readChunk(conn, d, { limit: ROWS, positioner: cdcPositioner, snapshot: false });
  const read = readEvents(ctx, schema, noProgress, progress, {
    window,
    workflowAttempt: 1,
    batches,
    sourceRowsRead: () => undefined,
  });
  const segments = new SegmentSource(deps, ctx, noProgress, { window, schema, progress, read });
  let mainCpu = 0;
  let processCpu = 0;
  let rowsFilled = 0;
  try {
    for (;;) {
      const t0 = threadCpuSeconds();
      const c0 = process.cpuUsage();
      const f = await segments.next();
      const c1 = process.cpuUsage(c0);
      mainCpu += threadCpuSeconds() - t0;
      processCpu += (c1.user + c1.system) / 1e6;
      if (!f) break;
      rowsFilled += f.tally.count;
      await f.stage.finish();
      await f.stage.discard();
    }
  } finally {
    await rm(scratchDir, { recursive: true, force: true });
  }
  if (rowsFilled !== ROWS) throw new Error(`filled ${rowsFilled} rows, expected ${ROWS}`);
  return { mainUs: (mainCpu * 1e6) / ROWS, processUs: (processCpu * 1e6) / ROWS };
}

const { d, rows, lsn } = await captureRows();
console.log(`main-row-path: ${rows.length} ClaimLines rows captured from the simulator; ${ROWS} rows per pass`);
const results: { mainUs: number; processUs: number }[] = [];
for (let p = 1; p <= PASSES; p++) {
  const from = performance.now() / 1000;
  const r = await pass(d, rows, lsn);
  const to = performance.now() / 1000;
  results.push(r);
  console.log(
    `pass ${p}: main thread ${r.mainUs.toFixed(2)} µs/row, process (all threads) ${r.processUs.toFixed(2)} µs/row` +
      ` (${from.toFixed(1)}–${to.toFixed(1)} s of the process: --from/--to of bench/cpu-profile-summary.ts)`,
  );
}
const best = results.reduce((a, b) => (b.mainUs < a.mainUs ? b : a));
console.log(`best: main thread ${best.mainUs.toFixed(2)} µs/row, process ${best.processUs.toFixed(2)} µs/row`);
await closeWriterThreads();
