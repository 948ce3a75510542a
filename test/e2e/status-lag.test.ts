/**
 * `tidemark status` shows a stalled CDC capture job as growing lag (issue 12, item 5), on the real stack
 * (simulator → worker in this process → Temporal dev server → Azurite). Before, lag compared the table's
 * position with the capture job's max LSN only: with the job stuck, the table looked caught up (lag 0).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { TableStatusRow } from '../../src/cli/status.js';
import { syncNowSignal } from '../../src/workflows/messages.js';
import { tableSyncWorkflowId } from '../../src/workflows/table-sync.js';
import { runTidemark } from './support/pipeline-helpers.js';
import { startPipelineWorker, type PipelineWorker } from './support/pipeline-worker.js';
import { CLAIMS_PIPELINE_TABLES, startClaimsSource, type ClaimsSource } from '../../scripts/demo/harness.js';

const TABLE = 'Claims.dbo.Claims';
/** How long the capture job stays stopped (real seconds). */
const STALL_SECONDS = 8;
let source: ClaimsSource;
let p: PipelineWorker;

before(async () => {
  source = await startClaimsSource({
    cdcPollMs: 500,
    workload: { rate: 0, longTransactionMs: 200, addColumnAt: [], widenAt: 1_000_000 },
  });
  await source.workload.run({ operations: 50 });
  await source.workload.drain();
  p = await startPipelineWorker(source, 'status-lag', [CLAIMS_PIPELINE_TABLES.cdc!]);
});

after(async () => {
  await p?.client.workflow
    .getHandle(tableSyncWorkflowId(TABLE))
    .terminate('test done')
    .catch(() => undefined);
  await p?.close();
  await source?.stop();
});

async function tidemark(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const r = await runTidemark(p.configFile, p.dir, args, {
    ...process.env,
    ...p.env,
    TIDEMARK_PROGRESS: 'off',
  });
  return { code: r.code, stdout: r.out, stderr: r.err };
}

/** Plans the table's next window now (sync-now) until its status satisfies `check`; returns that status. */
async function planUntil(check: (row: TableStatusRow) => boolean, what: string): Promise<TableStatusRow> {
  const deadline = Date.now() + 60_000;
  let last: TableStatusRow | undefined;
  for (;;) {
    await p.client.workflow.getHandle(tableSyncWorkflowId(TABLE)).signal(syncNowSignal);
    await sleep(1000);
    const r = await tidemark('status', '--json');
    last = (JSON.parse(r.stdout) as TableStatusRow[])[0];
    if (last && check(last)) return last;
    if (Date.now() > deadline) assert.fail(`${what}: last status ${JSON.stringify(last?.status)}`);
  }
}

test('status: lag and capture lag grow while the capture job is stalled, and fall once it runs again', async () => {
  const started = await tidemark('start', '--wait');
  assert.equal(started.code, 0, started.stderr);
  const running = await planUntil(
    (r) => r.status?.captureLatencySeconds !== null && r.status?.captureLatencySeconds !== undefined,
    'capture latency reported',
  );
  assert.ok(running.status!.captureLatencySeconds! < STALL_SECONDS, 'capture running: small capture lag');

  // The capture job stops (an Agent outage); the application keeps writing.
  await source.admin.request().batch(`EXEC sys.sp_cdc_stop_job @job_type = N'capture'`);
  await source.workload.run({ operations: 20 });
  await source.workload.drain();
  await sleep(STALL_SECONDS * 1000);
  const stalled = await planUntil((r) => (r.status?.lagSeconds ?? 0) >= STALL_SECONDS, 'lag grows during the stall');
  assert.ok(stalled.status!.captureLatencySeconds! >= STALL_SECONDS, 'capture lag grows during the stall');
  assert.equal(stalled.state, 'running');
  const text = await tidemark('status');
  assert.match(text.stdout, /^TABLE\s+STRATEGY\s+STATE\s+LAST WINDOW\s+POSITION\s+LAG\s+CAPTURE LAG/m);
  const lagCells = new RegExp(
    `^${TABLE.replace(/\./g, '\\.')}\\s+cdc\\s+running\\s+\\S+ \\S+\\s+\\S+\\s+(\\d+)s\\s+(\\d+)s`,
    'm',
  ).exec(text.stdout);
  assert.ok(lagCells, text.stdout);
  assert.ok(Number(lagCells[1]) >= STALL_SECONDS && Number(lagCells[2]) >= STALL_SECONDS, text.stdout);

  // The job runs again: the stalled changes land and the lag falls.
  await source.admin.request().batch(`EXEC sys.sp_cdc_start_job @job_type = N'capture'`);
  const recovered = await planUntil(
    (r) =>
      (r.status?.lagSeconds ?? Infinity) < STALL_SECONDS &&
      (r.status?.captureLatencySeconds ?? Infinity) < STALL_SECONDS,
    'lag falls once capture runs again',
  );
  assert.ok(recovered.status!.rowsCommitted > running.status!.rowsCommitted, 'the stalled changes landed');
});
