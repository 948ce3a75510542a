/**
 * `tidemark pause [--table NAME] [--now] [--reason TEXT]`: pauses tables during an OLTP incident. Without
 * `--now` a table finishes its in-flight window first; with it the window is cancelled (and later retried
 * with the same bounds, so nothing is lost or doubled).
 */
import { EXIT, type CliCommand } from './command.js';
import { runOperatorVerb } from './support/operator-verb.js';
import { tableRef } from '../config/tables.js';

export const command: CliCommand = {
  summary: 'pause tables (for an OLTP incident): at the next window boundary, or at once with --now',
  usage: 'tidemark pause [--table SCHEMA.TABLE] [--now] [--reason TEXT] [--config FILE]',
  run: (args, io) =>
    runOperatorVerb(
      args,
      io,
      { flags: { now: { type: 'boolean' }, reason: { type: 'string' } }, audit: 'pause' },
      async ({ config, tables, values, temporal }) => {
        const { pauseSignal } = await import('../workflows/messages.js');
        const { tableSyncWorkflowId } = await import('../workflows/table-sync.js');
        const { client } = await temporal();
        for (const table of tables) {
          const id = tableRef(config, table).id;
          await client.workflow.getHandle(tableSyncWorkflowId(id)).signal(pauseSignal, {
            now: values.now === true,
            ...(values.reason ? { reason: values.reason } : {}),
          });
          io.stdout.write(`${id}: pause requested${values.now ? ' (now)' : ' (at the next window boundary)'}\n`);
        }
        return EXIT.ok;
      },
    ),
};
