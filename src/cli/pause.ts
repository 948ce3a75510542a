/**
 * `tidemark pause [--table NAME] [--now] [--reason TEXT]`: pauses tables during an OLTP incident. Without
 * `--now` a table finishes its in-flight window first; with it the window is cancelled (and later retried
 * with the same bounds, so nothing is lost or doubled).
 */
import { EXIT, type CliCommand } from './command.js';
import { parseFlags } from './support/flags.js';
import { loadOperatorConfig, selectTables, temporalClient } from './support/operator-context.js';
import { tableRef } from '../config/tables.js';

export const command: CliCommand = {
  summary: 'pause tables (for an OLTP incident): at the next window boundary, or at once with --now',
  usage: 'tidemark pause [--table SCHEMA.TABLE] [--now] [--reason TEXT] [--config FILE]',
  async run(args, io) {
    const { values } = parseFlags(args, {
      table: { type: 'string' },
      now: { type: 'boolean' },
      reason: { type: 'string' },
      config: { type: 'string' },
    });
    const config = await loadOperatorConfig(io, values.config);
    if (typeof config === 'number') return config;
    const { pauseSignal } = await import('../workflows/messages.js');
    const { tableSyncWorkflowId } = await import('../workflows/table-sync.js');
    const { client, close } = await temporalClient(config);
    try {
      for (const table of selectTables(config, values.table)) {
        const id = tableRef(config, table).id;
        await client.workflow.getHandle(tableSyncWorkflowId(id)).signal(pauseSignal, {
          now: values.now === true,
          ...(values.reason ? { reason: values.reason } : {}),
        });
        io.stdout.write(`${id}: pause requested${values.now ? ' (now)' : ' (at the next window boundary)'}\n`);
      }
    } finally {
      await close();
    }
    return EXIT.ok;
  },
};
