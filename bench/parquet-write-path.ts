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
 *   npm run bench:parquet:write-path -- --codecs [--rows 500000] [--rounds 3] [--files GLOB] [--candidates a,b]
 *
 * --baseline-src: a directory holding an older tree's `src/` (`git archive <commit> src | tar -x -C DIR` and
 * `ln -s "$PWD/node_modules" DIR/`, so that its imports resolve),
 * whose src/lake/parquet-writer.ts is measured as "before" (its `append` per row, after unpacking each batch
 * into strings, as the thread entry did). --tsv: also measure the candidate "DuckDB parses the batch": the rows
 * as a tab-separated file read by `read_csv` with casts and copied to Parquet, counting only DuckDB's side (the
 * file is written beforehand), as a lower bound of that candidate's cost.
 *
 * --codecs (docs/performance.md, "The Parquet encoder's codec and level"): the encode alone — the `COPY … TO
 * parquet` that ends every part — for each codec, level, DuckDB `threads` and writer option in
 * {@link CODEC_CANDIDATES}. Per data set, the rows are loaded once into an in-memory DuckDB table (as the writer
 * holds a part), then each candidate copies it to a file, the candidates alternating `--rounds` times; it prints
 * the median CPU µs per row of the COPY (process CPU, every thread: DuckDB's and the caller's), the file's bytes
 * per row, and whether the file reads back (DuckDB) to the same rows as the first candidate's. Data sets: the
 * claim-line rows above ("claim-lines"), the claims table as it lands with its PHI rule applied ("claims": the
 * event columns, MemberId HMAC-SHA256-hashed to 64 hex characters, PatientName dropped); or, with `--files`
 * instead, Parquet part files already landed (e.g. a bench:e2e run's ClaimLines parts, downloaded).
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createHmac } from 'node:crypto';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
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
const CODECS = args.includes('--codecs');
const ROUNDS = Number(arg('--rounds') ?? 3);
const FILES = arg('--files');
const ONLY = arg('--candidates')?.split(',');
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
function batches(columns: readonly LakeColumn[] = COLUMNS, make = row, rows = ROWS): PackedColumn[][] {
  const out: PackedColumn[][] = [];
  for (let b = 0; b < rows; b += BATCH_ROWS) {
    const n = Math.min(BATCH_ROWS, rows - b);
    const cols: LakeValue[][] = columns.map(() => []);
    for (let k = 0; k < n; k++) {
      const r = make(b + k);
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

/** The encode's candidates: DuckDB `COPY … (FORMAT parquet, ROW_GROUP_SIZE 122880, <options>)` on `threads`. */
const CODEC_CANDIDATES: { name: string; options: string; threads: number }[] = [
  { name: 'zstd (level 3, as on main), threads 2', options: 'COMPRESSION zstd', threads: 2 },
  { name: 'zstd 3, threads 1', options: 'COMPRESSION zstd, COMPRESSION_LEVEL 3', threads: 1 },
  { name: 'zstd 1, threads 2', options: 'COMPRESSION zstd, COMPRESSION_LEVEL 1', threads: 2 },
  { name: 'zstd 1, threads 1', options: 'COMPRESSION zstd, COMPRESSION_LEVEL 1', threads: 1 },
  { name: 'zstd 6, threads 1', options: 'COMPRESSION zstd, COMPRESSION_LEVEL 6', threads: 1 },
  { name: 'zstd 9, threads 1', options: 'COMPRESSION zstd, COMPRESSION_LEVEL 9', threads: 1 },
  { name: 'snappy, threads 1', options: 'COMPRESSION snappy', threads: 1 },
  { name: 'lz4_raw, threads 1', options: 'COMPRESSION lz4_raw', threads: 1 },
  { name: 'uncompressed, threads 1', options: 'COMPRESSION uncompressed', threads: 1 },
  { name: 'zstd 3, no bloom filters, threads 1', options: 'COMPRESSION zstd, WRITE_BLOOM_FILTER false', threads: 1 },
  { name: 'zstd 3, Parquet V2 pages, threads 1', options: 'COMPRESSION zstd, PARQUET_VERSION V2', threads: 1 },
  {
    name: 'zstd 3, row groups of 500K, threads 1',
    options: 'COMPRESSION zstd, ROW_GROUP_SIZE 500000',
    threads: 1,
  },
];

/** The claims table as it lands: event columns, MemberId hashed (64 hex), PatientName dropped (claims-schema.ts). */
const CLAIMS_COLUMNS: LakeColumn[] = [
  ...EVENT_LAKE_COLUMNS,
  { name: 'ClaimId', type: { kind: 'int64' }, nullable: false },
  { name: 'ClaimNumber', type: { kind: 'string', maxLength: 20 }, nullable: false },
  { name: 'MemberId', type: { kind: 'string' }, nullable: false },
  { name: 'PatientDateOfBirth', type: { kind: 'date' }, nullable: false },
  { name: 'ProviderId', type: { kind: 'int32' }, nullable: false },
  { name: 'ServiceDate', type: { kind: 'date' }, nullable: false },
  { name: 'SubmittedAt', type: { kind: 'timestamptz', fractionalDigits: 7 }, nullable: false },
  { name: 'ClaimStatus', type: { kind: 'string', maxLength: 12 }, nullable: false },
  { name: 'TotalBilled', type: { kind: 'decimal', precision: 19, scale: 4 }, nullable: false },
  { name: 'TotalPaid', type: { kind: 'decimal', precision: 19, scale: 4 }, nullable: false },
  { name: 'CreatedAt', type: { kind: 'timestamp', fractionalDigits: 7 }, nullable: false },
  { name: 'UpdatedAt', type: { kind: 'timestamp', fractionalDigits: 7 }, nullable: false },
];
const CLAIM_STATUSES = ['SUBMITTED', 'ADJUDICATED', 'PAID', 'DENIED'];

function claimsRow(i: number): LakeValue[] {
  const pos = `${(2_000_000_000 + i).toString(16).padStart(20, '0')}${'0'.repeat(20)}`;
  const member = `M${String(100_000 + ((i * 7919) % 250_000)).padStart(9, '0')}`;
  const billed = 5_000_000 + ((i * 104_729) % 200_000_000);
  const at = 1_763_000_000_000_000_000n + BigInt(i) * 1_700_000_300n;
  return [
    i % 7 === 0 ? 'u' : 'c',
    pos,
    ((at + 900_000_000_000n) / 1000n) * 1000n,
    42n,
    EXTRACTED_AT,
    BigInt(i + 1),
    `CLM-2026-${String(i).padStart(8, '0')}`,
    createHmac('sha256', 'bench-key').update(member).digest('hex'),
    -10_000 + ((i * 31) % 30_000),
    1_000 + ((i * 13) % 9_000),
    20_400 + ((i * 3) % 700),
    { epochNanos: at, offsetMinutes: -300 },
    CLAIM_STATUSES[i % CLAIM_STATUSES.length]!,
    `${Math.floor(billed / 10_000)}.${String(billed % 10_000).padStart(4, '0')}`,
    `${Math.floor((billed * 0.72) / 10_000)}.${String(Math.floor(billed * 0.72) % 10_000).padStart(4, '0')}`,
    at,
    at + 3_600_000_000_300n,
  ];
}

/** Writes `rows` rows of `columns` to one Parquet part with the lake's writer (packed batches), returns its path. */
async function writePart(
  dir: string,
  columns: LakeColumn[],
  make: (i: number) => LakeValue[],
  rows: number,
): Promise<string> {
  const writer = await ParquetWriter.create({ columns, dir, partRows: rows + 1 });
  for (const [b, batch] of batches(columns, make, rows).entries())
    await writer.appendPacked(
      'p',
      batch,
      new Int32Array(columns.length),
      0,
      Math.min(BATCH_ROWS, rows - b * BATCH_ROWS),
    );
  const parts = await writer.finish();
  return parts[0]!.localPath;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** The encode alone, per candidate, on one data set (the Parquet files `source`, loaded into memory first). */
async function codecs(label: string, source: string): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tm-pwp-codecs-'));
  const db = await DuckDBInstance.create(':memory:', { threads: '2', memory_limit: '2GB' });
  const conn = await db.connect();
  try {
    await conn.run(`CREATE TABLE t AS SELECT * FROM read_parquet(${sqlText(source)})`);
    const rows = Number((await conn.runAndReadAll('SELECT count(*) FROM t')).getRows()[0]![0]);
    const candidates = CODEC_CANDIDATES.filter((c) => !ONLY || ONLY.some((o) => c.name.startsWith(o)));
    const cpu = candidates.map(() => [] as number[]);
    const bytes: number[] = [];
    const same: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      for (let k = 0; k < candidates.length; k++) {
        const c = candidates[k]!;
        const file = join(dir, `c${k}.parquet`);
        await conn.run(`SET threads = ${c.threads}`);
        (globalThis as { gc?: () => void }).gc?.();
        const p0 = processCpu();
        const rowGroups = c.options.includes('ROW_GROUP_SIZE') ? '' : 'ROW_GROUP_SIZE 122880, ';
        await conn.run(`COPY t TO ${sqlText(file)} (FORMAT parquet, ${rowGroups}${c.options})`);
        cpu[k]!.push(processCpu() - p0);
        if (round === 0) {
          bytes[k] = readFileSync(file).length;
          same[k] = await sameRows(conn, file);
        }
      }
    }
    console.log(`\n${label}: ${rows} rows; the encode (COPY … TO parquet) alone, median of ${ROUNDS} rounds`);
    console.log(
      '| candidate | CPU µs per row (all threads) | vs the first | bytes per row | vs the first | same rows as the source |',
    );
    console.log('| --- | ---: | ---: | ---: | ---: | --- |');
    const cpu0 = median(cpu[0]!);
    for (let k = 0; k < candidates.length; k++) {
      const us = (median(cpu[k]!) * 1e6) / rows;
      console.log(
        `| ${candidates[k]!.name} | ${us.toFixed(2)} | ${(median(cpu[k]!) / cpu0).toFixed(2)} | ${(bytes[k]! / rows).toFixed(1)} | ${(bytes[k]! / bytes[0]!).toFixed(3)} | ${same[k]} |`,
      );
    }
  } finally {
    conn.closeSync();
    db.closeSync();
    rmSync(dir, { recursive: true, force: true });
  }
}

const sqlText = (text: string): string => `'${text.replace(/'/g, "''")}'`;

/** Whether a written file holds exactly the table's rows (as multisets), read back by DuckDB. */
async function sameRows(conn: DuckDBConnection, file: string): Promise<string> {
  const r = await conn.runAndReadAll(
    `SELECT (SELECT count(*) FROM (SELECT * FROM t EXCEPT ALL SELECT * FROM read_parquet(${sqlText(file)}))) +
            (SELECT count(*) FROM (SELECT * FROM read_parquet(${sqlText(file)}) EXCEPT ALL SELECT * FROM t))`,
  );
  return Number(r.getRows()[0]![0]) === 0 ? 'yes' : 'NO';
}

async function codecsMain(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tm-pwp-sets-'));
  try {
    console.log(`DuckDB threads per candidate as named; the machine's load average: ${loadavg().join(' ')}`);
    if (FILES) await codecs(`landed part files ${FILES}`, FILES);
    else {
      await codecs(
        `claim-lines (the event columns, 27 claim-line columns, a datetimeoffset(7), an nvarchar(200))`,
        await writePart(dir, COLUMNS, row, ROWS),
      );
      await codecs(
        'claims (event columns, MemberId hashed, PatientName dropped)',
        await writePart(dir, CLAIMS_COLUMNS, claimsRow, ROWS),
      );
    }
    console.log(`load average after: ${loadavg().join(' ')}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  if (CODECS) return codecsMain();
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
