/**
 * `node --import tsx bench/sim-derived-count.ts [--changes 50000] [--repeats 7] [--update] [--grouped]`: the
 * simulator's CPU for Tidemark's capped CDC count, in process: `--changes` inserted rows captured (with `--update`,
 * then all of them updated in one transaction and only the update's changes counted: two change rows per change,
 * as a burst has), then the count run `--repeats` times; prints the least and the median CPU (process.cpuUsage; the
 * least is the run the shared machine and the GC disturbed least). The count is the plain capped count
 * (`SELECT COUNT_BIG(*) AS n FROM (SELECT TOP (cap) c.__$seqval AS s FROM cdc.fn_cdc_get_all_changes_…(@from, @to,
 * N'all') AS c) AS t`), or with `--grouped` the plan's probe (source/strategies/cdc.ts `cdc.probe_count`: the same
 * capped rows counted per `__$start_lsn`). Before/after a planner change: run it on each version.
 */
import { parseArgs } from 'node:util';
import { createEngine } from '../sim/engine/index.js';
import { cdcAdmin } from '../sim/engine/cdc/index.js';

const { values: args } = parseArgs({
  options: {
    changes: { type: 'string', default: '50000' },
    repeats: { type: 'string', default: '7' },
    update: { type: 'boolean', default: false },
    grouped: { type: 'boolean', default: false },
  },
});
const CHANGES = Number(args.changes);
const e = createEngine();
e.admin.createDatabase('Claims');
cdcAdmin(e).configure({ autoStart: false });
const sa = async (sql: string) => {
  const r = await e.admin.execute(sql, { database: 'Claims' });
  if (r.error) throw new Error(r.error.message);
  return r.resultSets[r.resultSets.length - 1]?.rows ?? [];
};
await sa(`CREATE TABLE dbo.T (id int NOT NULL PRIMARY KEY, amount decimal(12,2) NULL, note nvarchar(40) NULL);
  EXEC sys.sp_cdc_enable_db;
  EXEC sys.sp_cdc_enable_table @source_schema = N'dbo', @source_name = N'T', @role_name = NULL;`);
for (let i = 0; i < CHANGES; i += 1000)
  await sa(
    `INSERT INTO dbo.T VALUES ${Array.from({ length: Math.min(1000, CHANGES - i) }, (_v, k) => `(${i + k}, 1.5, N'n')`).join(', ')}`,
  );
await cdcAdmin(e).runCapture('Claims');
let from = `sys.fn_cdc_get_min_lsn(N'dbo_T')`;
if (args.update) {
  from = `0x${Buffer.from((await sa(`SELECT sys.fn_cdc_increment_lsn(sys.fn_cdc_get_max_lsn())`))[0]![0] as Uint8Array).toString('hex')}`;
  await sa(`UPDATE dbo.T SET amount = amount + 1`);
  await cdcAdmin(e).runCapture('Claims');
}
const inner = `SELECT TOP (${CHANGES + 1}) c.__$start_lsn AS l, c.__$seqval AS s
    FROM cdc.fn_cdc_get_all_changes_dbo_T(@from, @to, N'all') AS c`;
const count = `DECLARE @from binary(10) = ${from}, @to binary(10) = sys.fn_cdc_get_max_lsn();
  ${args.grouped ? `SELECT t.l AS lsn, COUNT_BIG(*) AS n FROM (${inner}) AS t GROUP BY t.l` : `SELECT COUNT_BIG(*) AS n FROM (${inner}) AS t`}`;
let n = 0;
for (const row of await sa(count)) n += Number(row[row.length - 1]);
if (n !== CHANGES) throw new Error(`counted ${n} changes, expected ${CHANGES}`);
const runs: number[] = [];
for (let k = 0; k < Number(args.repeats); k++) {
  const c0 = process.cpuUsage();
  await sa(count);
  const c = process.cpuUsage(c0);
  runs.push((c.user + c.system) / 1000);
}
runs.sort((a, b) => a - b);
const median = runs[Math.floor(runs.length / 2)]!;
const least = runs[0]!;
console.log(
  `capped CDC count${args.grouped ? ' (grouped)' : ''} over ${CHANGES} ${args.update ? 'updates' : 'inserts'}: least ${least.toFixed(1)} ms CPU, median ${median.toFixed(1)} ms; runs ${runs.map((r) => r.toFixed(0)).join(' ')}`,
);
process.exit(0);
