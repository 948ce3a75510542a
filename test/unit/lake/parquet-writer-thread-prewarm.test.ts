/**
 * The Parquet writer threads of a fresh process can start before any stage needs them (the worker does so at its
 * start: a thread's start is seconds of wall time on a busy machine, which a fresh worker's first load waited for,
 * twice). Its own file: the pool is the process's, and this checks a process that has started none yet.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DuckDBInstance } from '@duckdb/node-api';
import {
  ThreadedParquetWriter,
  closeWriterThreads,
  prewarmWriterThreads,
  writerThreadsStarted,
} from '../../../src/lake/parquet-writer-thread.js';
import type { LakeColumn } from '../../../src/domain/values.js';
import { tempDir } from '../../support/lake.js';

const columns: LakeColumn[] = [
  { name: 'id', type: { kind: 'int64' }, nullable: false },
  { name: 'name', type: { kind: 'string' }, nullable: true },
];

test('writers opened after a prewarm take its threads, and write their parts as on any thread', async (t) => {
  t.after(() => closeWriterThreads());
  assert.equal(writerThreadsStarted(), 0, 'a fresh process has started no writer thread');
  await prewarmWriterThreads();
  const warmed = writerThreadsStarted();
  assert.ok(warmed >= 2, `the prewarm started the idle pool's threads (started ${warmed})`);
  await prewarmWriterThreads();
  assert.equal(writerThreadsStarted(), warmed, 'a full pool is not prewarmed again');

  // Two writers at once, as a staging pipeline has (one filling, one encoding): neither starts a thread.
  const dirs = [tempDir('prewarm-a-'), tempDir('prewarm-b-')];
  const writers = await Promise.all(dirs.map((dir) => ThreadedParquetWriter.create({ columns, dir, partRows: 1000 })));
  assert.equal(writerThreadsStarted(), warmed, 'the writers took the prewarmed threads');
  const parts = [];
  for (const [k, w] of writers.entries()) {
    for (let i = 0; i < 700; i++) await w.append('2026-12-07', [BigInt(i * 2 + k), `row ${i}`]);
    parts.push(...(await w.finish()));
    w.close();
  }
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  try {
    const r = await conn.runAndReadAll(
      `select count(*)::INTEGER, count(distinct id)::INTEGER from read_parquet([${parts.map((p) => `'${p.localPath}'`).join(', ')}])`,
    );
    assert.deepEqual(r.getRows()[0], [1400, 1400]);
  } finally {
    conn.closeSync();
    db.closeSync();
  }
});
