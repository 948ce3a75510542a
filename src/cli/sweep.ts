/**
 * `tidemark sweep --table SCHEMA.TABLE [--days 30] [--json] [--config FILE]`: the late-update sweep of a table
 * as a job of its sync workflow: per key-range chunk over the rows that landed in the last `days` days, the
 * source rows are compared with the lake's latest state (checksums over the same canonical encoding); only
 * chunks that differ are re-extracted as `r` events. Waits for the job and prints chunks compared / re-extracted
 * and rows read. Exit codes: 0 done, 1 the job failed, 2 wrong input (nothing started), 3 the job did not start.
 * The nightly schedules (`tidemark schedules`) run it for identity and updated_at tables.
 */
import { EXIT, UsageError, type CliCommand } from './command.js';
import { runJobVerb } from './support/job.js';
import { runOperatorVerb } from './support/operator-verb.js';
import { sweepDaysProblem } from '../state/job-spec.js';

/** The sweep period when `--days` is not given (the design's "last 30 days"). */
export const DEFAULT_SWEEP_DAYS = 30;

const sweepDays = (flag: string | undefined): number => (flag === undefined ? DEFAULT_SWEEP_DAYS : Number(flag));

export const command: CliCommand = {
  summary:
    'late-update sweep of a table (compare chunks of the last N days with the lake, re-extract those that differ); waits for it',
  usage: 'tidemark sweep --table SCHEMA.TABLE [--days 30] [--json] [--config FILE]',
  run: (args, io) =>
    runOperatorVerb(
      args,
      io,
      {
        flags: { days: { type: 'string' }, json: { type: 'boolean' } },
        requireTable: true,
        audit: 'sweep',
        check: (values) => {
          const problem = sweepDaysProblem(values.days?.trim() === '' ? Number.NaN : sweepDays(values.days), 1);
          if (problem !== undefined) throw new UsageError(problem);
        },
      },
      async (ctx) => {
        const [table] = ctx.tables;
        if (!table) return EXIT.invalidInput;
        return runJobVerb(ctx, table, { kind: 'sweep', days: sweepDays(ctx.values.days) });
      },
    ),
};
