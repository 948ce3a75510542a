/**
 * `tidemark audit [--table T] [--since WHEN] [--json]`: lists the operator audit ledger (src/lake/operator-audit.ts)
 * — one line per action: when it was requested, the action, its outcome, who, the tables, the flags given — oldest
 * first. `--since` takes a date or time (`2026-12-01`, `2026-12-01T08:00Z`) or a duration back from now (`24h`,
 * `7d`). `--json` prints the entries themselves.
 */
import { EXIT, UsageError, type CliCommand } from './command.js';
import { runOperatorVerb } from './support/operator-verb.js';

/** `--since`: a date/time, or a duration before `now`. */
export function parseSince(text: string, now: Date, parseDuration: (t: string) => { ms: number } | undefined): Date {
  const duration = parseDuration(text);
  if (duration !== undefined) return new Date(now.getTime() - duration.ms);
  const at = /^\d{4}-\d{2}-\d{2}/.test(text) ? Date.parse(text) : Number.NaN;
  if (Number.isNaN(at))
    throw new UsageError(
      `--since ${text} is neither a date/time nor a duration: write e.g. --since 2026-12-01, --since 2026-12-01T08:00Z or --since 7d`,
    );
  return new Date(at);
}

export const command: CliCommand = {
  summary: 'list the audit ledger of operator actions (who did what, when, with what outcome)',
  usage: 'tidemark audit [--table SCHEMA.TABLE] [--since DATE|DURATION] [--json] [--config FILE]',
  run: (args, io) =>
    runOperatorVerb(
      args,
      io,
      { flags: { since: { type: 'string' }, json: { type: 'boolean' } } },
      async ({ config, tables, values }) => {
        const { parseDuration } = await import('../config/duration.js');
        const { tableId } = await import('../config/tables.js');
        const { listOperatorAudit } = await import('../lake/operator-audit.js');
        const { openOperatorLedger } = await import('./support/operator-audit.js');
        const { actionRows, formatActions } = await import('./support/audit-report.js');
        const since = values.since === undefined ? undefined : parseSince(values.since, new Date(), parseDuration);
        const [only] = tables;
        const table = values.table !== undefined && only ? tableId(config, only) : undefined;
        const ledger = await openOperatorLedger(config);
        const entries = await listOperatorAudit(ledger.store, ledger.prefix, {
          ...(since ? { since } : {}),
          ...(table ? { table } : {}),
        });
        if (values.json) io.stdout.write(`${JSON.stringify(entries, null, 2)}\n`);
        else io.stdout.write(formatActions(actionRows(entries)));
        return EXIT.ok;
      },
    ),
};
