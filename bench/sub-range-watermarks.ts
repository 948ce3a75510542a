/**
 * What splitting costs an updated_at and an identity window (issue 14, branch i14-subrange2), in one run against
 * the simulator in this process (real TDS, real mssql driver): a backlog of `--rows` new rows per table; the
 * window read whole, its split (`planSubRanges` at `--sub-range-rows`), and its sub-ranges read one after the
 * other; a rowversion table's, as the reference (its split existed before). Prints each as a ratio to the whole read of the same run (the machine is shared: only ratios compare),
 * and checks that the sub-ranges return the whole read's (key, position) events.
 *
 *   node --import tsx bench/sub-range-watermarks.ts [--rows 50000] [--sub-range-rows 10000]
 */
import { parseArgs } from 'node:util';
import { discoverTable } from '../src/source/discovery.js';
import { IdentityStrategy } from '../src/source/strategies/identity.js';
import { UpdatedAtStrategy } from '../src/source/strategies/updated-at.js';
import { RowversionStrategy } from '../src/source/strategies/rowversion.js';
import type { CaptureStrategy, ChangeRow, SourceWindow } from '../src/source/index.js';
import { collectWithResume, startSourceSim } from '../test/support/source-sim.js';

const { values: args } = parseArgs({
  options: { rows: { type: 'string', default: '50000' }, 'sub-range-rows': { type: 'string', default: '10000' } },
});
const ROWS = Number(args.rows);
const THRESHOLD = Number(args['sub-range-rows']);

const s = await startSourceSim();
await s.admin.request().batch(`ALTER DATABASE Claims SET ALLOW_SNAPSHOT_ISOLATION ON;
  CREATE TABLE dbo.bench_ua (id int NOT NULL PRIMARY KEY, note varchar(40) NULL, updated_at datetime2(7) NOT NULL);
  CREATE INDEX IX_bench_ua_updated_at ON dbo.bench_ua (updated_at);
  CREATE TABLE dbo.bench_id (id int IDENTITY(1,1) PRIMARY KEY, note varchar(40) NULL);
  CREATE TABLE dbo.bench_rv (id int NOT NULL PRIMARY KEY, note varchar(40) NULL, rv rowversion);`);
const conn = await s.connect();

async function insert(table: 'bench_ua' | 'bench_id' | 'bench_rv', from: number, n: number): Promise<void> {
  for (let i = 0; i < n; i += 1000) {
    const ids = Array.from({ length: Math.min(1000, n - i) }, (_v, k) => from + i + k);
    const values =
      table === 'bench_ua'
        ? ids.map((id) => `(${id}, 'note ${id}', SYSUTCDATETIME())`)
        : table === 'bench_rv'
          ? ids.map((id) => `(${id}, 'note ${id}')`)
          : ids.map((id) => `('note ${id}')`);
    const columns = table === 'bench_rv' ? ' (id, note)' : '';
    await s.admin.request().batch(`INSERT INTO dbo.${table}${columns} VALUES ${values.join(', ')}`);
  }
}

const ms = async <T>(f: () => Promise<T>): Promise<[T, number]> => {
  const t0 = performance.now();
  const out = await f();
  return [out, performance.now() - t0];
};
const keyPos = (rows: readonly ChangeRow[]) => rows.map((r) => `${r.values[0] as number}@${r.pos}`).sort();

async function measure(name: string, st: CaptureStrategy, w: SourceWindow): Promise<void> {
  const [whole, wholeMs] = await ms(() => collectWithResume(st, w));
  const [ranges, splitMs] = await ms(() => st.planSubRanges!(w, THRESHOLD, 32));
  if (!ranges) throw new Error(`${name}: not split`);
  const end = ranges[ranges.length - 1]!.to;
  const [parts, partsMs] = await ms(async () => {
    const rows: ChangeRow[] = [];
    for (const r of ranges)
      rows.push(
        ...(await collectWithResume(st, { ...w, from: r.from, to: r.to, partOf: { from: w.from, to: end } })).rows,
      );
    return rows;
  });
  const same = JSON.stringify(keyPos(parts)) === JSON.stringify(keyPos(whole.rows));
  console.log(
    `${name}: ${whole.rows.length} rows; whole read ${wholeMs.toFixed(0)} ms; split (plan) ${(splitMs / wholeMs).toFixed(2)}x of it, ` +
      `${ranges.length} sub-ranges read one after another ${(partsMs / wholeMs).toFixed(2)}x; same (key, position) events: ${same}`,
  );
}

const ua = new UpdatedAtStrategy(conn, await discoverTable(conn, 'dbo', 'bench_ua'), 'updated_at', {
  lookbackMs: 60_000,
  safetyLagMs: 0,
});
const id = new IdentityStrategy(conn, await discoverTable(conn, 'dbo', 'bench_id'), 'id');
await insert('bench_ua', 1, 10);
await insert('bench_id', 1, 10);
const uaStart = await ua.planWindow(null);
const idStart = (await collectWithResume(id, await id.planWindow(null))).resumePosition;
await insert('bench_ua', 1001, ROWS);
await insert('bench_id', 11, ROWS);
await new Promise((r) => setTimeout(r, 20));
await measure('updated_at', ua, await ua.planWindow(uaStart.to));
await measure('identity', id, await id.planWindow(idStart));
const rv = new RowversionStrategy(conn, await discoverTable(conn, 'dbo', 'bench_rv'), 'rv');
const rvStart = await rv.planWindow(null);
await insert('bench_rv', 1, ROWS);
await measure('rowversion (reference)', rv, await rv.planWindow(rvStart.to));
await s.stop();
