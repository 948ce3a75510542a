/**
 * Every count or cut over a window that a plan or a sub-range split sends is flagged size-dependent
 * (`QueryOptions.sizeDependent`), so the throttle never takes its time — which grows with the window — for the
 * source's health (src/source/throttle.ts). Against the simulator over TCP, for each strategy that splits: CDC,
 * rowversion, Change Tracking and identity. A new count query without the flag fails here: every statement with
 * COUNT_BIG or ROW_NUMBER that the plan and split send must carry it. Identity's split counts nothing: its one key
 * scan (streamed, flagged too) finds the cuts.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { discoverTable } from '../../../src/source/discovery.js';
import { CdcStrategy } from '../../../src/source/strategies/cdc.js';
import { ChangeTrackingStrategy } from '../../../src/source/strategies/change-tracking.js';
import { RowversionStrategy } from '../../../src/source/strategies/rowversion.js';
import { formatIdentityPosition, IdentityStrategy } from '../../../src/source/strategies/identity.js';
import type { CaptureStrategy } from '../../../src/source/index.js';
import type { QueryOptions, SourceConnection } from '../../../src/source/connection.js';
import { planWindow } from '../../../src/capture/window.js';
import type { TableContext } from '../../../src/capture/table-context.js';
import { startSourceSim, type SourceSim } from '../../support/source-sim.js';

const SUB_RANGE_ROWS = 100;
let s: SourceSim;
let conn: SourceConnection;
/** The queries the connection was asked to run, with the flag they carried. */
const sent: { operation: string; text: string; sizeDependent: boolean }[] = [];

before(async () => {
  s = await startSourceSim();
  await s.admin.request().batch(`EXEC sys.sp_cdc_enable_db;
    ALTER DATABASE Claims SET CHANGE_TRACKING = ON (CHANGE_RETENTION = 2 DAYS, AUTO_CLEANUP = ON);
    ALTER DATABASE Claims SET ALLOW_SNAPSHOT_ISOLATION ON;`);
  conn = await s.connect({ poolMax: 2 });
  // Records what each query was sent with, then runs it unchanged (the real driver, the real simulator).
  const query = conn.query.bind(conn);
  conn.query = (operation: string, text: string, params?: never, opts: QueryOptions = {}) => {
    sent.push({ operation, text, sizeDependent: opts.sizeDependent === true });
    return query(operation, text, params, opts);
  };
  const stream = conn.stream.bind(conn);
  conn.stream = (operation: string, text: string, params?: never, opts: QueryOptions = {}) => {
    sent.push({ operation, text, sizeDependent: opts.sizeDependent === true });
    return stream(operation, text, params, opts);
  };
});
after(() => s?.stop());

async function insert(table: string, from: number, n: number): Promise<void> {
  for (let i = 0; i < n; i += 50) {
    const ids = Array.from({ length: Math.min(50, n - i) }, (_v, k) => from + i + k);
    await s.admin
      .request()
      .batch(`INSERT INTO dbo.${table} (id, note) VALUES ${ids.map((id) => `(${id}, 'n')`).join(', ')}`);
  }
}

/**
 * Plans a window of 500 changes after `last` and splits it, as the planWindow activity does; `queries` names the
 * counts and cuts the strategy sends (CDC: the capped count, the window's count and the cuts; rowversion and
 * Change Tracking cut without counting the window).
 */
async function planAndSplit(st: CaptureStrategy, last: string | null, queries: { min: number; what: string }) {
  sent.length = 0;
  const ctx = { strategy: st, config: { limits: { subRangeRows: SUB_RANGE_ROWS } } } as unknown as TableContext;
  const plan = await planWindow(ctx, last, 1);
  assert.ok(plan.window?.subRanges, 'a window above subRangeRows is split');
  const counts = sent.filter((q) => /COUNT_BIG|ROW_NUMBER\s*\(/i.test(q.text));
  assert.ok(counts.length >= queries.min, `${queries.what} ran: ${counts.map((q) => q.operation).join(', ')}`);
  for (const q of counts) assert.ok(q.sizeDependent, `${q.operation} counts over the window: flagged size-dependent`);
  return plan;
}

test('cdc: the plan and split flag every count and cut over the window as size-dependent', async () => {
  await s.admin.request().batch(`CREATE TABLE dbo.sd_cdc (id int NOT NULL PRIMARY KEY, note varchar(20) NULL);
    EXEC sys.sp_cdc_enable_table @source_schema = N'dbo', @source_name = N'sd_cdc', @role_name = NULL;
    EXEC sys.sp_cdc_stop_job @job_type = N'capture';`);
  const st = new CdcStrategy(conn, await discoverTable(conn, 'dbo', 'sd_cdc', { strategy: 'cdc' }));
  await insert('sd_cdc', 1, 500);
  await s.admin.request().batch('EXEC sys.sp_cdc_scan @maxtrans = 5000, @maxscans = 10, @continuous = 0');
  await planAndSplit(st, null, { min: 3, what: 'the capped count, the count and the cuts' });
});

test('rowversion: the plan and split flag every count and cut over the window as size-dependent', async () => {
  await s.admin.request().batch(`CREATE TABLE dbo.sd_rv (id int NOT NULL PRIMARY KEY, note varchar(20) NULL,
      rv rowversion NOT NULL);
    CREATE INDEX ix_sd_rv ON dbo.sd_rv (rv);`);
  const st = new RowversionStrategy(conn, await discoverTable(conn, 'dbo', 'sd_rv', { strategy: 'rowversion' }), 'rv');
  await insert('sd_rv', 1, 10);
  const first = await st.planWindow(null);
  await insert('sd_rv', 100, 500);
  await planAndSplit(st, first.to, { min: 2, what: 'the capped count and the cuts' });
});

test('change tracking: the split flags every count and cut over the window as size-dependent', async () => {
  await s.admin.request().batch(`CREATE TABLE dbo.sd_ct (id int NOT NULL PRIMARY KEY, note varchar(20) NULL);
    ALTER TABLE dbo.sd_ct ENABLE CHANGE_TRACKING;`);
  const st = new ChangeTrackingStrategy(conn, await discoverTable(conn, 'dbo', 'sd_ct'));
  const start = await st.planWindow(null);
  await insert('sd_ct', 1, 500);
  await planAndSplit(st, start.to, { min: 2, what: 'the capped count and the cuts' });
});

test('identity: the split counts nothing — one key scan, flagged size-dependent, finds the cuts', async () => {
  await s.admin.request().batch('CREATE TABLE dbo.sd_id (id int IDENTITY(1,1) PRIMARY KEY, note varchar(20) NULL);');
  for (let i = 0; i < 500; i += 50)
    await s.admin
      .request()
      .batch(`INSERT INTO dbo.sd_id (note) VALUES ${Array.from({ length: 50 }, () => "('n')").join(', ')}`);
  const st = new IdentityStrategy(conn, await discoverTable(conn, 'dbo', 'sd_id'), 'id');
  const plan = await planAndSplit(st, formatIdentityPosition({ highWater: 0n, gaps: [] }), { min: 0, what: '' });
  assert.equal(plan.window?.subRanges?.length, 5, '500 new ids at 100 per sub-range');
  const split = sent.filter((q) => q.operation.startsWith('identity.split'));
  assert.deepEqual(
    split.map((q) => q.operation),
    ['identity.split_cuts'],
    'no capped count and no window count before the key scan',
  );
  assert.ok(split[0]!.sizeDependent, 'the key scan grows with the window: flagged size-dependent');
});
