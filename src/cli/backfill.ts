/**
 * `tidemark backfill --table NAME --from YYYY-MM-DD --to YYYY-MM-DD`: re-extracts the rows whose business date
 * is in [from, to) as `r` events at a recorded position (running it twice cannot change the latest state), as
 * a job of the table's sync workflow; waits for it and prints its result.
 */
import { EXIT, UsageError, type CliCommand } from './command.js';
import { parseFlags } from './support/flags.js';
import { runJobVerb } from './support/job.js';
import { loadOperatorConfig, selectTables } from './support/operator-context.js';

const DATE = /^\d{4}-\d{2}-\d{2}$/;

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
    if (!values.from || !DATE.test(values.from) || !values.to || !DATE.test(values.to))
      throw new UsageError('--from and --to are required, as YYYY-MM-DD');
    if (values.from > values.to) throw new UsageError('--from must not be after --to');
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
