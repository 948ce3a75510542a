/**
 * Running a chunked job on a table from the CLI: the job is asked of the table's sync workflow with the
 * `requestJob` signal (the sync workflow is the only writer of the table's manifest sequence, so it runs the
 * job as a child at its next window boundary); then the job's own workflow is awaited and its result printed.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { WorkflowFailedError, WorkflowNotFoundError, type Client, type WorkflowHandle } from '@temporalio/client';
import type { JobOutput, JobSpec } from '../../domain/jobs.js';
import type { TableConfig, TidemarkConfig } from '../../config/types.js';
import type { TableSyncStatus } from '../../state/table-sync-state.js';
import { EXIT, type CliIo } from '../command.js';
import type { OperatorTemporal } from './operator-context.js';
import { tableRef } from '../../config/tables.js';
import { Progress, progressMode, type ProgressOptions } from './progress.js';

/** Why a job's workflow did not finish, from its failure's cause chain (type and message; never row values). */
export async function jobFailureText(err: unknown): Promise<string> {
  const { failureFacts } = await import('../../workflows/failure-facts.js');
  const facts = failureFacts(err instanceof WorkflowFailedError ? err.cause : err);
  if (facts) return `${facts.type}: ${facts.message}`;
  return err instanceof Error ? err.message : String(err);
}

/**
 * A table's sync workflow as the operator verbs see it: `running` (with its status when a worker answered),
 * `closed` (FAILED, TERMINATED, … — it needs `tidemark start`) or `missing` (never started).
 */
export type SyncState =
  { kind: 'running'; status: TableSyncStatus | undefined } | { kind: 'closed'; closedAs: string } | { kind: 'missing' };

/** Describes a table's sync workflow and, when it runs, asks its status (waiting at most `queryMs` for a worker). */
export async function syncState(client: Client, tableId: string, queryMs = 10_000): Promise<SyncState> {
  const { statusQuery } = await import('../../workflows/messages.js');
  const { tableSyncWorkflowId } = await import('../../workflows/table-sync.js');
  const handle = client.workflow.getHandle(tableSyncWorkflowId(tableId));
  let closedAs: string;
  try {
    closedAs = (await handle.describe()).status.name;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return { kind: 'missing' };
    throw err;
  }
  if (closedAs !== 'RUNNING') return { kind: 'closed', closedAs };
  try {
    return {
      kind: 'running',
      status: await client.withDeadline(Date.now() + queryMs, () => handle.query(statusQuery)),
    };
  } catch {
    return { kind: 'running', status: undefined }; // no worker answered in time
  }
}

/** What to tell the operator about a sync workflow that is not running. */
export function notRunningText(tableId: string, state: Exclude<SyncState, { kind: 'running' }>): string {
  const what =
    state.kind === 'missing' ? 'has never been started' : `is not running (it ended ${state.closedAs.toLowerCase()})`;
  return `${tableId}: its sync workflow ${what}; start it with: tidemark start --table ${tableId}`;
}

/** What a job verb (backfill, reconcile, sweep) needs of its operator context (see operator-verb.ts). */
export interface JobVerbContext {
  readonly io: CliIo;
  readonly config: TidemarkConfig;
  readonly values: { readonly json?: boolean | undefined };
  readonly temporal: () => Promise<OperatorTemporal>;
}

/** A job verb's common part: run `job` on `table` through its sync and print the result. */
export async function runJobVerb(ctx: JobVerbContext, table: TableConfig, job: JobSpec): Promise<number> {
  const { client } = await ctx.temporal();
  return runJobOnTable(client, ctx.io, tableRef(ctx.config, table).id, job, { json: ctx.values.json === true });
}

/** How often the CLI polls a job's progress query. */
const POLL_MS = 1000;

const jobDisplay = (io: CliIo, label: string, json: boolean | undefined): ProgressOptions => ({
  stream: io.stderr,
  label,
  unit: 'chunks',
  mode: progressMode(io.stderr, { json, env: io.env }),
});

/** Shows a job workflow's progress query (chunks, rows read) on `progress` once; quiet when it cannot answer. */
async function showJobProgress(handle: WorkflowHandle, progress: Progress): Promise<void> {
  const { jobProgressQuery } = await import('../../workflows/messages.js');
  try {
    const p = await handle.query(jobProgressQuery);
    progress.update({
      done: p.chunksDone,
      total: p.chunks,
      rows: p.sourceRowsRead,
      ...(p.chunks === null ? { phase: 'planning chunks' } : {}),
    });
  } catch {
    // A worker without the progress query, or the job just closed: its result tells the rest.
  }
}

/** Follows a running job workflow's progress until it ends; resolves to its result. */
export async function followJob(handle: WorkflowHandle, progress: Progress): Promise<JobOutput> {
  let polling = false;
  const poll = () => {
    if (polling) return;
    polling = true;
    void showJobProgress(handle, progress).finally(() => {
      polling = false;
    });
  };
  poll();
  const timer = setInterval(poll, POLL_MS);
  try {
    return (await handle.result()) as JobOutput;
  } finally {
    clearInterval(timer);
  }
}

/**
 * Waits until a requested job's workflow exists. While it does not, the sync may have refused the request, or be
 * stopped or paused (it runs jobs only when running): says so. Undefined once started, else the exit code.
 */
async function awaitJobStart(
  client: Client,
  io: CliIo,
  handle: WorkflowHandle,
  request: { tableId: string; job: JobSpec; id: string; deadline: number },
): Promise<number | undefined> {
  const { tableId, job, id } = request;
  let toldStopped = false;
  for (;;) {
    try {
      await handle.describe();
      return undefined;
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
    }
    const state = await syncState(client, tableId, 5000);
    if (state.kind !== 'running') {
      io.stderr.write(`${notRunningText(tableId, state)}\n`);
      return EXIT.attention;
    }
    const record = state.status?.jobs.find((j) => j.id === id);
    if (record?.state === 'failed') {
      io.stderr.write(`${tableId}: ${job.kind} refused — ${record.reason ?? 'no reason recorded'}\n`);
      return EXIT.failure;
    }
    const mode = state.status?.mode;
    if ((mode === 'stopped' || mode === 'paused') && !toldStopped) {
      toldStopped = true;
      io.stderr.write(
        `${tableId}: the table is ${mode}${state.status?.stoppedReason ? ` — ${state.status.stoppedReason}` : ''}; ` +
          `the ${job.kind} runs once it is resumed (tidemark resume --table ${tableId})\n`,
      );
    }
    if (Date.now() > request.deadline) {
      io.stderr.write(`${tableId}: the ${job.kind} did not start in time\n`);
      return EXIT.attention;
    }
    await new Promise((r) => setTimeout(r, 2000));
  }
}

/** Asks a table's sync for `job`, waits for the job's workflow to start and end, and prints its result. */
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
  try {
    await client.workflow.getHandle(tableSyncWorkflowId(tableId)).signal(requestJobSignal, { id, job });
  } catch (err) {
    if (!(err instanceof WorkflowNotFoundError)) throw err;
    const state = await syncState(client, tableId);
    if (state.kind === 'running') throw err;
    io.stderr.write(`${notRunningText(tableId, state)}\n`);
    return EXIT.attention;
  }
  const workflowId = jobWorkflowId(tableId, job.kind, id);
  io.stderr.write(
    `${tableId}: ${job.kind} requested (job workflow ${workflowId}); waiting for the table's next window boundary …\n`,
  );
  const started = Date.now();
  const handle = client.workflow.getHandle(workflowId);
  const notStarted = await awaitJobStart(client, io, handle, {
    tableId,
    job,
    id,
    deadline: started + (options.timeoutMs ?? 6 * 3600_000),
  });
  if (notStarted !== undefined) return notStarted;
  const progress = new Progress(jobDisplay(io, `${tableId} ${job.kind}`, options.json));
  let result: JobOutput;
  try {
    result = await followJob(handle, progress);
    // The result is the final word (a short job can end before its progress query was ever answered).
    progress.update({ done: result.chunks, total: result.chunks, rows: result.sourceRowsRead });
    progress.finish('done');
  } catch (err) {
    progress.finish('failed');
    io.stderr.write(
      `${tableId}: ${job.kind} failed — ${await jobFailureText(err)}. The table goes on syncing; ` +
        `tidemark status --table ${tableId} --json lists the job with its reason.\n`,
    );
    return EXIT.failure;
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

/**
 * `start --wait`: waits until a table's initial load has committed (its sync has a watermark), showing the
 * snapshot job's progress. EXIT.ok when loaded, EXIT.attention when the table stopped or is not running.
 */
export async function waitForInitialLoad(
  client: Client,
  io: CliIo,
  tableId: string,
  options: { json?: boolean; taskQueue: string },
): Promise<number> {
  const { jobWorkflowId } = await import('../../workflows/chunked-jobs.js');
  const progress = new Progress(jobDisplay(io, `${tableId} initial load`, options.json));
  const started = Date.now();
  let hinted = false;
  for (;;) {
    // A workflow that ended (FAILED, TERMINATED) still answers queries from its last state: check first.
    const state = await syncState(client, tableId, 5000);
    if (state.kind !== 'running') {
      progress.finish('not running');
      io.stderr.write(`${notRunningText(tableId, state)}\n`);
      return EXIT.attention;
    }
    const s: TableSyncStatus | undefined = state.status;
    if (s?.mode === 'stopped') {
      progress.finish('stopped');
      io.stderr.write(
        `${tableId}: stopped — ${s.stoppedReason ?? 'no reason recorded'}. Fix the cause, then: tidemark resume --table ${tableId}\n`,
      );
      return EXIT.attention;
    }
    if (s && s.position !== null && s.mode !== 'reseeding') {
      progress.finish('loaded');
      return EXIT.ok;
    }
    const job = s?.jobs.find((j) => j.kind === 'snapshot' && j.state === 'running');
    if (job) await showJobProgress(client.workflow.getHandle(jobWorkflowId(tableId, 'snapshot', job.id)), progress);
    else progress.update({ phase: s ? 'starting' : 'waiting for a worker' });
    if (!s && !hinted && Date.now() - started > 30_000) {
      hinted = true;
      progress.note(
        `${tableId}: no worker has answered for 30s — is one running on task queue ${options.taskQueue}? (npm run worker -- --config FILE)`,
      );
    }
    await sleep(POLL_MS);
  }
}
