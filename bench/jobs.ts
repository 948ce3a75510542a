/**
 * `npm run bench:jobs [rows] [chunkRows]`: what the nightly jobs cost on an identity table of `rows` rows
 * (default 20,000; 8 columns) in the simulator, with the lake in an in-memory Azurite, activities called directly
 * (no Temporal). Baseline, measured in the same run: the snapshot (a full extract of the table). Then:
 * - sweep, nothing changed: every chunk compared, none re-extracted;
 * - sweep after one late update: one chunk re-extracted;
 * - delete reconciliation after one delete (keys only);
 * - the same backfill twice (the second writes nothing).
 * Prints seconds, the ratio to the snapshot, source rows read, rows written and peak RSS. No thresholds.
 */
import { randomBytes } from 'node:crypto';
import { createActivities, buildDependencies } from '../src/activities/index.js';
import type { JobSpec } from '../src/domain/jobs.js';
import type { TableRef } from '../src/domain/table.js';
import { createLogger } from '../src/util/logger.js';
import { pipelineConfig, startClaimsSource } from '../scripts/demo/harness.js';
import { azuriteForTests } from '../test/support/stack.js';
import { runJob, type JobRun } from '../test/support/activity-sync.js';

const rows = Number(process.argv[2] ?? 20_000);
const chunkRows = Number(process.argv[3] ?? 5_000);
const TABLE: TableRef = { id: 'Claims.dbo.Notes', strategy: 'identity' };

let peak = 0;
const timer = setInterval(() => {
  peak = Math.max(peak, process.memoryUsage.rss());
}, 100);

const source = await startClaimsSource({ workload: { rate: 0, longTransactionMs: 50, addColumnAt: [], widenAt: 1e9 } });
await source.admin.request().batch(`CREATE TABLE dbo.Notes (id bigint IDENTITY(1,1) PRIMARY KEY, note nvarchar(60) NULL,
  amount decimal(12,2) NOT NULL, qty int NULL, noted date NOT NULL, at datetime2(7) NULL, ratio float NULL, code char(8) NULL)`);
for (let done = 0; done < rows; done += 1000) {
  const values = Array.from({ length: Math.min(1000, rows - done) }, (_v, j) => {
    const i = done + j;
    return `(N'note ${i} ${'x'.repeat(i % 30)}', ${i % 5000}.25, ${i % 97}, '2026-0${1 + (i % 9)}-1${i % 10}', '2026-03-04 05:06:07.${String(i).padStart(7, '0').slice(-7)}', ${i / 7}, 'C${i % 1000}')`;
  });
  await source.admin
    .request()
    .batch(`INSERT INTO dbo.Notes (note, amount, qty, noted, at, ratio, code) VALUES ${values.join(',')}`);
}
const { config } = pipelineConfig({
  sourcePort: source.sim.port,
  azuriteConnectionString: await azuriteForTests(),
  temporalAddress: '127.0.0.1:1',
  taskQueue: 'unused',
  container: `bench-jobs-${randomBytes(4).toString('hex')}`,
  tables: [{ name: 'dbo.Notes', capture: '{ strategy: identity, column: id }', businessDateColumn: 'noted' }],
});
const deps = await buildDependencies(config, createLogger({ name: 'bench', level: 'warn' }));
const acts = createActivities(deps);

const results: { step: string; seconds: number; run: JobRun }[] = [];
async function step(name: string, job: JobSpec, before?: string): Promise<void> {
  if (before) await source.admin.request().batch(before);
  const t0 = performance.now();
  const run = await runJob(acts, TABLE, job, chunkRows);
  results.push({ step: name, seconds: (performance.now() - t0) / 1000, run });
}

try {
  await step('snapshot (baseline: full extract)', { kind: 'snapshot', reason: 'bench' });
  await step('sweep, nothing changed', { kind: 'sweep', days: 30 });
  await step('sweep after 1 late update', { kind: 'sweep', days: 30 }, 'UPDATE dbo.Notes SET qty = -1 WHERE id = 7');
  await step('reconcile after 1 delete', { kind: 'reconcile' }, 'DELETE FROM dbo.Notes WHERE id = 11');
  const backfill: JobSpec = { kind: 'backfill', from: '2026-01-01', to: '2027-01-01' };
  await step('backfill (lake up to date)', backfill);
  await step('same backfill again', backfill);
} finally {
  clearInterval(timer);
  await deps.close();
  await source.stop();
}

const base = results[0]!.seconds;
process.stdout.write(
  `bench:jobs — identity table, ${rows} rows × 8 columns, chunks of ${chunkRows}; simulator + Azurite in memory\n`,
);
console.table(
  results.map((r) => ({
    step: r.step,
    seconds: Number(r.seconds.toFixed(2)),
    'vs snapshot': Number((r.seconds / base).toFixed(2)),
    chunks: r.run.chunks,
    're-extracted': r.run.reextracted,
    'source rows read': r.run.sourceRowsRead,
    'rows written': r.run.rows,
  })),
);
process.stdout.write(`peak RSS ${Math.round(peak / 2 ** 20)} MiB\n`);
process.exit(0);
