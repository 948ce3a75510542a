/**
 * Which Parquet writer? Writes N synthetic claim lines (default 1M) to a local ZSTD Parquet file with each
 * candidate, each in a fresh process, and prints rows/s, file size and peak RSS. Run:
 *   node --import tsx bench/parquet-writers.ts [rows] [runs]
 * Candidates: the lake's DuckDB writer (src/lake/parquet-writer.ts), and hyparquet-writer 0.17 with a ZSTD codec
 * (@bokuweb/zstd-wasm). parquetjs-lite (no DECIMAL, int64 > 2^53 corrupted) is excluded as unfit; see
 * docs/raw-layer.md. "generate" is the cost of making the rows alone, included in every writer's time.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLAIM_LINE_COLUMNS, claimLineRow } from './claim-lines.js';
import { ParquetWriter } from '../src/lake/parquet-writer.js';
import { dateToDays, decimalToUnscaled, uuidText } from '../src/lake/lake-types.js';
import { type LakeColumn, type LakeValue } from '../src/domain/values.js';

const WRITERS = ['generate', 'duckdb', 'hyparquet'] as const;
type WriterName = (typeof WRITERS)[number];

interface Result {
  writer: WriterName;
  rows: number;
  seconds: number;
  bytes: number;
  peakRssMb: number;
}

let peakRss = 0;
const sampleRss = () => {
  peakRss = Math.max(peakRss, process.memoryUsage.rss());
};

async function runDuckdb(rows: number, dir: string): Promise<void> {
  const w = await ParquetWriter.create({ columns: CLAIM_LINE_COLUMNS, dir, partRows: 500_000 });
  for (let i = 0; i < rows; i++) {
    const flushing = w.append('p', claimLineRow(i));
    if (flushing) await flushing;
    if ((i & 0xffff) === 0) sampleRss();
  }
  await w.finish();
}

/** hyparquet-writer schema element for a lake column (only the kinds the claim-line table uses). */
function hyparquetSchema(c: LakeColumn): Record<string, unknown> {
  const repetition_type = c.nullable ? 'OPTIONAL' : 'REQUIRED';
  const t = c.type;
  switch (t.kind) {
    case 'int64':
      return { name: c.name, type: 'INT64', repetition_type };
    case 'int16':
      return { name: c.name, type: 'INT32', converted_type: 'INT_16', repetition_type };
    case 'uint8':
      return { name: c.name, type: 'INT32', converted_type: 'UINT_8', repetition_type };
    case 'string':
      return { name: c.name, type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type };
    case 'decimal':
      return {
        name: c.name,
        type: t.precision <= 18 ? 'INT64' : 'FIXED_LEN_BYTE_ARRAY',
        converted_type: 'DECIMAL',
        precision: t.precision,
        scale: t.scale,
        repetition_type,
      };
    case 'date':
      return { name: c.name, type: 'INT32', converted_type: 'DATE', repetition_type };
    case 'timestamp':
      return {
        name: c.name,
        type: 'INT64',
        logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: false, unit: 'NANOS' },
        repetition_type,
      };
    case 'boolean':
      return { name: c.name, type: 'BOOLEAN', repetition_type };
    case 'uuid':
      return {
        name: c.name,
        type: 'FIXED_LEN_BYTE_ARRAY',
        type_length: 16,
        logical_type: { type: 'UUID' },
        repetition_type,
      };
    case 'binary':
      return { name: c.name, type: 'BYTE_ARRAY', repetition_type };
    default:
      throw new Error(`bench: ${t.kind} not mapped`);
  }
}

function hyparquetValue(c: LakeColumn, v: LakeValue): unknown {
  if (v === null) return null;
  const t = c.type;
  if (t.kind === 'decimal') return decimalToUnscaled(c.name, v as string, t.precision, t.scale);
  if (t.kind === 'date') return dateToDays(c.name, v as string | number);
  if (t.kind === 'uuid') {
    return Buffer.from(uuidText(c.name, v as string).replace(/-/g, ''), 'hex');
  }
  return v;
}

async function runHyparquet(rows: number, dir: string): Promise<void> {
  const { ParquetWriter: HyWriter, fileWriter } = await import('hyparquet-writer');
  const zstd = await import('@bokuweb/zstd-wasm');
  await zstd.init();
  const schema = [
    { name: 'root', num_children: CLAIM_LINE_COLUMNS.length },
    ...CLAIM_LINE_COLUMNS.map(hyparquetSchema),
  ];
  const writer = new HyWriter({
    writer: fileWriter(join(dir, 'hy.parquet')),
    schema: schema as never,
    codec: 'ZSTD',
    compressors: { ZSTD: (input: Uint8Array) => zstd.compress(input, 3) },
  });
  const batch = 100_000;
  for (let start = 0; start < rows; start += batch) {
    const n = Math.min(batch, rows - start);
    const cols: unknown[][] = CLAIM_LINE_COLUMNS.map(() => new Array<unknown>(n));
    for (let r = 0; r < n; r++) {
      const row = claimLineRow(start + r);
      for (let c = 0; c < CLAIM_LINE_COLUMNS.length; c++)
        (cols[c] as unknown[])[r] = hyparquetValue(CLAIM_LINE_COLUMNS[c] as LakeColumn, row[c] ?? null);
    }
    await writer.write({
      columnData: CLAIM_LINE_COLUMNS.map((c, i) => ({ name: c.name, data: cols[i] as never, nullable: c.nullable })),
      rowGroupSize: batch,
    });
    sampleRss();
  }
  await writer.finish();
}

async function child(writer: WriterName, rows: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), `bench-${writer}-`));
  const t0 = process.hrtime.bigint();
  if (writer === 'generate') {
    for (let i = 0; i < rows; i++) claimLineRow(i);
  } else if (writer === 'duckdb') await runDuckdb(rows, dir);
  else await runHyparquet(rows, dir);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  sampleRss();
  const bytes = readdirSync(dir).reduce((n, f) => n + statSync(join(dir, f)).size, 0);
  rmSync(dir, { recursive: true, force: true });
  const result: Result = { writer, rows, seconds, bytes, peakRssMb: Math.round(peakRss / 1048576) };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

function parent(rows: number, runs: number): void {
  console.log(`Parquet writers: ${rows.toLocaleString('en-US')} claim lines (27 columns), ZSTD, median of ${runs}`);
  const table: Record<string, string | number>[] = [];
  for (const writer of WRITERS) {
    const results: Result[] = [];
    for (let r = 0; r < runs; r++) {
      const out = spawnSync(
        process.execPath,
        ['--import', 'tsx', import.meta.filename, '--child', writer, String(rows)],
        {
          encoding: 'utf8',
          maxBuffer: 1 << 20,
        },
      );
      if (out.status !== 0) throw new Error(`${writer} failed: ${out.stderr}`);
      results.push(JSON.parse(out.stdout.trim().split('\n').pop() ?? '{}') as Result);
    }
    const secs = median(results.map((r) => r.seconds));
    table.push({
      writer,
      'rows/s': Math.round(rows / secs),
      seconds: Number(secs.toFixed(2)),
      MB: Number((median(results.map((r) => r.bytes)) / 1e6).toFixed(1)),
      'peak RSS MB': median(results.map((r) => r.peakRssMb)),
    });
  }
  console.table(table);
}

const args = process.argv.slice(2);
if (args[0] === '--child') await child(args[1] as WriterName, Number(args[2]));
else parent(Number(args[0] ?? 1_000_000), Number(args[1] ?? 3));
