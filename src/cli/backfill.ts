/**
 * `tidemark backfill --table NAME --from YYYY-MM-DD --to YYYY-MM-DD`: re-extracts the rows whose business date
 * is in [from, to) as `r` events at a recorded position (running it twice cannot change the latest state), as
 * a job of the table's sync workflow; waits for it and prints its result. Wrong arguments (a day that does not
 * exist, from not before to, a table not configured or without businessDateColumn) exit 2 before anything
 * starts; a job that fails exits 1 with its reason, and the table goes on syncing.
 */
import { EXIT, UsageError, type CliCommand } from './command.js';
import { runJobVerb } from './support/job.js';
import { runOperatorVerb } from './support/operator-verb.js';
import { backfillRangeProblem } from '../state/job-spec.js';

export const command: CliCommand = {
  summary: 're-extract a business-date range of a table as a job of its sync (waits and prints the result)',
  usage: 'tidemark backfill --table SCHEMA.TABLE --from YYYY-MM-DD --to YYYY-MM-DD [--json] [--config FILE]',
  run: (args, io) =>
    runOperatorVerb(
      args,
      io,
      {
        flags: { from: { type: 'string' }, to: { type: 'string' }, json: { type: 'boolean' } },
        requireTable: true,
        audit: 'backfill',
        check: (values) => {
          if (!values.from || !values.to) throw new UsageError('--from and --to are required, as YYYY-MM-DD');
          const problem = backfillRangeProblem(values.from, values.to);
          if (problem !== undefined) throw new UsageError(problem);
        },
      },
      async (ctx) => {
        const [table] = ctx.tables;
        const { from, to } = ctx.values;
        if (!table || !from || !to) return EXIT.invalidInput;
        if (!table.businessDateColumn) {
          io.stderr.write(`${table.name} has no businessDateColumn in the config: a backfill needs one\n`);
          return EXIT.invalidInput;
        }
        return runJobVerb(ctx, table, { kind: 'backfill', from, to });
      },
    ),
};
