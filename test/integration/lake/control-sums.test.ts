/**
 * Control totals without a download: the sums of a table's control-total columns are computed on the local
 * parts while staging (lake/check-parts.ts) and recorded with the staged attempt, so validation takes them with
 * the files' MD5 and size from the store's properties and downloads nothing. A record staged without them (a
 * retry after an upgrade) still validates, by downloading and summing the files as before — to the same text.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TableLayout } from '../../../src/lake/layout.js';
import { registerSchema, type SchemaDoc } from '../../../src/lake/schema-registry.js';
import { validateWindow } from '../../../src/lake/validate-window.js';
import { stageWindow, type ChangeEvent, type StagedAttempt } from '../../../src/lake/stage-window.js';
import type { LakeTable } from '../../../src/lake/lake-table.js';
import type { AzureBlobStore } from '../../../src/lake/blob-store.js';
import type { LakeColumn } from '../../../src/domain/values.js';
import { countDownloads, freshStore } from '../../support/lake.js';
import { EXTRACTED_AT } from '../../support/lake-window.js';

const COLUMNS: LakeColumn[] = [
  { name: 'line_id', type: { kind: 'int64' }, nullable: false },
  { name: 'billed', type: { kind: 'decimal', precision: 18, scale: 2 }, nullable: true },
  { name: 'rate', type: { kind: 'decimal', precision: 9, scale: 4 }, nullable: true },
  { name: 'paid', type: { kind: 'decimal', precision: 38, scale: 6 }, nullable: true },
  { name: 'units', type: { kind: 'int64' }, nullable: true },
  { name: 'visits', type: { kind: 'int32' }, nullable: true },
  { name: 'never', type: { kind: 'decimal', precision: 10, scale: 3 }, nullable: true },
];
const CONTROL = ['billed', 'rate', 'paid', 'units', 'visits', 'never'];
const pos = (n: number) => n.toString(16).padStart(16, '0');
const DAY1 = 1_763_942_400_000_000_000n; // 2025-11-24T00:00Z
const DAY2 = DAY1 + 86_400_000_000_000n;
const BIG = 2n ** 60n; // beyond 2^53: a number would lose it

/**
 * Every op, NULLs, negative amounts, integers beyond 2^53, two commit dates and parts of 2 rows (several files);
 * the delete carries values that must not be summed (a delete's values are the row it removed).
 */
const EVENTS: ChangeEvent[] = [
  { op: 'r', position: pos(1), commitTs: null, values: [1n, '100.10', '0.0001', '1.000001', BIG, 1, null] },
  { op: 'c', position: pos(2), commitTs: DAY1 + 1000n, values: [2n, '-0.15', '12.3456', null, BIG + 1n, 2, null] },
  {
    op: 'u',
    position: pos(3),
    commitTs: DAY1 + 2000n,
    values: [1n, null, '-2.5000', '99999999999.999999', -3n, null, null],
  },
  {
    op: 'd',
    position: pos(4),
    commitTs: DAY1 + 3000n,
    values: [2n, '1000.00', '1.0000', '5.000000', 1000n, 1000, null],
  },
  {
    op: 'c',
    position: pos(5),
    commitTs: DAY2 + 1000n,
    values: [3n, '0.05', null, '-0.000002', BIG, 2_000_000_000, null],
  },
];
/** The sums over `c`, `u`, `r` as DuckDB writes them (`sum(x)::VARCHAR`). */
const EXPECTED = {
  billed: '100.00',
  rate: '9.8457',
  paid: '100000000000.999998',
  units: (3n * BIG + 1n - 3n).toString(),
  visits: '2000000003',
  never: null,
};

async function setup(label: string): Promise<{ lake: LakeTable; store: AzureBlobStore; schema: SchemaDoc }> {
  const { store } = await freshStore(label);
  const lake: LakeTable = { store, layout: new TableLayout('raw', { db: 'Claims', schema: 'dbo', table: 'Lines' }) };
  const { doc } = await registerSchema(store, lake.layout, { columns: COLUMNS, keyColumns: ['line_id'] });
  return { lake, store, schema: doc };
}

const WINDOW = { sequence: 1, from: pos(0), to: pos(5) };

async function stage(lake: LakeTable, schema: SchemaDoc, controlColumns?: string[]): Promise<StagedAttempt> {
  return stageWindow({
    lake,
    window: WINDOW,
    attemptId: 'a1',
    schema,
    events: EVENTS,
    extractedAt: EXTRACTED_AT,
    partRows: 2,
    ...(controlColumns ? { controlColumns } : {}),
  });
}

test('staging records the control sums; validation takes them and downloads nothing', async () => {
  const { lake, store, schema } = await setup('sums-staged');
  const staged = await stage(lake, schema, CONTROL);
  assert.ok(staged.files.length >= 3, 'several part files');
  assert.deepEqual(staged.controlSums, EXPECTED);
  const downloads = countDownloads(store);
  const v = await validateWindow({ lake, schema, window: WINDOW, staged, controlColumns: CONTROL });
  assert.deepEqual(v.controlTotals.sums, EXPECTED);
  assert.deepEqual(downloads, { files: 0, bytes: 0 });
});

test('a record staged without sums (before they were recorded) downloads its files and sums them the same', async () => {
  const { lake, store, schema } = await setup('sums-fallback');
  const staged = await stage(lake, schema);
  assert.equal(staged.controlSums, undefined, 'no column asked for: nothing recorded');
  const downloads = countDownloads(store);
  const v = await validateWindow({ lake, schema, window: WINDOW, staged, controlColumns: CONTROL });
  assert.deepEqual(v.controlTotals.sums, EXPECTED);
  assert.equal(downloads.files, staged.files.length);
});

test('a column the record has no sum for (configured since) is summed from the files', async () => {
  const { lake, store, schema } = await setup('sums-partial');
  const staged = await stage(lake, schema, ['billed']);
  assert.deepEqual(staged.controlSums, { billed: '100.00' });
  const downloads = countDownloads(store);
  const v = await validateWindow({ lake, schema, window: WINDOW, staged, controlColumns: ['billed', 'units'] });
  assert.deepEqual(v.controlTotals.sums, { billed: '100.00', units: EXPECTED.units });
  assert.equal(downloads.files, staged.files.length);
});

test('a stored file whose MD5 differs from the record fails validation before any sum is trusted', async () => {
  const { lake, schema } = await setup('sums-md5');
  const staged = await stage(lake, schema, CONTROL);
  const [first, ...rest] = staged.files;
  const forged = { ...staged, files: [{ ...first!, md5: 'AAAAAAAAAAAAAAAAAAAAAA==' }, ...rest] };
  await assert.rejects(
    validateWindow({ lake, schema, window: WINDOW, staged: forged, controlColumns: CONTROL }),
    /MD5 differs from the staged record/,
  );
});
