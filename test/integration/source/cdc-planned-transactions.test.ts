/**
 * A CDC window's plan carries what its read would otherwise ask the source again (issue 14, the burst's window
 * path): when the plan's capped count saw the whole window and it holds at most MAX_PLANNED_TRANSACTIONS
 * transactions, the plan lists them with their commit times, and the read — in another activity, after the plan
 * crossed Temporal as JSON — sends one query of the change function (the read itself) instead of two (the
 * commit-time GROUP BY, then the read). The events are the same as without the list: same positions, same commit
 * times; a retry of the read gives them again. A window of more transactions, or one split into sub-ranges, has
 * no list and maps its commit times as before. Counted by the simulator's own statement accounting.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { discoverTable } from '../../../src/source/discovery.js';
import { CdcStrategy, MAX_PLANNED_TRANSACTIONS } from '../../../src/source/strategies/cdc.js';
import type { SourceConnection } from '../../../src/source/connection.js';
import type { ChangeRow, SourceWindow } from '../../../src/source/index.js';
import { planWindow, sourceWindowOf } from '../../../src/capture/window.js';
import type { TableContext } from '../../../src/capture/table-context.js';
import type { WindowPlan } from '../../../src/domain/window.js';
import { cdcTableWithoutJob, startSourceSim, type SourceSim } from '../../support/source-sim.js';

const SUB_RANGE_ROWS = 1000;
const TABLE = 'planned_tx';
let s: SourceSim;
let conn: SourceConnection;
let spid: number;

before(async () => {
  s = await startSourceSim();
  await cdcTableWithoutJob(s, TABLE);
  conn = await s.connect({ poolMax: 1 });
  spid = Number((await conn.query<{ id: number }>('test.spid', 'SELECT @@SPID AS id'))[0]!.id);
});
after(() => s?.stop());

/** `n` rows from id `from`, `perTx` rows per transaction, then one capture scan. */
async function insert(from: number, n: number, perTx: number): Promise<void> {
  for (let i = 0; i < n; i += perTx) {
    const ids = Array.from({ length: Math.min(perTx, n - i) }, (_v, k) => from + i + k);
    await s.admin
      .request()
      .batch(`INSERT INTO dbo.${TABLE} (id, note) VALUES ${ids.map((id) => `(${id}, 'n')`).join(', ')}`);
  }
  await s.admin.request().batch('EXEC sys.sp_cdc_scan @maxtrans = 5000, @maxscans = 10, @continuous = 0');
}

/** A fresh strategy and context, as each activity builds them (discovery, then the strategy). */
async function context(): Promise<TableContext> {
  const d = await discoverTable(conn, 'dbo', TABLE, { strategy: 'cdc' });
  return {
    ref: { id: `Claims.dbo.${TABLE}`, strategy: 'cdc' },
    strategy: new CdcStrategy(conn, d),
    config: { limits: { subRangeRows: SUB_RANGE_ROWS } },
  } as unknown as TableContext;
}

/** The statements this test's session ran after `fn`, with `fn`'s result. */
async function counted<T>(fn: () => Promise<T>): Promise<{ out: T; texts: string[] }> {
  const mark = async () =>
    Number(
      (await s.admin.request().query<{ m: number | null }>('SELECT MAX(statement_id) AS m FROM sim.statement_stats'))
        .recordset[0]?.m ?? 0,
    );
  const m = await mark();
  const out = await fn();
  const r = await s.admin.request().query<{ sql_text: string }>(
    `SELECT DISTINCT statement_id, sql_text FROM sim.statement_stats
      WHERE session_id = ${spid} AND statement_id > ${m} ORDER BY statement_id`,
  );
  return { out, texts: r.recordset.map((x) => x.sql_text) };
}

const changeFunctionQueries = (texts: string[]) => texts.filter((t) => /fn_cdc_get_all_changes/i.test(t)).length;

/** The plan as it reaches the extract activity: through Temporal's JSON payloads. */
async function plan(last: string | null): Promise<WindowPlan | null> {
  const p = await planWindow(await context(), last, 1);
  return JSON.parse(JSON.stringify(p.window)) as WindowPlan | null;
}

async function read(window: SourceWindow): Promise<{ rows: ChangeRow[]; texts: string[] }> {
  const ctx = await context();
  const { out, texts } = await counted(async () => {
    const rows: ChangeRow[] = [];
    for await (const b of ctx.strategy.readWindow(window)) rows.push(...b.rows);
    return rows;
  });
  return { rows: out, texts };
}

const events = (rows: ChangeRow[]) => rows.map((r) => `${r.op} ${r.pos} ${String(r.commitTs)}`);

test('a window of few transactions: the plan lists their commit times; the read sends one query of the change function', async () => {
  await insert(1, 10, 10);
  const first = await plan(null);
  assert.ok(first, 'the first window');

  await insert(100, 30, 10);
  const w = await plan(first.to);
  assert.ok(w && !w.idle && !w.subRanges, 'the 30 changes make one window, read whole');
  // Before: no list (the read mapped the commit times itself).
  assert.equal(w.transactions?.length, 3, 'three transactions listed');
  // The plan's count reaches the read too: the staging sizes its segments by it (capture/segment-size.ts).
  assert.equal(w.rows, 30, 'the window counted');
  assert.ok(
    w.transactions.every((t) => t.commitNs !== null),
    'each with its commit time',
  );

  const ctx = await context();
  const withList = await read(sourceWindowOf(ctx, w));
  // Before: two — the commit-time GROUP BY, then the read.
  assert.equal(changeFunctionQueries(withList.texts), 1, `statements: ${withList.texts.join(' | ')}`);
  assert.equal(withList.rows.length, 30);

  // The same events as a read that maps its commit times itself, and again on a retry of the read.
  const { transactions: _list, ...bare } = w;
  const mapped = await read(sourceWindowOf(ctx, bare));
  assert.equal(changeFunctionQueries(mapped.texts), 2, 'without the list: the commit-time query and the read');
  assert.deepEqual(events(withList.rows), events(mapped.rows));
  const planned = new Map(w.transactions.map((t) => [t.at, t.commitNs]));
  for (const r of withList.rows) assert.equal(String(r.commitTs), planned.get(r.pos.slice(0, 20)), r.pos);
  const retry = await read(sourceWindowOf(ctx, w));
  assert.deepEqual(events(retry.rows), events(withList.rows));
});

test('a window of more transactions, or one split into sub-ranges, has no list and maps its commit times', async () => {
  const base = await plan(null);
  assert.ok(base);
  let last = base.to;
  // Drain what the first test left.
  for (let w = await plan(last); w && !w.idle; w = await plan(last)) last = w.to;

  await insert(10_000, MAX_PLANNED_TRANSACTIONS + 1, 1);
  const many = await plan(last);
  assert.ok(many && !many.subRanges, 'one window, read whole');
  assert.equal(many.transactions, undefined, `more than ${MAX_PLANNED_TRANSACTIONS} transactions: no list`);
  assert.equal(many.rows, MAX_PLANNED_TRANSACTIONS + 1, 'counted all the same');
  const r = await read(sourceWindowOf(await context(), many));
  assert.equal(changeFunctionQueries(r.texts), 2, 'the commit-time query and the read');
  assert.equal(new Set(r.rows.map((x) => x.pos.slice(0, 20))).size, MAX_PLANNED_TRANSACTIONS + 1);
  assert.ok(r.rows.every((x) => x.commitTs !== null));

  // Three transactions of 600 changes (above subRangeRows together): split at a transaction end, no list.
  await insert(20_000, 3 * 600, 600);
  const split = await plan(many.to);
  assert.ok(split?.subRanges && split.subRanges.length >= 2, 'split into sub-ranges');
  assert.equal(split.transactions, undefined, 'a split window has no list');
  assert.equal(split.rows, undefined, 'nor a count: each sub-range reads a part of it');
  for (const sr of split.subRanges) assert.match(sr.to, /f{20}$/, 'each sub-range ends at a transaction end');
});

test('a read that meets a transaction its plan did not list fails, and reads nothing past it', async () => {
  const base = await plan(null);
  assert.ok(base);
  let last = base.to;
  for (let w = await plan(last); w && !w.idle; w = await plan(last)) last = w.to;
  await insert(50_000, 20, 10);
  const w = await plan(last);
  assert.equal(w?.transactions?.length, 2);
  const partial = sourceWindowOf(await context(), { ...w, transactions: w.transactions.slice(0, 1) });
  // Before: the read took no list, and the second transaction's events would have carried no commit time.
  await assert.rejects(read(partial), /not among the 1 its plan listed/);
});
