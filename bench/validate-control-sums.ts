/**
 * `npm run bench:lake:control-sums [rows] [pairs]`: what the validate step costs for a window of a table with
 * control totals (`quality.controlTotals`: billed_amount, paid_amount, units of synthetic claim lines), with the
 * sums recorded at staging (now) and without them (before: validation downloads the window's files and sums them
 * with DuckDB — still the path of a record staged before the sums were recorded). Also the staging's cost of
 * computing them (stage with and without control columns).
 *
 * One process, Azurite in memory; the pairs alternate (A/B). Prints bytes downloaded, wall ms and this process's
 * CPU ms (process.cpuUsage: every thread, DuckDB's included; Azurite's own CPU is not in it). No thresholds.
 */
import { CLAIM_LINE_COLUMNS, claimLineRow } from './claim-lines.js';
import { stageWindow, type ChangeEvent, type StagedAttempt } from '../src/lake/stage-window.js';
import { validateWindow } from '../src/lake/validate-window.js';
import { TableLayout } from '../src/lake/layout.js';
import { registerSchema } from '../src/lake/schema-registry.js';
import { AzureBlobStore } from '../src/lake/blob-store.js';
import type { LakeTable } from '../src/lake/lake-table.js';
import { azuriteForTests } from '../test/support/stack.js';
import { countDownloads } from '../test/support/lake.js';

const CONTROL = ['billed_amount', 'paid_amount', 'units'];
const rows = Number(process.argv[2] ?? 300_000);
const pairs = Number(process.argv[3] ?? 3);

function* events(n: number): Generator<ChangeEvent> {
  const base = 1_764_000_000_000_000_000n;
  for (let i = 0; i < n; i++)
    yield {
      op: i % 10 === 9 ? 'u' : 'c',
      position: i.toString(16).padStart(16, '0'),
      commitTs: base,
      values: claimLineRow(i),
    };
}

interface Measured<T> {
  readonly value: T;
  readonly wallMs: number;
  readonly cpuMs: number;
}

async function measured<T>(f: () => Promise<T>): Promise<Measured<T>> {
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const value = await f();
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const c = process.cpuUsage(c0);
  return { value, wallMs, cpuMs: (c.user + c.system) / 1000 };
}

const store = new AzureBlobStore({ connectionString: await azuriteForTests(), container: `bench-sums-${Date.now()}` });
await store.ensureContainer();
const downloaded = countDownloads(store);
const layout = new TableLayout('raw', { db: 'Claims', schema: 'dbo', table: 'ClaimLines' });
const lake: LakeTable = { store, layout };
const { doc: schema } = await registerSchema(store, layout, {
  columns: CLAIM_LINE_COLUMNS,
  keyColumns: ['claim_line_id'],
});
let sequence = 0;
const stage = (controlColumns?: readonly string[]) =>
  measured(() =>
    stageWindow({
      lake,
      window: { sequence: ++sequence, from: '0', to: 'f' },
      attemptId: 'bench',
      schema,
      events: events(rows),
      extractedAt: 1_764_000_000_000_000_000n,
      ...(controlColumns ? { controlColumns } : {}),
    }),
  );
const validate = async (staged: StagedAttempt, seq: number) => {
  const before = { ...downloaded };
  const m = await measured(() =>
    validateWindow({ lake, schema, window: { sequence: seq, from: '0', to: 'f' }, staged, controlColumns: CONTROL }),
  );
  return { ...m, files: downloaded.files - before.files, bytes: downloaded.bytes - before.bytes };
};

console.log(`bench:lake:control-sums — ${rows} synthetic claim lines, control totals ${CONTROL.join(', ')}`);
const table: Record<string, string | number>[] = [];
for (let p = 0; p < pairs; p++) {
  const plain = await stage();
  const summed = await stage(CONTROL);
  const { controlSums: _recorded, ...withoutSums } = summed.value;
  const downloadPath = await validate(withoutSums, sequence);
  const fromRecord = await validate(summed.value, sequence);
  if (JSON.stringify(downloadPath.value.controlTotals.sums) !== JSON.stringify(fromRecord.value.controlTotals.sums))
    throw new Error('the recorded sums differ from the files summed');
  table.push(
    {
      pair: p + 1,
      step: 'stage, no control columns',
      'wall ms': Math.round(plain.wallMs),
      'CPU ms': Math.round(plain.cpuMs),
      files: plain.value.files.length,
      'bytes downloaded': 0,
    },
    {
      pair: p + 1,
      step: 'stage, sums recorded',
      'wall ms': Math.round(summed.wallMs),
      'CPU ms': Math.round(summed.cpuMs),
      files: summed.value.files.length,
      'bytes downloaded': 0,
    },
    {
      pair: p + 1,
      step: 'validate, download and sum (before)',
      'wall ms': Math.round(downloadPath.wallMs),
      'CPU ms': Math.round(downloadPath.cpuMs),
      files: downloadPath.files,
      'bytes downloaded': downloadPath.bytes,
    },
    {
      pair: p + 1,
      step: 'validate, sums from the record (after)',
      'wall ms': Math.round(fromRecord.wallMs),
      'CPU ms': Math.round(fromRecord.cpuMs),
      files: fromRecord.files,
      'bytes downloaded': fromRecord.bytes,
    },
  );
}
console.table(table);
process.exit(0);
