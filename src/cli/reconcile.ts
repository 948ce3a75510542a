/**
 * `tidemark reconcile --table SCHEMA.TABLE [--config FILE]`: delete reconciliation of a table (key-set diff → tombstones).
 *
 * Not available yet: the job's workflow exists (src/workflows/chunked-jobs.ts) but the reconcile chunk activity
 * is not implemented, so the verb says so and exits 2 instead of asking a table for a job it would fail (a
 * failed job stops the table until an operator resumes it). Once the activity exists this verb is
 * `runJobOnTable(client, io, id, { kind: 'reconcile'… })` like `backfill`.
 */
import { EXIT, type CliCommand } from './command.js';

export const command: CliCommand = {
  summary: 'delete reconciliation of a table (key-set diff → tombstones) — not implemented yet',
  usage: 'tidemark reconcile --table SCHEMA.TABLE [--config FILE]',
  run(_args, io) {
    io.stderr.write(
      'tidemark reconcile: not implemented yet — the reconcile chunk activity does not exist (see README, "What is not done")\n',
    );
    return Promise.resolve(EXIT.invalidInput);
  },
};
