/**
 * `tidemark status [--table NAME] [--json]`: each table's state, last committed window, lag and rows/s, from
 * its workflow's `status` query; its freshness bound and last data-quality result, from the lake's manifests; its
 * retention horizon, from the source's catalog (support/status-details.ts). Exit 0 when every table runs; 3 when
 * one is stopped, paused, not started, or could not answer (no worker).
 *
 * The query needs a worker. When none polls the task queue (or none answers within {@link QUERY_TIMEOUT_MS}),
 * status says so on stderr, names the task queue, namespace and how to start one, and still shows what Temporal
 * records without a worker: the workflow's execution status and its `TidemarkState` search attribute.
 */
import type { WorkflowExecutionDescription } from '@temporalio/client';
import { EXIT, type CliCommand } from './command.js';
import {
  isUnansweredQuery,
  noWorkerMessage,
  workflowPollers,
  type OperatorTemporal,
} from './support/operator-context.js';
import { runOperatorVerb } from './support/operator-verb.js';
import {
  lakeFacts,
  lastDataQuality,
  retentionHorizon,
  sourceRetention,
  type StatusDataQuality,
  type StatusFreshness,
  type StatusRetentionHorizon,
} from './support/status-details.js';
import type { TableConfig, TidemarkConfig } from '../config/types.js';
import { tableRef } from '../config/tables.js';
import type { TableSyncStatus } from '../state/table-sync-state.js';
import type { STATE_KEY as STATE_KEY_TYPE } from '../workflows/search-attributes.js';

/** How long status waits for a worker to answer one table's query. */
export const QUERY_TIMEOUT_MS = 10_000;

export interface TableStatusRow {
  table: string;
  strategy: string;
  /** The table's mode (from the query), else the workflow's execution status, else `not started`. */
  state: string;
  /** The workflow's answer to the status query; null when not running or no worker answered. */
  status: TableSyncStatus | null;
  /** Why `status` is missing for a running workflow (no worker answered), when it is. */
  note?: string;
  /** Upper bound of the newest window's freshness (source commit → manifest), from the manifests; null: unknown. */
  freshness?: StatusFreshness | null;
  /** Hours until CDC cleanup / Change Tracking retention overtakes the committed position. */
  retentionHorizon?: StatusRetentionHorizon;
  /** The last data-quality result: the newest manifest's receipt, or the DataQualityError the table stopped on. */
  dataQuality?: StatusDataQuality;
}

const seconds = (s: number | null | undefined): string => (s === null || s === undefined ? '-' : `${s}s`);

/**
 * What the NOTE column says: why the table stopped, why it is paused, why nothing answered, the last error, or
 * that an idle table is caught up beyond its committed position.
 */
export function statusNote(r: TableStatusRow): string {
  if (r.note) return r.note;
  const s = r.status;
  if (!s) return '';
  if (s.stoppedReason) return s.stoppedReason;
  if (s.mode === 'paused') return `paused: ${s.pauseReason ?? '(no reason given)'}`;
  if (s.pauseReason) return `pause requested: ${s.pauseReason}`;
  if (s.lastError) return s.lastError;
  // An idle table: current up to there; its empty windows commit only every idleCommitInterval.
  if (s.caughtUpTo) return `idle: no change up to ${s.caughtUpTo}`;
  return '';
}

/** `≤42s (upper bound)` (the window it is of: `--json`), or `-`. */
function freshnessCell(f: StatusFreshness | null | undefined): string {
  return f ? `≤${f.seconds}s (upper bound)` : '-';
}

/** `71.9h of 72h`, `unknown`, or `-` for a strategy without a retention. */
export function retentionCell(r: StatusRetentionHorizon | undefined): string {
  if (!r || r.by === null) return '-';
  return r.hours === null ? 'unknown' : `${r.hours.toFixed(1)}h of ${r.retentionHours}h`;
}

/**
 * `#7 passed, source agreed` (passed: every check of the receipt, whose counts `--json` shows), `FAILED: …`, …
 */
export function dataQualityCell(q: StatusDataQuality | undefined): string {
  if (!q) return '-';
  if (q.result === 'failed') return 'FAILED: the table stopped (NOTE says why)';
  if (q.result === 'unknown') return 'unknown';
  if (q.result === 'no receipt') return q.window === undefined ? '-' : `#${q.window} no receipt`;
  return `#${q.window} passed, ${q.source === 'agreed' ? 'source agreed' : 'source not sampled'}`;
}

/**
 * The second line of a table: freshness, retention horizon, last data quality. A line of its own keeps the first
 * line's columns (which scripts and tests read) and both lines within 120 columns.
 */
function detailLine(r: TableStatusRow): string {
  return `  freshness ${freshnessCell(r.freshness)} · retention horizon ${retentionCell(r.retentionHorizon)} · data quality ${dataQualityCell(r.dataQuality)}`;
}

export function renderStatusTable(rows: readonly TableStatusRow[]): string {
  const header = [
    'TABLE',
    'STRATEGY',
    'STATE',
    'LAST WINDOW',
    'POSITION',
    'LAG',
    'CAPTURE LAG',
    'ROWS/S',
    'ROWS',
    'NOTE',
  ];
  const body = rows.map((r) => [
    r.table,
    r.strategy,
    r.state,
    r.status?.lastCommitted
      ? `#${r.status.lastCommitted.seq} ${r.status.lastCommitted.committedAt.slice(0, 19)}Z`
      : '-',
    r.status?.position ?? '-',
    seconds(r.status?.lagSeconds),
    seconds(r.status?.captureLatencySeconds),
    r.status?.rowsPerSecond === null || r.status?.rowsPerSecond === undefined ? '-' : String(r.status.rowsPerSecond),
    r.status ? String(r.status.rowsCommitted) : '-',
    statusNote(r),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => (row[i] ?? '').length)));
  const line = (row: string[]) =>
    row
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  const details = rows.map((r) =>
    r.freshness === undefined && r.retentionHorizon === undefined ? [] : [detailLine(r)],
  );
  return [line(header), ...body.flatMap((row, i) => [line(row), ...(details[i] ?? [])])].join('\n') + '\n';
}

/** The state Temporal records without a worker: TidemarkState while running, else the execution status. */
function recordedState(description: WorkflowExecutionDescription, key: typeof STATE_KEY_TYPE): string {
  const recorded = description.status.name === 'RUNNING' ? description.typedSearchAttributes.get(key) : undefined;
  return typeof recorded === 'string' ? recorded : description.status.name.toLowerCase();
}

/** Each table's row: its answer to the status query, else what Temporal records of its workflow without a worker. */
async function statusRows(
  config: TidemarkConfig,
  tables: readonly TableConfig[],
  temporal: OperatorTemporal,
): Promise<{ rows: TableStatusRow[]; unanswered: boolean }> {
  const { statusQuery } = await import('../workflows/messages.js');
  const { tableSyncWorkflowId } = await import('../workflows/table-sync.js');
  const { STATE_KEY } = await import('../workflows/search-attributes.js');
  const { client, connection } = temporal;
  const rows: TableStatusRow[] = [];
  let unanswered = false;
  // No poller at all: do not wait for queries nobody can answer.
  let workerMayAnswer = (await workflowPollers(temporal, config.temporal.taskQueue)) !== 0;
  for (const table of tables) {
    const ref = tableRef(config, table);
    const handle = client.workflow.getHandle(tableSyncWorkflowId(ref.id));
    let description: WorkflowExecutionDescription;
    try {
      description = await handle.describe();
    } catch (err) {
      if ((err as Error).name !== 'WorkflowNotFoundError') throw err;
      rows.push({ table: ref.id, strategy: ref.strategy, state: 'not started', status: null });
      continue;
    }
    if (description.status.name !== 'RUNNING') {
      rows.push({
        table: ref.id,
        strategy: ref.strategy,
        state: recordedState(description, STATE_KEY),
        status: null,
      });
      continue;
    }
    if (workerMayAnswer) {
      try {
        const status = await connection.withDeadline(Date.now() + QUERY_TIMEOUT_MS, () => handle.query(statusQuery));
        rows.push({ table: ref.id, strategy: ref.strategy, state: status.mode, status });
        continue;
      } catch (err) {
        if (!isUnansweredQuery(err)) throw err;
        workerMayAnswer = false; // one unanswered query is enough: the other tables share the task queue
      }
    }
    unanswered = true;
    rows.push({
      table: ref.id,
      strategy: ref.strategy,
      state: recordedState(description, STATE_KEY),
      status: null,
      note: `no worker answered; state as recorded in TidemarkState`,
    });
  }
  return { rows, unanswered };
}

/** Each row's freshness, retention horizon and last data-quality result (lake and source read in parallel). */
async function addDetails(config: TidemarkConfig, tables: readonly TableConfig[], rows: TableStatusRow[]) {
  const refs = tables.map((t) => tableRef(config, t));
  const [retention, lakes] = await Promise.all([
    sourceRetention(config, refs),
    Promise.all(tables.map((t) => lakeFacts(config, t))),
  ]);
  const now = Date.now();
  rows.forEach((row, i) => {
    const lake = lakes[i]!;
    const ref = refs[i]!;
    row.freshness = lake.freshness;
    row.retentionHorizon = retentionHorizon(ref.strategy, retention, row.status, lake, now);
    row.dataQuality = lastDataQuality(row.status, lake);
  });
}

export const command: CliCommand = {
  summary:
    'show each table: state, last committed window, lag, rows/s, freshness, retention horizon, last data quality (exit 3 if one needs attention)',
  usage: 'tidemark status [--table SCHEMA.TABLE] [--json] [--config FILE]',
  run: (args, io) =>
    runOperatorVerb(args, io, { flags: { json: { type: 'boolean' } } }, async (ctx) => {
      const temporal = await ctx.temporal();
      const { rows, unanswered } = await statusRows(ctx.config, ctx.tables, temporal);
      await addDetails(ctx.config, ctx.tables, rows);
      if (unanswered)
        io.stderr.write(
          `tidemark: ${noWorkerMessage(temporal.target, ctx.config.temporal.taskQueue, ctx.configFile)}\n`,
        );
      io.stdout.write(ctx.values.json ? `${JSON.stringify(rows, null, 2)}\n` : renderStatusTable(rows));
      const allRunning = rows.every((r) => r.status !== null && (r.state === 'running' || r.state === 'reseeding'));
      return allRunning ? EXIT.ok : EXIT.attention;
    }),
};
