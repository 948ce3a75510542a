import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { DuckDBInstance } from '@duckdb/node-api';
import { ParquetWriter } from '../../../src/lake/parquet-writer.js';
import { ThreadedParquetWriter } from '../../../src/lake/parquet-writer-thread.js';
import { LakeValueError } from '../../../src/lake/lake-types.js';
import type { LakeColumn, LakeValue } from '../../../src/domain/values.js';
import { tempDir } from '../../support/lake.js';

// Every kind the writer stores, with a 7-digit timestamp (its __100ns companion) and values as the driver and the
// reader deliver them (a Buffer that is a view of a larger buffer, as tedious's are).
const columns: LakeColumn[] = [
  { name: 'id', type: { kind: 'int64' }, nullable: false },
  { name: 'flag', type: { kind: 'boolean' }, nullable: true },
  { name: 'small', type: { kind: 'int16' }, nullable: true },
  { name: 'n', type: { kind: 'int32' }, nullable: true },
  { name: 'amount', type: { kind: 'decimal', precision: 18, scale: 2 }, nullable: true },
  { name: 'wide', type: { kind: 'decimal', precision: 38, scale: 10 }, nullable: true },
  { name: 'f', type: { kind: 'float64' }, nullable: true },
  { name: 'name', type: { kind: 'string' }, nullable: true },
  { name: 'bytes', type: { kind: 'binary' }, nullable: true },
  { name: 'day', type: { kind: 'date' }, nullable: true },
  { name: 'at', type: { kind: 'timestamp', fractionalDigits: 7 }, nullable: true },
  { name: 'tz', type: { kind: 'timestamptz', fractionalDigits: 7 }, nullable: true },
  { name: 'clock', type: { kind: 'time', fractionalDigits: 7 }, nullable: true },
  { name: 'guid', type: { kind: 'uuid' }, nullable: true },
];

const pool = Buffer.from('0123456789abcdefghijklmnopqrstuvwxyz');

function row(i: number): LakeValue[] {
  const nulls = i % 7 === 3;
  return [
    BigInt(i) * 1_000_003n,
    nulls ? null : i % 2 === 0,
    nulls ? null : (i % 60_000) - 30_000,
    nulls ? null : i * 31,
    nulls ? null : `${i}.${String(i % 100).padStart(2, '0')}`,
    nulls ? null : { unscaled: BigInt(i) * 10_000_000_001n - 5n, scale: 10 },
    nulls ? null : i / 3,
    nulls ? null : `näme ${i} ✓ ${'x'.repeat(i % 50)}`,
    nulls ? null : pool.subarray(i % 10, (i % 10) + 8),
    nulls ? null : 19_000 + (i % 400),
    nulls ? null : 1_763_000_000_000_000_000n + BigInt(i) * 1_000_000_100n,
    nulls ? null : { epochNanos: 1_763_000_000_000_000_000n + BigInt(i) * 700n, offsetMinutes: (i % 29) * 30 - 420 },
    nulls ? null : BigInt(i % 86_400) * 1_000_000_000n + 1_234_500n,
    nulls ? null : `0000000${i % 10}-1111-2222-3333-444444444444`,
  ];
}

async function contents(path: string): Promise<string> {
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  try {
    const r = await conn.runAndReadAll(`select * from read_parquet('${path}') order by id`);
    return JSON.stringify(r.getRowsJson());
  } finally {
    conn.closeSync();
    db.closeSync();
  }
}

test('the threaded writer writes the same part files, byte for byte, as the writer on the calling thread', async () => {
  const rows = 10_000; // several batches to the thread, two partitions, parts of 3,000 rows
  const plainDir = tempDir();
  const threadDir = tempDir();
  const plain = await ParquetWriter.create({ columns, dir: plainDir, partRows: 3000 });
  const threaded = await ThreadedParquetWriter.create({ columns, dir: threadDir, partRows: 3000 });
  const reused: LakeValue[] = [];
  for (let i = 0; i < rows; i++) {
    const partition = i % 4 === 0 ? '2025-11-24' : '2025-11-25';
    const r = row(i);
    const a = plain.append(partition, r);
    if (a) await a;
    // The caller may reuse its row array: the threaded writer copies at append.
    reused.length = 0;
    reused.push(...r);
    const b = threaded.append(partition, reused);
    if (b) await b;
    reused.fill(null);
  }
  const plainParts = await plain.finish();
  const threadParts = await threaded.finish();
  assert.deepEqual(
    threadParts.map((p) => [p.partition, p.partIndex, p.rows]),
    plainParts.map((p) => [p.partition, p.partIndex, p.rows]),
  );
  assert.equal(
    threadParts.reduce((n, p) => n + p.rows, 0),
    rows,
  );
  for (let k = 0; k < plainParts.length; k++) {
    const a = plainParts[k]!.localPath;
    const b = threadParts[k]!.localPath;
    assert.equal(await contents(b), await contents(a));
    assert.ok((await readFile(a)).equals(await readFile(b)), `part ${k} differs in bytes`);
  }
});

test('a value the thread refuses fails the writer with the column named, and the next writer works', async () => {
  const w = await ThreadedParquetWriter.create({ columns, dir: tempDir() });
  const bad = row(1);
  bad[4] = '1.234'; // scale 3 in a scale-2 column: refused, never rounded
  void w.append('d', row(0));
  void w.append('d', bad);
  await assert.rejects(w.finish(), (err: unknown) => {
    assert.ok(err instanceof LakeValueError);
    assert.equal(err.column, 'amount');
    return true;
  });
  const dir = tempDir();
  const next = await ThreadedParquetWriter.create({ columns, dir });
  void next.append('d', row(2));
  const parts = await next.finish();
  assert.deepEqual(
    parts.map((p) => p.rows),
    [1],
  );
});

test('a row of the wrong width is refused at append, and a writer abandoned mid-way releases its thread', async () => {
  const w = await ThreadedParquetWriter.create({ columns, dir: tempDir() });
  assert.throws(() => w.append('d', [1n]), LakeValueError);
  for (let i = 0; i < 5000; i++) {
    const f = w.append('d', row(i));
    if (f) await f;
  }
  w.close();
  assert.throws(() => w.append('d', row(0)), /closed/);
  // The pool still hands out working writers.
  const again = await ThreadedParquetWriter.create({ columns, dir: tempDir() });
  void again.append('d', row(3));
  assert.equal((await again.finish())[0]?.rows, 1);
});

test('the main thread holds at most 512 appended rows before posting them to the thread (rows stay young)', async () => {
  // The main isolate scavenges every ~1,000 rows during a load; a batch held longer is promoted to the old
  // generation, whose marking and sweeping then collect it (docs/performance.md, "What survives the worker's
  // scavenges").
  const w = await ThreadedParquetWriter.create({ columns, dir: tempDir() });
  let most = 0;
  for (let i = 0; i < 3000; i++) {
    const f = w.append('d', row(i));
    most = Math.max(most, w.rowsNotPosted);
    if (f) await f;
  }
  const parts = await w.finish();
  assert.equal(
    parts.reduce((n, p) => n + p.rows, 0),
    3000,
  );
  assert.ok(most <= 512, `held ${most} rows`);
});

test('rows with large text values go through the thread in batches bounded by their size', async () => {
  const cols: LakeColumn[] = [
    { name: 'id', type: { kind: 'int64' }, nullable: false },
    { name: 'doc', type: { kind: 'string' }, nullable: true },
  ];
  const dir = tempDir();
  const w = await ThreadedParquetWriter.create({ columns: cols, dir });
  const big = (i: number) => `${i}:${'ü'.repeat(3_000_000)}`;
  for (let i = 0; i < 12; i++) {
    const f = w.append('d', [BigInt(i), big(i)]);
    if (f) await f;
  }
  const [part] = await w.finish();
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  try {
    const r = await conn.runAndReadAll(
      `select count(*)::int n, sum(length(doc))::bigint chars, min(doc = '3:' || repeat('ü', 3000000) or id <> 3)::int ok from read_parquet('${part!.localPath}')`,
    );
    assert.deepEqual(r.getRowsJson(), [[12, String(12 * 3_000_000 + 12 * 2 + 2), 1]]);
  } finally {
    conn.closeSync();
    db.closeSync();
  }
});

test(
  'a writer thread names itself in /proc, so per-thread CPU tells it from Node’s other threads',
  { skip: !existsSync('/proc/self/task') },
  async () => {
    const names = () =>
      readdirSync('/proc/self/task').map((tid) => {
        try {
          return readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim();
        } catch {
          return ''; // the thread ended between the listing and the read
        }
      });
    const w = await ThreadedParquetWriter.create({ columns, dir: tempDir() });
    try {
      assert.ok(names().includes('tm-parquet'), `thread names: ${[...new Set(names())].join(', ')}`);
    } finally {
      w.close();
    }
  },
);
