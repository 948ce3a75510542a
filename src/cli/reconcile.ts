/**
 * `tidemark reconcile --table NAME [--json]`: delete reconciliation for a table whose capture cannot see deletes
 * (rowversion, updated_at, identity): per key-range chunk, the source's key set against the lake's latest state
 * → `d` tombstones for keys gone from the source, as a job of the table's sync workflow; waits for it and prints
 * its result. Exit codes: 0 done, 1 the job failed, 2 wrong input (nothing started), 3 the job did not start.
 */
import { EXIT, type CliCommand } from './command.js';
import { runJobVerb } from './support/job.js';
import { runOperatorVerb } from './support/operator-verb.js';

export const command: CliCommand = {
  summary: 'delete reconciliation of a table (key-set diff → tombstones) as a job of its sync; waits for it',
  usage: 'tidemark reconcile --table SCHEMA.TABLE [--json] [--config FILE]',
  run: (args, io) =>
    runOperatorVerb(
      args,
      io,
      { flags: { json: { type: 'boolean' } }, requireTable: true, audit: 'reconcile' },
      async (ctx) => {
        const [table] = ctx.tables;
        if (!table) return EXIT.invalidInput;
        if (table.capture.strategy === 'cdc' || table.capture.strategy === 'change_tracking') {
          io.stderr.write(
            `${table.name}: ${table.capture.strategy} capture sees deletes, so there is nothing to reconcile (reconcile is for rowversion, updated_at and identity tables)\n`,
          );
          return EXIT.invalidInput;
        }
        return runJobVerb(ctx, table, { kind: 'reconcile' });
      },
    ),
};
