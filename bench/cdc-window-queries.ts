/**
 * `node --import tsx bench/cdc-window-queries.ts [--rows 100000 --burst 50000]`: what each source query of one
 * CDC window costs the source (the simulator's CPU seconds from /proc, bench/process-cpu.ts) per change, against
 * the raw read of the same changes from the CDC function (`SELECT *`, the bench:e2e burst's baseline). One
 * transaction updates `--burst` rows; once the capture job has them, each query runs twice and the cheaper run
 * counts (the machine is shared). Figures, not assertions.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { benchStack, stopChild } from './pipeline-stack.js';
import { cpuSecondsOf } from './process-cpu.js';
import { rawStream } from './raw-stream.js';

const { values } = parseArgs({
  options: { rows: { type: 'string', default: '100000' }, burst: { type: 'string', default: '50000' } },
});
const ROWS = Number(values.rows);
const BURST = Number(values.burst);
const workDir = await mkdtemp(join(tmpdir(), 'tidemark-bench-cdc-q-'));
const { startSim } = benchStack({ workDir, runId: 'q', prefix: 'bench-cdc-q', cadenceSeconds: 60 });
const sim = await startSim(['--seed', '42', '--rows', String(ROWS)]);
try {
  await sim.admin.request().batch(`EXEC sys.sp_cdc_enable_db;
    EXEC sys.sp_cdc_enable_table @source_schema = N'dbo', @source_name = N'ClaimLines', @role_name = NULL;`);
  await sim.admin.request().batch(`UPDATE TOP (${BURST}) dbo.ClaimLines SET notes = N'repriced in bench'`);
  for (;;) {
    const r = await sim.admin
      .request()
      .query<{ n: number }>('SELECT COUNT(*) AS n FROM cdc.dbo_ClaimLines_CT WHERE __$operation = 4');
    if ((r.recordset[0]?.n ?? 0) >= BURST) break;
    await sleep(250);
  }
  const range = `DECLARE @from binary(10) = sys.fn_cdc_get_min_lsn(N'dbo_ClaimLines'), @to binary(10) = sys.fn_cdc_get_max_lsn();`;
  const fn = "cdc.fn_cdc_get_all_changes_dbo_ClaimLines(@from, @to, N'all')";
  const queries: Record<string, string> = {
    'raw SELECT * (baseline)': `SELECT * FROM ${fn}`,
    'plan: capped count (probe_count)': `SELECT COUNT_BIG(*) AS n FROM (SELECT TOP (100001) c.__$seqval AS s FROM ${fn} AS c) AS t`,
    'plan: TOP (1) probe': `SELECT TOP (1) 1 AS found FROM ${fn}`,
    'read: commit times (GROUP BY)': `SELECT TOP (50000) c.__$start_lsn AS lsn, sys.fn_cdc_map_lsn_to_time(c.__$start_lsn) AS t FROM ${fn} AS c GROUP BY c.__$start_lsn ORDER BY c.__$start_lsn OPTION (MAXDOP 1)`,
    'read: changes, ordered': `SELECT c.* FROM ${fn} AS c ORDER BY c.__$start_lsn, c.__$seqval, c.__$operation OPTION (MAXDOP 1)`,
    "read + commit time on a transaction's first row": `SELECT CASE WHEN ROW_NUMBER() OVER (PARTITION BY c.__$start_lsn ORDER BY c.__$seqval, c.__$operation) = 1 THEN sys.fn_cdc_map_lsn_to_time(c.__$start_lsn) END AS t, c.* FROM ${fn} AS c ORDER BY c.__$start_lsn, c.__$seqval, c.__$operation OPTION (MAXDOP 1)`,
    'read + commit time per row': `SELECT sys.fn_cdc_map_lsn_to_time(c.__$start_lsn) AS t, c.* FROM ${fn} AS c ORDER BY c.__$start_lsn, c.__$seqval, c.__$operation OPTION (MAXDOP 1)`,
  };
  for (const [name, q] of Object.entries(queries)) {
    let best: { cpu: number; ms: number; rows: number } | undefined;
    for (let i = 0; i < 2; i++) {
      const c0 = cpuSecondsOf(sim.child.pid) ?? 0;
      const t0 = performance.now();
      const rows = await rawStream(sim.admin, `${range}\n${q}`);
      const ms = performance.now() - t0;
      const cpu = (cpuSecondsOf(sim.child.pid) ?? 0) - c0;
      if (!best || cpu < best.cpu) best = { cpu, ms, rows };
    }
    console.log(
      `${name.padEnd(36)} simulator ${((best!.cpu * 1e6) / BURST).toFixed(1).padStart(6)} µs CPU per change, ` +
        `${(best!.ms / 1000).toFixed(2)} s, ${best!.rows} rows`,
    );
  }
} finally {
  await sim.admin.close().catch(() => undefined);
  await stopChild(sim.child);
}
