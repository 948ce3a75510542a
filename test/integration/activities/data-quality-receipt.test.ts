/**
 * The data-quality receipt (issue 16): each committed window's manifest records counts by op, the validate
 * checks (no NULL key, no duplicate (key, position)) and the sums of the configured control-total columns; a
 * sampled CDC window is totalled again at the source for the same bounds, and a difference stops the window with
 * a non-retryable DataQualityError naming the column. Real activities against the simulator and Azurite.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildDependencies, createActivities, type ActivityDeps } from '../../../src/activities/index.js';
import type { TableRef } from '../../../src/domain/table.js';
import { tableContext } from '../../../src/capture/table-context.js';
import { committedSequences, readManifest } from '../../../src/lake/manifest.js';
import { createLogger } from '../../../src/util/logger.js';
import { azuriteForTests } from '../../support/stack.js';
import { runJob } from '../../support/activity-sync.js';
import type { Activities } from '../../../src/activities/index.js';
import { pipelineConfig, startClaimsSource, type ClaimsSource } from '../../../scripts/demo/harness.js';

const LEDGER: TableRef = { id: 'Claims.dbo.Ledger', strategy: 'cdc' };
let source: ClaimsSource;
let deps: ActivityDeps;

before(async () => {
  source = await startClaimsSource({
    cdcPollMs: 100,
    workload: { rate: 0, longTransactionMs: 50, addColumnAt: [], widenAt: 1_000_000 },
  });
  await source.admin.request().batch(`
    CREATE TABLE dbo.Ledger (id int NOT NULL PRIMARY KEY, amount decimal(10,2) NULL, units int NULL);
    INSERT INTO dbo.Ledger VALUES (1, 10.50, 1), (2, 20.25, 2);
    EXEC sys.sp_cdc_enable_table @source_schema = N'dbo', @source_name = N'Ledger', @role_name = NULL;`);
  const { config } = pipelineConfig({
    sourcePort: source.sim.port,
    azuriteConnectionString: await azuriteForTests(),
    temporalAddress: '127.0.0.1:1',
    taskQueue: 'dq',
    container: `dq-${randomBytes(4).toString('hex')}`,
    tables: [
      {
        name: 'dbo.Ledger',
        capture: '{ strategy: cdc }',
        quality: '{ controlTotals: [amount, units], sourceCheckEvery: 1 }',
      },
    ],
  });
  deps = await buildDependencies(config, createLogger({ name: 'test', level: 'warn' }));
});

after(async () => {
  await deps?.close();
  await source?.stop();
});

/** Waits until the capture job has harvested every change (the simulator's job polls every 100 ms). */
const captured = () => sleep(600);

/**
 * Loads the table (snapshot when the lake has none), then commits change windows until the table is caught up:
 * a plan with nothing, or an idle window (the capture job's placeholders move CDC's max LSN all the time, so
 * activity-sync's loop "until planning finds nothing" would never end here).
 */
async function sync(acts: Activities): Promise<void> {
  let mark = await acts.readWatermark({ table: LEDGER });
  if (mark.position === null) {
    await runJob(acts, LEDGER, { kind: 'snapshot', reason: 'test' }, 30);
    mark = await acts.readWatermark({ table: LEDGER });
  }
  for (let seq = mark.lastSeq + 1, position = mark.position; ; seq++) {
    const plan = await acts.planWindow({ table: LEDGER, lastPosition: position, seq });
    if (!plan.window || plan.window.idle) return;
    const extract = await acts.extractWindow({ table: LEDGER, window: plan.window, attempt: 1 });
    const validation = await acts.validateWindow({ table: LEDGER, window: plan.window, extract });
    const c = await acts.commitManifest({ table: LEDGER, window: plan.window, extract, validation });
    position = c.resumePosition ?? plan.window.to;
    await acts.advanceWatermark({ table: LEDGER, seq, position, manifestPath: c.manifestPath });
  }
}

test('a committed window records its receipt: counts by op, checks, control totals agreed with the source', async () => {
  const acts = createActivities(deps);
  await captured();
  await sync(acts);
  await source.admin.request().batch(`
    INSERT INTO dbo.Ledger VALUES (3, 1.05, 3);
    UPDATE dbo.Ledger SET amount = 99.99 WHERE id = 1;
    DELETE FROM dbo.Ledger WHERE id = 2;`);
  await captured();
  await sync(acts);
  const ctx = await tableContext(deps, LEDGER);
  const seqs = await committedSequences(ctx.lake);
  const manifests = await Promise.all(seqs.map((s) => readManifest(ctx.lake, s)));
  const window = manifests.find((m) => m && m.window.chunk === undefined && m.controlTotals.rows === 3);
  assert.ok(window, `a change window with the 3 changes: ${JSON.stringify(manifests.map((m) => m?.controlTotals))}`);
  // c: 1.05 / 3; u: 99.99 / 1; the delete carries no value into the totals.
  assert.deepEqual(window.controlTotals, {
    rows: 3,
    rowsByOp: { c: 1, u: 1, d: 1, r: 0 },
    sums: { amount: '101.04', units: '4' },
    receipt: { nullKeys: 0, duplicateKeyPositions: 0, source: { agreed: true, sourceRowsRead: 3 } },
  });
});

test('a control total that differs at the source stops the window with a DataQualityError', async () => {
  const acts = createActivities(deps);
  await source.admin.request().batch(`UPDATE dbo.Ledger SET units = 7 WHERE id = 3;`);
  await captured();
  const ctx = await tableContext(deps, LEDGER);
  const mark = await acts.readWatermark({ table: LEDGER });
  const plan = await acts.planWindow({ table: LEDGER, lastPosition: mark.position, seq: mark.lastSeq + 1 });
  assert.ok(plan.window && !plan.window.idle, 'a window with the update');
  const extract = await acts.extractWindow({ table: LEDGER, window: plan.window, attempt: 1 });
  // The source's change rows for the same bounds no longer say what was read (here: an operator edits the change
  // table; in life, a read that lost or altered rows on the way).
  await source.admin.request().batch(`UPDATE cdc.dbo_Ledger_CT SET units = 8 WHERE id = 3 AND __$operation = 4;`);
  await assert.rejects(acts.validateWindow({ table: LEDGER, window: plan.window, extract }), (err: Error) => {
    assert.equal((err as { type?: string }).type, 'DataQualityError');
    assert.equal((err as { nonRetryable?: boolean }).nonRetryable, true);
    assert.match(err.message, /sum of units: lake 7, source 8/);
    return true;
  });
  assert.equal((await committedSequences(ctx.lake)).length, mark.lastSeq, 'nothing committed');
});

test("events outside the window's bounds stop the window with a DataQualityError (position_bounds), before any source check", async () => {
  const acts = createActivities(deps);
  await source.admin.request().batch(`INSERT INTO dbo.Ledger VALUES (4, 4.00, 4);`);
  await source.admin.request().batch(`INSERT INTO dbo.Ledger VALUES (5, 5.00, 5);`);
  await captured();
  const ctx = await tableContext(deps, LEDGER);
  const mark = await acts.readWatermark({ table: LEDGER });
  const plan = await acts.planWindow({ table: LEDGER, lastPosition: mark.position, seq: mark.lastSeq + 1 });
  assert.ok(plan.window && !plan.window.idle, 'a window with the inserts');
  const extract = await acts.extractWindow({ table: LEDGER, window: plan.window, attempt: 1 });
  assert.ok(extract.minPosition !== null && extract.maxPosition !== null && extract.minPosition < extract.maxPosition);
  // A read that returned events the window did not plan: here the bounds are moved under the staged events (in
  // life, a strategy or source bug that reads past `to` or re-reads below `from`).
  const outside = [
    {
      window: { ...plan.window, to: extract.minPosition },
      problem: /highest event position .* is above the window's end/,
    },
    {
      window: { ...plan.window, from: extract.maxPosition },
      problem: /lowest event position .* is not above the window's start/,
    },
  ];
  for (const { window, problem } of outside)
    await assert.rejects(acts.validateWindow({ table: LEDGER, window, extract }), (err: Error) => {
      assert.equal((err as { type?: string }).type, 'DataQualityError');
      assert.equal((err as { nonRetryable?: boolean }).nonRetryable, true);
      assert.match(err.message, /events lie outside the window's bounds/);
      assert.match(err.message, problem);
      return true;
    });
  assert.equal((await committedSequences(ctx.lake)).length, mark.lastSeq, 'nothing committed');
});

test("the receipt's cost at the source: a checked window's change rows read again, no row of the table itself", async () => {
  const acts = createActivities(deps);
  const ctx = await tableContext(deps, LEDGER);
  // Start from where the lake stands (the previous test left a window staged but not committed: read it again).
  await source.admin.request().batch(`INSERT INTO dbo.Ledger VALUES (6, 6.00, 6), (7, 7.00, 7);`);
  // The window of the previous test carried a change-table row an operator edited: agree with the source again.
  await source.admin.request().batch(`UPDATE cdc.dbo_Ledger_CT SET units = 7 WHERE id = 3 AND __$operation = 4;`);
  await captured();
  const mark = await acts.readWatermark({ table: LEDGER });
  const plan = await acts.planWindow({ table: LEDGER, lastPosition: mark.position, seq: mark.lastSeq + 1 });
  assert.ok(plan.window && !plan.window.idle, 'a window with the inserts');
  const extract = await acts.extractWindow({ table: LEDGER, window: plan.window, attempt: 1 });
  const stats = () => source.sim.engine.admin.statementStats();
  const since = Math.max(0, ...stats().map((s) => s.statementId));
  const validation = await acts.validateWindow({ table: LEDGER, window: plan.window, extract });
  // What the check read, by the simulator's rows-read accounting: change rows (the CDC change function), rows of
  // the table itself, and the statements (catalog lookups read system views only).
  const read = { changeRows: 0, tableRows: 0, statements: 0 };
  for (const st of stats()) {
    if (st.statementId <= since || !/^\s*SELECT/i.test(st.text)) continue;
    read.statements++;
    for (const a of st.accesses) {
      if (/^fn_cdc_get_(all|net)_changes_/i.test(a.table)) read.changeRows += a.rowsRead;
      if (/^ledger$/i.test(a.table)) read.tableRows += a.rowsRead;
    }
  }
  assert.ok(extract.rows > 0);
  assert.equal(validation.sourceRowsRead, extract.rows, 'the receipt reports what it read: one row per event');
  assert.equal(read.tableRows, 0, 'no row of the table itself');
  assert.ok(read.changeRows <= 2 * extract.rows, `${JSON.stringify(read)} for ${extract.rows} events`);
  process.stdout.write(`# receipt source check: ${JSON.stringify(read)} for a window of ${extract.rows} events\n`);
  await acts.commitManifest({ table: LEDGER, window: plan.window, extract, validation });
  assert.equal((await committedSequences(ctx.lake)).length, mark.lastSeq + 1);
});
