/**
 * `tidemark sweep --table SCHEMA.TABLE [--days 30] [--config FILE]`: the nightly late-update sweep of a table (per-chunk checksums, re-extract differing chunks).
 *
 * Not available yet: the job's workflow exists (src/workflows/chunked-jobs.ts) but the sweep chunk activity
 * is not implemented, so the verb says so and exits 2 instead of asking a table for a job it would fail (a
 * failed job stops the table until an operator resumes it). Once the activity exists this verb is
 * `runJobOnTable(client, io, id, { kind: 'sweep'… })` like `backfill`.
 */
import { EXIT, type CliCommand } from './command.js';

export const command: CliCommand = {
  summary:
    'the nightly late-update sweep of a table (per-chunk checksums, re-extract differing chunks) — not implemented yet',
  usage: 'tidemark sweep --table SCHEMA.TABLE [--days 30] [--config FILE]',
  run(_args, io) {
    io.stderr.write(
      'tidemark sweep: not implemented yet — the sweep chunk activity does not exist (see README, "What is not done")\n',
    );
    return Promise.resolve(EXIT.invalidInput);
  },
};
