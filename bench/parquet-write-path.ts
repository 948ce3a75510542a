/**
 * The Parquet writer thread's CPU per row (docs/performance.md, "The Parquet writer thread's CPU per row"):
 * generated claim-line rows — the event columns of every data file, the 27 claim-line columns of
 * bench/claim-lines.ts, a datetimeoffset(7) and a 200-character nvarchar that is NULL on most rows — packed in
 * batches exactly as the writer thread receives them (parquet-writer-thread.ts, `packColumn`), then written to
 * one ZSTD Parquet part by each candidate in turn, in this process, on its main thread. Per candidate it prints
 * the CPU per row of the main thread (what the writer thread does: unpacking, checks, vector writes, appends) and
 * of the process's other threads (DuckDB's `COPY … zstd`, V8's GC and compiler helpers), from /proc, and whether
 * the part file is byte for byte the first candidate's. Generating and packing the rows is not measured.
 *
 *   npm run bench:parquet:write-path -- [--rows 500000] [--baseline-src DIR] [--tsv]
 *
 * --baseline-src: a directory holding an older tree's `src/` (`git archive <commit> src | tar -x -C DIR` and
 * `ln -s "$PWD/node_modules" DIR/`, so that its imports resolve),
 * whose src/lake/parquet-writer.ts is measured as "before" (its `append` per row, after unpacking each batch
 * into strings, as the thread entry did). --tsv: also measure the candidate "DuckDB parses the batch": the rows
 * as a tab-separated file read by `read_csv` with casts and copied to Parquet, counting only DuckDB's side (the
 * file is written beforehand), as a lower bound of that candidate's cost.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { CLAIM_LINE_COLUMNS, claimLineRow } from './claim-lines.js';
import { ParquetWriter } from '../src/lake/parquet-writer.js';
import { packColumn } from '../src/lake/parquet-writer-thread.js';
import type { PackedColumn } from '../src/lake/parquet-writer-thread-protocol.js';
import { EVENT_LAKE_COLUMNS } from '../src/lake/lake-types.js';
import type { LakeColumn, LakeValue } from '../src/domain/values.js';

const args = process.argv.slice(2);
const arg = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const ROWS = Number(arg('--rows') ?? 500_000);
const BASELINE = arg('--baseline-src');
const TSV = args.includes('--tsv');
const BATCH_ROWS = 2048;

const COLUMNS: LakeColumn[] = [
  ...EVENT_LAKE_COLUMNS,
  ...CLAIM_LINE_COLUMNS,
  { name: 'received_at', type: { kind: 'timestamptz', fractionalDigits: 7 }, nullable: true },
  { name: 'adjustment_reason', type: { kind: 'string', maxLength: 200 }, nullable: true },
];

const EXTRACTED_AT = 1_765_000_000_123_456_000n;

function row(i: number): LakeValue[] {
  const pos = `${(1_000_000_000 + i).toString(16).padStart(20, '0')}${'0'.repeat(12)}${(i * 7919).toString(16).padStart(8, '0')}`;
  const base = claimLineRow(i);
  return [
    'r',
    pos,
    null,
    42n,
    EXTRACTED_AT,
    ...base,
    { epochNanos: 1_763_000_000_000_000_000n + BigInt(i) * 1_000_000_300n, offsetMinutes: -300 },
    i % 5 === 0 ? `adjusted after review — ${'contract rate applied; '.repeat(1 + (i % 4))}` : null,
  ];
}

/** The rows as batches the writer thread receives (2,048 rows, one packed column each). */
function batches(): PackedColumn[][] {
  const out: PackedColumn[][] = [];
  for (let b = 0; b < ROWS; b += BATCH_ROWS) {
    const n = Math.min(BATCH_ROWS, ROWS - b);
    const cols: LakeValue[][] = COLUMNS.map(() => []);
    for (let k = 0; k < n; k++) {
      const r = row(b + k);
      for (let i = 0; i < r.length; i++) cols[i]!.push(r[i]!);
    }
    out.push(cols.map(packColumn));
  }
  return out;
}

/** The thread entry's unpacking before this branch: a string per text value, then a row per append. */
function unpack(c: PackedColumn): LakeValue[] {
  if ('values' in c) return c.values;
  if ('int64' in c || 'float64' in c) {
    const items: ArrayLike<bigint | number> = 'int64' in c ? c.int64 : c.float64;
    return Array.from(items, (v, k) => (c.nulls?.[k] ? null : v));
  }
  const out = new Array<LakeValue>(c.lengths.length);
  for (let k = 0, at = 0; k < c.lengths.length; k++) {
    const n = c.lengths[k]!;
    if (n < 0) out[k] = null;
    else {
      out[k] = 'text' in c ? c.text.slice(at, at + n) : c.bytes.slice(at, at + n);
      at += n;
    }
  }
  return out;
}

interface RowWriter {
  append(partition: string, row: readonly LakeValue[]): Promise<void> | undefined;
  finish(): Promise<{ localPath: string }[]>;
}

/** CPU seconds of this process's main thread and of all its other threads (/proc, clock ticks of 10 ms). */
function threadCpu(): { main: number; other: number } {
  let main = 0;
  let other = 0;
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const s = (Number(f[11]) + Number(f[12])) / 100;
      if (Number(tid) === process.pid) main += s;
      else other += s;
    } catch {
      // a thread that ended meanwhile
    }
  }
  return { main, other };
}

/** CPU of threads that ended between two readings is lost by threadCpu; the process total keeps it. */
function processCpu(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

interface Result {
  name: string;
  mainUs: number;
  otherUs: number;
  allUs: number;
  wallS: number;
  file?: Buffer;
}

async function measure(name: string, run: (dir: string) => Promise<string | undefined>): Promise<Result> {
  const dir = mkdtempSync(join(tmpdir(), 'tm-pwp-'));
  try {
    (globalThis as { gc?: () => void }).gc?.();
    const t0 = threadCpu();
    const p0 = processCpu();
    const w0 = performance.now();
    const path = await run(dir);
    const wallS = (performance.now() - w0) / 1000;
    const p1 = processCpu();
    const t1 = threadCpu();
    const perRow = (s: number) => +((s * 1e6) / ROWS).toFixed(2);
    const main = t1.main - t0.main;
    const all = p1 - p0;
    return {
      name,
      mainUs: perRow(main),
      otherUs: perRow(all - main),
      allUs: perRow(all),
      wallS: +wallS.toFixed(2),
      ...(path ? { file: readFileSync(path) } : {}),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function rowPath(writer: RowWriter, data: PackedColumn[][]): Promise<string> {
  const r = new Array<LakeValue>(COLUMNS.length);
  for (const batch of data) {
    const cols = batch.map(unpack);
    const n = cols[0]!.length;
    for (let k = 0; k < n; k++) {
      for (let i = 0; i < r.length; i++) r[i] = cols[i]![k] ?? null;
      const f = writer.append('2026-12-07', r);
      if (f) await f;
    }
  }
  const parts = await writer.finish();
  if (parts.length !== 1) throw new Error(`expected one part, got ${parts.length}`);
  return parts[0]!.localPath;
}

async function packedPath(writer: ParquetWriter, data: PackedColumn[][]): Promise<string> {
  for (let b = 0; b < data.length; b++) {
    const batch = data[b]!;
    const n = Math.min(BATCH_ROWS, ROWS - b * BATCH_ROWS);
    await writer.appendPacked('2026-12-07', batch, new Int32Array(batch.length), 0, n);
  }
  const parts = await writer.finish();
  if (parts.length !== 1) throw new Error(`expected one part, got ${parts.length}`);
  return parts[0]!.localPath;
}

/**
 * Lower bound of "DuckDB parses the batch": DuckDB's read_csv, casts and `COPY … zstd` of a TSV written before
 * (its text built outside the measurement; simplified: timestamps to the millisecond, no companions).
 */
async function tsvParse(dir: string): Promise<void> {
  const path = join(dir, 'rows.tsv');
  writeFileSync(path, tsvText);
  const db = await DuckDBInstance.create(':memory:', { threads: '2', memory_limit: '512MB' });
  const conn = await db.connect();
  try {
    const casts = TSV_COLUMNS.map(([n, t]) => `CAST("${n}" AS ${t}) AS "${n}"`).join(', ');
    const columns = TSV_COLUMNS.map(([n]) => `'${n}': 'VARCHAR'`).join(', ');
    await conn.run(
      `COPY (SELECT ${casts} FROM read_csv('${path}', delim='\t', quote='', escape='', header=false, nullstr='\\N', columns={${columns}})) TO '${join(dir, 'rows.parquet')}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880)`,
    );
  } finally {
    conn.closeSync();
    db.closeSync();
  }
}

/** The TSV candidate's columns: the text form of every value, cast by DuckDB (a simplified schema). */
const TSV_COLUMNS: [string, string][] = [];
let tsvText = '';

function buildTsv(): void {
  for (const c of COLUMNS) {
    const t = c.type;
    const sql =
      t.kind === 'decimal'
        ? `DECIMAL(${t.precision},${t.scale})`
        : t.kind === 'int64'
          ? 'BIGINT'
          : t.kind === 'int16'
            ? 'SMALLINT'
            : t.kind === 'uint8'
              ? 'UTINYINT'
              : t.kind === 'boolean'
                ? 'BOOLEAN'
                : t.kind === 'date'
                  ? 'DATE'
                  : t.kind === 'timestamp' || t.kind === 'timestamptz'
                    ? 'TIMESTAMP'
                    : t.kind === 'binary'
                      ? 'BLOB'
                      : 'VARCHAR';
    TSV_COLUMNS.push([c.name, sql]);
  }
  const lines: string[] = [];
  for (let i = 0; i < ROWS; i++) {
    const r = row(i);
    lines.push(
      r
        .map((v, k) => {
          if (v === null) return '\\N';
          const t = COLUMNS[k]!.type;
          if (t.kind === 'date') return new Date(Number(v) * 86_400_000).toISOString().slice(0, 10);
          if (t.kind === 'timestamp') return new Date(Number((v as bigint) / 1_000_000n)).toISOString();
          if (t.kind === 'timestamptz')
            return new Date(Number((v as { epochNanos: bigint }).epochNanos / 1_000_000n)).toISOString();
          if (v instanceof Uint8Array) return `\\x${Buffer.from(v).toString('hex').match(/../g)!.join('\\x')}`;
          return typeof v === 'object' ? '' : String(v);
        })
        .join('\t'),
    );
  }
  tsvText = `${lines.join('\n')}\n`;
}

async function main(): Promise<void> {
  const data = batches();
  const results: Result[] = [];
  const opts = (dir: string) => ({ columns: COLUMNS, dir, partRows: 1_000_000 });
  if (BASELINE) {
    const mod = (await import(resolve(BASELINE, 'src/lake/parquet-writer.ts'))) as {
      ParquetWriter: { create(o: unknown): Promise<RowWriter> };
    };
    results.push(
      await measure('before: unpack + append per row (node-api setItem)', async (dir) =>
        rowPath(await mod.ParquetWriter.create(opts(dir)), data),
      ),
    );
  }
  results.push(
    await measure('unpack + append per row (raw vectors)', async (dir) =>
      rowPath(await ParquetWriter.create(opts(dir)), data),
    ),
  );
  results.push(
    await measure('packed columns, raw vectors (adopted)', async (dir) =>
      packedPath(await ParquetWriter.create(opts(dir)), data),
    ),
  );
  if (TSV) {
    buildTsv();
    results.push(
      await measure('DuckDB parses a TSV (DuckDB side only)', async (dir) => {
        await tsvParse(dir);
        return undefined;
      }),
    );
  }
  const first = results[0]!.file;
  console.log(`${ROWS} rows, ${COLUMNS.length} columns; CPU µs per row (this process, one run each)`);
  console.log(
    "| candidate | main thread (the writer thread's work) | other threads (DuckDB COPY, V8 helpers) | all | wall s | same file as the first |",
  );
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (const r of results)
    console.log(
      `| ${r.name} | ${r.mainUs} | ${r.otherUs} | ${r.allUs} | ${r.wallS} | ${r.file && first ? (r.file.equals(first) ? 'yes' : 'NO') : '—'} |`,
    );
}

await main();
