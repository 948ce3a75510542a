/**
 * CDC lag must see a stalled capture job (issue 12, item 5). While the capture job runs, an idle database still
 * gets placeholder rows in cdc.lsn_time_mapping (tran_id = 0x00), so the max LSN's time stays fresh and the
 * capture latency stays below the polling interval. When the job stops, the max LSN stops moving: a table that
 * has read up to it looks "caught up", yet every new change waits. The plan's lag must grow with the stall and
 * fall once capture resumes.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { discoverTable } from '../../../src/source/discovery.js';
import { CdcStrategy } from '../../../src/source/strategies/cdc.js';
import type { SourceConnection } from '../../../src/source/connection.js';
import { poll, startSourceSim, type SourceSim } from '../../support/source-sim.js';

/** How long the capture job stays stopped (real seconds: the simulator's clock is the process clock). */
const STALL_SECONDS = 6;

let s: SourceSim;
let conn: SourceConnection;
const exec = (text: string) => s.admin.request().batch(text);

before(async () => {
  // A 1-second polling job, started when the table is enabled (SQL Server Agent's capture job).
  s = await startSourceSim({ cdc: { pollingIntervalMs: 1000 } });
  await exec('EXEC sys.sp_cdc_enable_db');
  conn = await s.connect();
});
after(() => s?.stop());

test('cdc: a stalled capture job shows as growing lag and capture latency; both fall once it runs again', async () => {
  await exec('CREATE TABLE dbo.cdc_stall (id int NOT NULL PRIMARY KEY, v int NULL)');
  await exec(`EXEC sys.sp_cdc_enable_table @source_schema = N'dbo', @source_name = N'cdc_stall', @role_name = NULL`);
  await exec('INSERT INTO dbo.cdc_stall VALUES (1, 1)');
  const st = new CdcStrategy(conn, await discoverTable(conn, 'dbo', 'cdc_stall'));

  // Running job: catch up, then an idle planning sees a fresh max LSN (placeholder rows keep it moving).
  let pos: string | null = null;
  for (let i = 0; i < 20; i++) {
    const w = await poll(st, pos);
    pos = w.position;
    if (w.rows.length > 0) break;
    await sleep(250);
  }
  await sleep(2500); // idle for longer than the polling interval
  const idle = await st.planWindow(pos);
  assert.ok(idle.captureLatencySeconds !== undefined && idle.captureLatencySeconds !== null, 'capture latency known');
  assert.ok(idle.captureLatencySeconds <= 2, `idle but running: capture latency ${idle.captureLatencySeconds}s`);
  if (!idle.empty) pos = (await poll(st, pos)).position;

  // Stalled job: changes are written but not captured; the table has read everything the source shows.
  await exec(`EXEC sys.sp_cdc_stop_job @job_type = N'capture'`);
  await sleep(1100); // a scan that was already running has finished
  pos = (await poll(st, pos)).position;
  await exec('INSERT INTO dbo.cdc_stall VALUES (2, 2); UPDATE dbo.cdc_stall SET v = 3 WHERE id = 1');
  await sleep(STALL_SECONDS * 1000);
  const stalled = await st.planWindow(pos);
  assert.equal(stalled.empty, true, 'nothing new is visible while capture is stopped');
  assert.ok(
    stalled.lagSeconds !== null && stalled.lagSeconds >= STALL_SECONDS,
    `lag during the stall: ${stalled.lagSeconds}s`,
  );
  assert.ok(
    (stalled.captureLatencySeconds ?? 0) >= STALL_SECONDS,
    `capture latency: ${stalled.captureLatencySeconds}s`,
  );

  // Capture runs again: the changes arrive, the lag falls below the stall. (Right after the harvest the newest
  // captured change is a stalled one; the next idle scan's placeholder, a polling interval later, is fresh.)
  await exec(`EXEC sys.sp_cdc_start_job @job_type = N'capture'`);
  await sleep(2500);
  const resumed = await poll(st, pos);
  assert.equal(resumed.rows.length, 2, 'the stalled changes arrive');
  const after = await st.planWindow(resumed.position);
  assert.ok(after.lagSeconds !== null && after.lagSeconds < STALL_SECONDS, `lag once caught up: ${after.lagSeconds}s`);
  assert.ok((after.captureLatencySeconds ?? Infinity) < STALL_SECONDS);
});
