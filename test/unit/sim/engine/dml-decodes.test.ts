/**
 * UPDATE and DELETE read each packed row's values once per step, not once per column: a packed row
 * (sim/engine/row-codec.ts) decodes all its columns on every `values` read, and the statements used to read
 * `rec.values[slot]` per column — about 80 full decodes of a 25-column row per row updated, most of an UPDATE's
 * time in the simulator (issue 14, bench/sim-workload.ts). The count of decodes is the work measured; the
 * statements' results are checked too.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RowCodec } from '../../../../sim/engine/row-codec.js';
import { engineWithClaims, connect, run } from './helpers.js';

const COLUMNS = 25;

/** Counts full-row decodes of packed rows while `fn` runs. */
async function decodesDuring(fn: () => Promise<void>): Promise<number> {
  const proto = RowCodec.prototype;
  const original = Object.getOwnPropertyDescriptor(proto, 'decodeAt') as PropertyDescriptor;
  const decode = original.value as (this: RowCodec, ...args: Parameters<RowCodec['decodeAt']>) => unknown;
  let n = 0;
  Object.defineProperty(proto, 'decodeAt', {
    ...original,
    value(this: RowCodec, ...args: Parameters<RowCodec['decodeAt']>) {
      n++;
      return decode.apply(this, args);
    },
  });
  try {
    await fn();
  } finally {
    Object.defineProperty(proto, 'decodeAt', original);
  }
  return n;
}

async function wideTable(rows: number) {
  const e = engineWithClaims();
  const s = await connect(e);
  const cols = Array.from({ length: COLUMNS - 1 }, (_, i) => `c${i} int NOT NULL`).join(', ');
  await run(s, `CREATE TABLE dbo.Wide (id int NOT NULL PRIMARY KEY, ${cols})`);
  await e.admin.bulkInsert(
    'Claims',
    'dbo.Wide',
    ['id', ...Array.from({ length: COLUMNS - 1 }, (_, i) => `c${i}`)],
    Array.from({ length: rows }, (_, r) => [BigInt(r), ...Array.from({ length: COLUMNS - 1 }, (_, i) => BigInt(i))]),
  );
  return { e, s };
}

test('an UPDATE of 100 packed 25-column rows decodes each row a few times, not once per column', async () => {
  const { s } = await wideTable(100);
  let errors: unknown[] = [];
  const decodes = await decodesDuring(async () => {
    errors = (await run(s, 'UPDATE dbo.Wide SET c3 = c3 + id WHERE c0 = 0')).errors;
  });
  assert.deepEqual(errors, []);
  // Candidates (1 read), then after the lock the row's values (1 read): 2 per row here; before, ~80.
  assert.ok(decodes <= 100 * 3, `${decodes} decodes for 100 rows`);
  const back = await run(s, 'SELECT SUM(c3), COUNT(*) FROM dbo.Wide WHERE c3 = 3 + id');
  assert.deepEqual(back.sets[0], [[100n * 3n + 4950n, 100n]]);
});

test('a DELETE of 100 packed 25-column rows decodes each row a few times, not once per column', async () => {
  const { s } = await wideTable(150);
  let errors: unknown[] = [];
  const decodes = await decodesDuring(async () => {
    errors = (await run(s, 'DELETE FROM dbo.Wide WHERE id < 100 AND c1 = 1')).errors;
  });
  assert.deepEqual(errors, []);
  assert.ok(decodes <= 100 * 3, `${decodes} decodes for 100 rows`);
  const left = await run(s, 'SELECT COUNT(*), MIN(id) FROM dbo.Wide');
  assert.deepEqual(left.sets[0], [[50n, 100n]]);
});
