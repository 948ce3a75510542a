/**
 * Running a chunked job on a table from the CLI: the job is asked of the table's sync workflow with the
 * `requestJob` signal (the sync workflow is the only writer of the table's manifest sequence, so it runs the
 * job as a child at its next window boundary); then the job's own workflow is awaited and its result printed.
 */
import { randomBytes } from 'node:crypto';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { JobOutput, JobSpec } from '../../activities/contracts.js';
import type { TableConfig, TidemarkConfig } from '../../config/types.js';
import { EXIT, type CliIo } from '../command.js';
import { tableRef, temporalClient } from './operator-context.js';

/** A job verb's common part: connect to Temporal, run `job` on `table` through its sync, print, disconnect. */
export async function runJobVerb(
  config: TidemarkConfig,
  io: CliIo,
  table: TableConfig,
  job: JobSpec,
  json: boolean,
): Promise<number> {
  const { client, close } = await temporalClient(config);
  try {
    return await runJobOnTable(client, io, tableRef(config, table).id, job, { json });
  } finally {
    await close();
  }
}

export async function runJobOnTable(
  client: Client,
  io: CliIo,
  tableId: string,
  job: JobSpec,
  options: { json?: boolean; timeoutMs?: number } = {},
): Promise<number> {
  const { requestJobSignal } = await import('../../workflows/messages.js');
  const { tableSyncWorkflowId } = await import('../../workflows/table-sync.js');
  const { jobWorkflowId } = await import('../../workflows/chunked-jobs.js');
  const id = `${new Date().toISOString().replace(/\D/g, '').slice(0, 14)}-${randomBytes(3).toString('hex')}`;
  await client.workflow.getHandle(tableSyncWorkflowId(tableId)).signal(requestJobSignal, { id, job });
  const workflowId = jobWorkflowId(tableId, job.kind, id);
  io.stderr.write(
    `${tableId}: ${job.kind} requested (job workflow ${workflowId}); waiting for the table's next window boundary …\n`,
  );
  const started = Date.now();
  const deadline = started + (options.timeoutMs ?? 6 * 3600_000);
  const handle = client.workflow.getHandle(workflowId);
  for (;;) {
    try {
      await handle.describe();
      break;
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
    }
    if (Date.now() > deadline) {
      io.stderr.write(`${tableId}: the ${job.kind} did not start in time\n`);
      return EXIT.attention;
    }
    await new Promise((r) => setTimeout(r, 2000));
  }
  io.stderr.write(`${tableId}: ${job.kind} running …\n`);
  const ticker = setInterval(() => {
    io.stderr.write(`  … ${Math.round((Date.now() - started) / 1000)}s\n`);
  }, 10_000);
  let result: JobOutput;
  try {
    result = (await handle.result()) as JobOutput;
  } catch (err) {
    io.stderr.write(`${tableId}: ${job.kind} failed: ${err instanceof Error ? err.message : String(err)}\n`);
    return EXIT.failure;
  } finally {
    clearInterval(ticker);
  }
  if (options.json) io.stdout.write(`${JSON.stringify({ table: tableId, job: workflowId, ...result })}\n`);
  else
    io.stdout.write(
      `${tableId}: ${job.kind} done — ${result.chunks} chunks, ${result.windows} windows committed ` +
        `(last sequence ${result.lastSeq}), ${result.rows} rows written, ${result.sourceRowsRead} source rows read, ` +
        (result.chunksCompared !== undefined
          ? `${result.chunksReextracted ?? 0} of ${result.chunksCompared} chunks differed from the lake (re-extracted), `
          : '') +
        `in ${Math.round((Date.now() - started) / 1000)}s\n`,
    );
  return EXIT.ok;
}
