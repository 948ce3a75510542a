/** `tidemark resume [--table NAME]`: resumes paused tables, or a stopped one once its cause is fixed. */
import { EXIT, type CliCommand } from './command.js';
import { parseFlags } from './support/flags.js';
import { loadOperatorConfig, selectTables, tableRef, temporalClient } from './support/operator-context.js';

export const command: CliCommand = {
  summary: 'resume paused tables, or a stopped table after its cause was fixed',
  usage: 'tidemark resume [--table SCHEMA.TABLE] [--config FILE]',
  async run(args, io) {
    const { values } = parseFlags(args, { table: { type: 'string' }, config: { type: 'string' } });
    const config = await loadOperatorConfig(io, values.config);
    if (typeof config === 'number') return config;
    const { resumeSignal } = await import('../workflows/messages.js');
    const { tableSyncWorkflowId } = await import('../workflows/table-sync.js');
    const { client, close } = await temporalClient(config);
    try {
      for (const table of selectTables(config, values.table)) {
        const id = tableRef(config, table).id;
        await client.workflow.getHandle(tableSyncWorkflowId(id)).signal(resumeSignal);
        io.stdout.write(`${id}: resume requested\n`);
      }
    } finally {
      await close();
    }
    return EXIT.ok;
  },
};
