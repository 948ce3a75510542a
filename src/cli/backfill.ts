/**
 * `tidemark backfill --table NAME --from YYYY-MM-DD --to YYYY-MM-DD`: re-extracts the rows whose business date
 * is in [from, to) as `r` events at a recorded position (running it twice cannot change the latest state), as
 * a job of the table's sync workflow; waits for it and prints its result. Wrong arguments (a day that does not
 * exist, from not before to, a table not configured or without businessDateColumn) exit 2 before anything
 * starts; a job that fails exits 1 with its reason, and the table goes on syncing.
 */
import { EXIT, UsageError, type CliCommand } from './command.js';
import { parseFlags } from './support/flags.js';
import { runJobVerb } from './support/job.js';
import { loadOperatorConfig, selectTables } from './support/operator-context.js';
import { backfillRangeProblem } from '../state/job-spec.js';

export const command: CliCommand = {
  summary: 're-extract a business-date range of a table as a job of its sync (waits and prints the result)',
  usage: 'tidemark backfill --table SCHEMA.TABLE --from YYYY-MM-DD --to YYYY-MM-DD [--json] [--config FILE]',
  async run(args, io) {
    const { values } = parseFlags(args, {
      table: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      json: { type: 'boolean' },
      config: { type: 'string' },
    });
    if (!values.table) throw new UsageError('--table is required');
    if (!values.from || !values.to) throw new UsageError('--from and --to are required, as YYYY-MM-DD');
    const problem = backfillRangeProblem(values.from, values.to);
    if (problem !== undefined) throw new UsageError(problem);
    const config = await loadOperatorConfig(io, values.config);
    if (typeof config === 'number') return config;
    const [table] = selectTables(config, values.table);
    if (!table) return EXIT.invalidInput;
    if (!table.businessDateColumn) {
      io.stderr.write(`${table.name} has no businessDateColumn in the config: a backfill needs one\n`);
      return EXIT.invalidInput;
    }
    return runJobVerb(config, io, table, { kind: 'backfill', from: values.from, to: values.to }, values.json === true);
  },
};
