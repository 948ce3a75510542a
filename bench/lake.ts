/**
 * `npm run bench:lake [rows] [bigRows]`: the raw layer's write path on synthetic 27-column claim lines.
 *
 * Each measurement runs in a fresh process:
 * - encode: rows → ZSTD Parquet parts on local disk (the lake's DuckDB writer), no storage;
 * - azurite: the full stage step (encode + upload with If-None-Match and MD5) to an in-memory Azurite;
 * - azurite at bigRows (default 5M): same, for peak RSS, which must stay flat (bounded part files).
 * Prints rows/s, the azurite/encode ratio and peak RSS. No thresholds: figures are for people.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLAIM_LINE_COLUMNS, claimLineRow } from './claim-lines.js';
import { ParquetWriter } from '../src/lake/parquet-writer.js';
import { stageWindow, type ChangeEvent } from '../src/lake/stage-window.js';
import { TableLayout } from '../src/lake/layout.js';
import { registerSchema } from '../src/lake/schema-registry.js';
import { AzureBlobStore } from '../src/lake/blob-store.js';
import { azuriteForTests } from '../test/support/stack.js';

let peak = 0;
const sample = () => {
  peak = Math.max(peak, process.memoryUsage.rss());
};

function* events(rows: number): Generator<ChangeEvent> {
  const base = 1_764_000_000_000_000_000n;
  for (let i = 0; i < rows; i++) {
    if ((i & 0xffff) === 0) sample();
    yield { op: 'c', position: i.toString(16).padStart(16, '0'), commitTs: base, values: claimLineRow(i) };
  }
}

async function child(mode: string, rows: number): Promise<void> {
  const timer = setInterval(sample, 100);
  const t0 = process.hrtime.bigint();
  if (mode === 'encode') {
    const dir = mkdtempSync(join(tmpdir(), 'bench-encode-'));
    const w = await ParquetWriter.create({ columns: CLAIM_LINE_COLUMNS, dir });
    for (let i = 0; i < rows; i++) {
      if ((i & 0xffff) === 0) sample();
      const flushing = w.append('2025-11-24', claimLineRow(i));
      if (flushing) await flushing;
    }
    await w.finish();
    rmSync(dir, { recursive: true, force: true });
  } else {
    const store = new AzureBlobStore({ connectionString: await azuriteForTests(), container: `bench-${Date.now()}` });
    await store.ensureContainer();
    const layout = new TableLayout('raw', { db: 'Claims', schema: 'dbo', table: 'ClaimLines' });
    const { doc } = await registerSchema(store, layout, { columns: CLAIM_LINE_COLUMNS, keyColumns: ['claim_line_id'] });
    const t1 = process.hrtime.bigint();
    await stageWindow({
      lake: { store, layout },
      window: { sequence: 1, from: '0', to: 'f' },
      attemptId: 'bench',
      schema: doc,
      events: events(rows),
      extractedAt: 1_764_000_000_000_000_000n,
    });
    const seconds = Number(process.hrtime.bigint() - t1) / 1e9;
    clearInterval(timer);
    sample();
    process.stdout.write(`${JSON.stringify({ mode, rows, seconds, peakRssMb: Math.round(peak / 1048576) })}\n`);
    return;
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  clearInterval(timer);
  sample();
  process.stdout.write(`${JSON.stringify({ mode, rows, seconds, peakRssMb: Math.round(peak / 1048576) })}\n`);
}

interface Result {
  mode: string;
  rows: number;
  seconds: number;
  peakRssMb: number;
}

async function parent(rows: number, bigRows: number): Promise<void> {
  const connectionString = await azuriteForTests();
  const run = (mode: string, n: number): Result => {
    const out = spawnSync(process.execPath, ['--import', 'tsx', import.meta.filename, '--child', mode, String(n)], {
      encoding: 'utf8',
      env: { ...process.env, TIDEMARK_TEST_AZURITE_CONNECTION_STRING: connectionString },
    });
    if (out.status !== 0) throw new Error(`${mode} ${n} failed: ${out.stderr}`);
    return JSON.parse(out.stdout.trim().split('\n').pop() ?? '{}') as Result;
  };
  console.log(
    `bench:lake — synthetic claim lines, ${CLAIM_LINE_COLUMNS.length} columns, ZSTD Parquet, Azurite in memory`,
  );
  const encode = run('encode', rows);
  const azurite = run('azurite', rows);
  const big = run('azurite', bigRows);
  const rate = (r: Result) => Math.round(r.rows / r.seconds);
  console.table(
    [encode, azurite, big].map((r) => ({
      step: r.mode === 'encode' ? 'encode only (local parts)' : 'stage to Azurite (encode + upload)',
      rows: r.rows,
      seconds: Number(r.seconds.toFixed(2)),
      'rows/s': rate(r),
      'peak RSS MB': r.peakRssMb,
    })),
  );
  console.log(`azurite / encode throughput ratio at ${rows} rows: ${(rate(azurite) / rate(encode)).toFixed(2)}`);
  console.log(`peak RSS ${azurite.peakRssMb} MB at ${rows} rows vs ${big.peakRssMb} MB at ${bigRows} rows`);
}

const args = process.argv.slice(2);
if (args[0] === '--child') await child(args[1] ?? 'encode', Number(args[2]));
else await parent(Number(args[0] ?? 1_000_000), Number(args[1] ?? 5_000_000));
process.exit(0);
