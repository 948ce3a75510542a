/**
 * `tidemark status [--table NAME] [--json]`: each table's state, last committed window, lag and rows/s, from
 * its workflow's `status` query. Exit 0 when every table runs; 3 when one is stopped, paused or not started.
 */
import { EXIT, type CliCommand } from './command.js';
import { parseFlags } from './support/flags.js';
import { loadOperatorConfig, selectTables, tableRef, temporalClient } from './support/operator-context.js';
import type { TableSyncStatus } from '../state/table-sync-state.js';

export interface TableStatusRow {
  table: string;
  strategy: string;
  state: string;
  status: TableSyncStatus | null;
}

export function renderStatusTable(rows: readonly TableStatusRow[]): string {
  const header = ['TABLE', 'STRATEGY', 'STATE', 'LAST WINDOW', 'POSITION', 'LAG', 'ROWS/S', 'ROWS', 'NOTE'];
  const body = rows.map((r) => [
    r.table,
    r.strategy,
    r.state,
    r.status?.lastCommitted
      ? `#${r.status.lastCommitted.seq} ${r.status.lastCommitted.committedAt.slice(0, 19)}Z`
      : '-',
    r.status?.position ?? '-',
    r.status?.lagSeconds === null || r.status?.lagSeconds === undefined ? '-' : `${r.status.lagSeconds}s`,
    r.status?.rowsPerSecond === null || r.status?.rowsPerSecond === undefined ? '-' : String(r.status.rowsPerSecond),
    r.status ? String(r.status.rowsCommitted) : '-',
    r.status?.stoppedReason ?? r.status?.lastError ?? '',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => (row[i] ?? '').length)));
  return (
    [header, ...body]
      .map((row) =>
        row
          .map((cell, i) => cell.padEnd(widths[i] ?? 0))
          .join('  ')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}

export const command: CliCommand = {
  summary: 'show each table: state, last committed window, lag, rows/s (exit 3 if one needs attention)',
  usage: 'tidemark status [--table SCHEMA.TABLE] [--json] [--config FILE]',
  async run(args, io) {
    const { values } = parseFlags(args, {
      table: { type: 'string' },
      json: { type: 'boolean' },
      config: { type: 'string' },
    });
    const config = await loadOperatorConfig(io, values.config);
    if (typeof config === 'number') return config;
    const { statusQuery } = await import('../workflows/messages.js');
    const { tableSyncWorkflowId } = await import('../workflows/table-sync.js');
    const { client, close } = await temporalClient(config);
    const rows: TableStatusRow[] = [];
    try {
      for (const table of selectTables(config, values.table)) {
        const ref = tableRef(config, table);
        const handle = client.workflow.getHandle(tableSyncWorkflowId(ref.id));
        let status: TableSyncStatus | null = null;
        let state = 'not started';
        try {
          const description = await handle.describe();
          if (description.status.name === 'RUNNING') {
            status = await handle.query(statusQuery);
            state = status.mode;
          } else {
            state = description.status.name.toLowerCase();
          }
        } catch (err) {
          if ((err as Error).name !== 'WorkflowNotFoundError') throw err;
        }
        rows.push({ table: ref.id, strategy: ref.strategy, state, status });
      }
    } finally {
      await close();
    }
    io.stdout.write(values.json ? `${JSON.stringify(rows, null, 2)}\n` : renderStatusTable(rows));
    return rows.every((r) => r.state === 'running' || r.state === 'reseeding') ? EXIT.ok : EXIT.attention;
  },
};
