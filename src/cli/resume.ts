/**
 * `tidemark resume [--table NAME]`: resumes paused tables, or a stopped one once its cause is fixed. Says what
 * each table was (paused, stopped and why, not paused) and, for a table whose sync workflow is not running, how
 * to start it — exit 3 then, as nothing could be resumed.
 */
import { EXIT, type CliCommand } from './command.js';
import { runOperatorVerb } from './support/operator-verb.js';
import { tableRef } from '../config/tables.js';

export const command: CliCommand = {
  summary: 'resume paused tables, or a stopped table after its cause was fixed',
  usage: 'tidemark resume [--table SCHEMA.TABLE] [--config FILE]',
  run: (args, io) =>
    runOperatorVerb(args, io, { flags: {}, audit: 'resume' }, async ({ config, tables, temporal }) => {
      const { resumeSignal } = await import('../workflows/messages.js');
      const { tableSyncWorkflowId } = await import('../workflows/table-sync.js');
      const { notRunningText, syncState } = await import('./support/job.js');
      const { client } = await temporal();
      let exit: number = EXIT.ok;
      for (const table of tables) {
        const id = tableRef(config, table).id;
        const state = await syncState(client, id);
        if (state.kind !== 'running') {
          io.stderr.write(`${notRunningText(id, state)}\n`);
          exit = EXIT.attention;
          continue;
        }
        await client.workflow.getHandle(tableSyncWorkflowId(id)).signal(resumeSignal);
        const s = state.status;
        if (s?.mode === 'stopped')
          io.stdout.write(
            `${id}: resume requested; it was stopped — ${s.stoppedReason ?? 'no reason recorded'}. ` +
              `It retries now; if the cause is still there it stops again with the reason (tidemark status).\n`,
          );
        else if (s && s.mode !== 'paused')
          io.stdout.write(`${id}: resume requested (it was ${s.mode}, not paused or stopped)\n`);
        else io.stdout.write(`${id}: resume requested\n`);
      }
      return exit;
    }),
};
