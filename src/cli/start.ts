/**
 * `tidemark start [--table NAME] [--wait] [--json] [--config FILE]`: starts the table-sync workflow of every
 * configured table (or one). A table whose workflow already runs is left alone; a table started again resumes
 * from the lake. With `--wait`, waits until each table's initial load has committed, with a progress bar on
 * stderr (exit 3 when a table stopped instead).
 */
import { EXIT, type CliCommand } from './command.js';
import { runOperatorVerb } from './support/operator-verb.js';
import { tableRef } from '../config/tables.js';

export const command: CliCommand = {
  summary: 'start syncing every configured table (or one); tables already running are left alone',
  usage: 'tidemark start [--table SCHEMA.TABLE] [--wait] [--json] [--config FILE]',
  run: (args, io) =>
    runOperatorVerb(
      args,
      io,
      { flags: { wait: { type: 'boolean' }, json: { type: 'boolean' } }, audit: 'start' },
      async (ctx) => {
        const { config, tables, values } = ctx;
        const { tableSyncWorkflow, tableSyncWorkflowId } = await import('../workflows/table-sync.js');
        const { TABLE_KEY, STRATEGY_KEY, STATE_KEY } = await import('../workflows/search-attributes.js');
        const { client } = await ctx.temporal();
        for (const table of tables) {
          const ref = tableRef(config, table);
          const workflowId = tableSyncWorkflowId(ref.id);
          // Asked first only to say so: USE_EXISTING below is what leaves a running table alone, whatever races.
          const runningRun = await client.workflow
            .getHandle(workflowId)
            .describe()
            .then(
              (d) => (d.status.name === 'RUNNING' ? d.runId : undefined),
              () => undefined,
            );
          const handle = await client.workflow.start(tableSyncWorkflow, {
            taskQueue: config.temporal.taskQueue,
            workflowId,
            workflowIdConflictPolicy: 'USE_EXISTING',
            args: [
              {
                table: ref,
                cadenceSeconds: Math.round(table.cadence.ms / 1000),
                idleCommitSeconds: Math.round(table.idleCommitInterval.ms / 1000),
              },
            ],
            typedSearchAttributes: [
              { key: TABLE_KEY, value: ref.id },
              { key: STRATEGY_KEY, value: ref.strategy },
              { key: STATE_KEY, value: 'running' },
            ],
            memo: { table: ref.id, strategy: ref.strategy, cadence: table.cadence.text },
          });
          const runId = handle.firstExecutionRunId;
          const alreadyRunning = runningRun === runId;
          io.stdout.write(
            values.json
              ? `${JSON.stringify({ table: ref.id, workflowId, runId, ...(alreadyRunning ? { alreadyRunning } : {}) })}\n`
              : alreadyRunning
                ? `${ref.id}: already running (${workflowId}, run ${runId}); left alone — tidemark status --table ${ref.id} shows how it is doing\n`
                : `${ref.id}: ${workflowId} (run ${runId})\n`,
          );
        }
        if (!values.wait) return EXIT.ok;
        const { waitForInitialLoad } = await import('./support/job.js');
        let exit: number = EXIT.ok;
        for (const table of tables) {
          const code = await waitForInitialLoad(client, io, tableRef(config, table).id, {
            json: values.json === true,
            taskQueue: config.temporal.taskQueue,
          });
          if (code !== EXIT.ok) exit = code;
        }
        return exit;
      },
    ),
};
