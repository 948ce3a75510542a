/**
 * `node --import tsx bench/sim-derived-count.ts [--changes 50000] [--repeats 7]`: the simulator's CPU for
 * Tidemark's capped CDC count (`SELECT COUNT_BIG(*) AS n FROM (SELECT TOP (cap) c.__$seqval AS s FROM
 * cdc.fn_cdc_get_all_changes_…(@from, @to, N'all') AS c) AS t`, source/strategies/cdc.ts `cdc.probe_count`), in
 * process: `--changes` inserted rows captured, then the count run `--repeats` times; prints the least and the median
 * CPU (process.cpuUsage; the least is the run the shared machine and the GC disturbed least). Before/after a planner change: run it on each version.
 */
import { parseArgs } from 'node:util';
import { createEngine } from '../sim/engine/index.js';
import { cdcAdmin } from '../sim/engine/cdc/index.js';

const { values: args } = parseArgs({
  options: { changes: { type: 'string', default: '50000' }, repeats: { type: 'string', default: '7' } },
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
const count = `DECLARE @from binary(10) = sys.fn_cdc_get_min_lsn(N'dbo_T'), @to binary(10) = sys.fn_cdc_get_max_lsn();
  SELECT COUNT_BIG(*) AS n FROM (SELECT TOP (${CHANGES + 1}) c.__$seqval AS s
    FROM cdc.fn_cdc_get_all_changes_dbo_T(@from, @to, N'all') AS c) AS t`;
const n = (await sa(count))[0]?.[0];
if (Number(n) !== CHANGES) throw new Error(`counted ${Number(n)} changes, inserted ${CHANGES}`);
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
  `capped CDC count over ${CHANGES} changes: least ${least.toFixed(1)} ms CPU, median ${median.toFixed(1)} ms; runs ${runs.map((r) => r.toFixed(0)).join(' ')}`,
);
process.exit(0);
