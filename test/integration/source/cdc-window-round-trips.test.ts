/**
 * What one CDC window asks the source besides its changes (issue 14, the burst's per-window fixed cost), counted by
 * the operation names the strategy gives its queries (the simulator does not account an EXEC, so the capture
 * instances' procedure is counted here, at the connection): the plan takes its capture latency and lag from its
 * bounds query, and neither the plan nor the read runs the capture instances' procedure again after the
 * discovery that built the strategy; a window whose plan listed its transactions is read from the first of them,
 * without asking for the LSN after `from`. The events stay those of a read from that LSN, each change in exactly
 * one window, and a retry reads the same.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { discoverTable } from '../../../src/source/discovery.js';
import { CdcStrategy } from '../../../src/source/strategies/cdc.js';
import type { SourceConnection } from '../../../src/source/connection.js';
import type { ChangeRow, SourceWindow } from '../../../src/source/index.js';
import { planWindow, sourceWindowOf, type PlannedWindow } from '../../../src/capture/window.js';
import type { TableContext } from '../../../src/capture/table-context.js';
import type { WindowPlan } from '../../../src/domain/window.js';
import { cdcTableWithoutJob, startSourceSim, type SourceSim } from '../../support/source-sim.js';

const TABLE = 'round_trips';
let s: SourceSim;
let conn: SourceConnection;

before(async () => {
  s = await startSourceSim();
  await cdcTableWithoutJob(s, TABLE);
  conn = await s.connect({ poolMax: 1 });
});
after(() => s?.stop());

async function write(batch: string): Promise<void> {
  await s.admin.request().batch(batch);
  await s.admin.request().batch('EXEC sys.sp_cdc_scan @maxtrans = 5000, @maxscans = 10, @continuous = 0');
}

/** The connection with every query's operation name recorded in `ops` (the read's stream too goes through it). */
function counting(ops: string[]): SourceConnection {
  const spy = Object.create(conn) as SourceConnection;
  spy.query = ((op: string, ...rest: unknown[]) => {
    ops.push(op);
    return (conn.query as (...a: unknown[]) => unknown).call(spy, op, ...rest);
  }) as SourceConnection['query'];
  return spy;
}

/** As an activity builds it: fresh discovery, then the strategy — over a connection that counts. */
async function context(ops: string[]): Promise<TableContext> {
  const c = counting(ops);
  const d = await discoverTable(c, 'dbo', TABLE, { strategy: 'cdc' });
  return {
    ref: { id: `Claims.dbo.${TABLE}`, strategy: 'cdc' },
    strategy: new CdcStrategy(c, d),
    config: { limits: { subRangeRows: 1000 } },
  } as unknown as TableContext;
}

/** One plan as the planWindow activity runs it, as it reaches the extract (JSON), and the operations it ran. */
async function plan(last: string | null): Promise<{ p: PlannedWindow; w: WindowPlan | null; ops: string[] }> {
  const ops: string[] = [];
  const p = await planWindow(await context(ops), last, 1);
  return { p, w: JSON.parse(JSON.stringify(p.window)) as WindowPlan | null, ops };
}

async function read(window: (ctx: TableContext) => SourceWindow): Promise<{ rows: ChangeRow[]; ops: string[] }> {
  const ops: string[] = [];
  const ctx = await context(ops);
  const rows: ChangeRow[] = [];
  for await (const b of ctx.strategy.readWindow(window(ctx))) rows.push(...b.rows);
  return { rows, ops };
}

const count = (ops: string[], op: string) => ops.filter((o) => o === op).length;
const events = (rows: ChangeRow[]) => rows.map((r) => `${r.op} ${r.pos} ${String(r.commitTs)}`);

test('a CDC window: the plan and the read each run the capture instances procedure once, the plan no lag queries', async () => {
  await write(`INSERT INTO dbo.${TABLE} (id, note) VALUES (1, 'a'), (2, 'b')`);
  const first = await plan(null);
  assert.ok(first.w, 'the first window');

  await write(`INSERT INTO dbo.${TABLE} (id, note) VALUES (3, 'c'); UPDATE dbo.${TABLE} SET note = 'z' WHERE id = 1`);
  await write(`DELETE FROM dbo.${TABLE} WHERE id = 2`);
  const { p, w, ops } = await plan(first.w.to);
  assert.ok(w && !w.idle && !w.subRanges, 'one window, read whole');
  assert.equal(w.transactions?.length, 3, 'its three transactions listed (each statement commits on its own)');
  // Before: the procedure in the discovery and again in the plan; the latency and the lag in queries of their own.
  assert.equal(count(ops, 'discovery.cdc_instances'), 1, ops.join(', '));
  assert.equal(count(ops, 'cdc.capture_latency') + count(ops, 'cdc.lag'), 0, ops.join(', '));
  assert.ok(p.captureLatencySeconds !== undefined && p.captureLatencySeconds !== null, 'capture latency known');
  assert.ok(p.lagSeconds !== null && p.lagSeconds >= 0, `lag ${p.lagSeconds}`);

  const listed = await read((ctx) => sourceWindowOf(ctx, w));
  // Before: the procedure twice, and the LSN after `from` asked of the source.
  assert.equal(count(listed.ops, 'discovery.cdc_instances'), 1, listed.ops.join(', '));
  assert.equal(count(listed.ops, 'cdc.increment'), 0, listed.ops.join(', '));
  assert.deepEqual(
    listed.rows.map((r) => r.op),
    ['c', 'u', 'd'],
  );

  // The same events as a read from the LSN after `from` (no list: it asks for it), and again on a retry.
  const { transactions: _list, ...bare } = w;
  const fromNext = await read((ctx) => sourceWindowOf(ctx, bare));
  assert.equal(count(fromNext.ops, 'cdc.increment'), 1, 'without the list the read asks for the first LSN');
  assert.deepEqual(events(listed.rows), events(fromNext.rows));
  const retry = await read((ctx) => sourceWindowOf(ctx, w));
  assert.deepEqual(events(retry.rows), events(listed.rows));
});

test('consecutive listed windows hold each change exactly once, cut at transaction boundaries', async () => {
  let last = (await plan(null)).w!.to;
  for (let x = await plan(last); x.w && !x.w.idle; x = await plan(last)) last = x.w.to;
  const start = last;
  const seen: ChangeRow[] = [];
  for (let round = 0; round < 3; round++) {
    // Three transactions per window (each statement commits on its own), one of two changes.
    const id = 100 + round * 10;
    await write(`INSERT INTO dbo.${TABLE} (id, note) VALUES (${id}, 'x')`);
    await write(
      `INSERT INTO dbo.${TABLE} (id, note) VALUES (${id + 1}, 'y'), (${id + 2}, 'y'); UPDATE dbo.${TABLE} SET note = 'w' WHERE id = ${id}`,
    );
    const { w } = await plan(last);
    assert.ok(w?.transactions, `window ${round} lists its transactions`);
    const r = await read((ctx) => sourceWindowOf(ctx, w));
    for (const row of r.rows) assert.ok(row.pos > last && row.pos <= w.to, `${row.pos} inside (${last}, ${w.to}]`);
    seen.push(...r.rows);
    last = w.to;
  }
  // Every change since `start`, read as one window from the LSN after it.
  const all = await plan(start);
  assert.ok(all.w);
  const { transactions: _list, ...bare } = all.w;
  const whole = await read((ctx) => sourceWindowOf(ctx, bare));
  assert.equal(whole.rows.length, 3 * 4);
  assert.deepEqual(events(seen), events(whole.rows), 'the windows together: every change once, in order');
});
