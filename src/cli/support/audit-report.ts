/** `tidemark audit`'s table: the ledger's entries joined into one row per action. */
import type { OperatorAuditEntry } from '../../lake/operator-audit.js';

/** One action as `tidemark audit` shows it. */
export interface AuditActionRow {
  readonly requestedAt: string;
  readonly action: string;
  /** ok / attention / failed; `no outcome recorded` when the process ended before writing one; `observed`. */
  readonly outcome: string;
  readonly who: string;
  readonly tables: string;
  readonly details: string;
}

function whoOf(entry: OperatorAuditEntry): string {
  const entra = entry.who.entra;
  const principal = entra?.name ?? entra?.appId ?? entra?.objectId;
  return `${entry.who.osUser}@${entry.who.host}${principal ? ` (${principal})` : ''}`;
}

/** The entries (oldest first) as one row per action. */
export function actionRows(entries: readonly OperatorAuditEntry[]): AuditActionRow[] {
  const outcomes = new Map(entries.filter((e) => e.phase === 'outcome').map((e) => [e.id, e]));
  return entries
    .filter((e) => e.phase !== 'outcome')
    .map((e) => {
      const done = outcomes.get(e.id)?.outcome;
      const flags = Object.entries(e.what).map(([k, v]) => `${k}=${String(v)}`);
      const details =
        e.phase === 'observed'
          ? `changed: ${(e.changed ?? []).join(', ')} (${e.config?.file ?? ''})`
          : [...flags, ...(done?.error ? [`error: ${done.error}`] : [])].join(' ');
      return {
        requestedAt: e.requestedAt,
        action: e.action,
        outcome:
          e.phase === 'observed' ? 'observed' : done ? `${done.status} (exit ${done.exitCode})` : 'no outcome recorded',
        who: whoOf(e),
        tables: e.tables.join(', '),
        details,
      };
    });
}

/** The rows as a text table with a header; a line saying so when there are none. */
export function formatActions(rows: readonly AuditActionRow[]): string {
  if (rows.length === 0) return 'no operator actions recorded\n';
  const header: AuditActionRow = {
    requestedAt: 'WHEN',
    action: 'ACTION',
    outcome: 'OUTCOME',
    who: 'WHO',
    tables: 'TABLES',
    details: 'DETAILS',
  };
  const all = [header, ...rows];
  const keys = ['requestedAt', 'action', 'outcome', 'who', 'tables'] as const;
  const widths = keys.map((k) => Math.max(...all.map((r) => r[k].length)));
  return all
    .map((r) => [...keys.map((k, i) => r[k].padEnd(widths[i] ?? 0)), r.details].join('  ').trimEnd())
    .join('\n')
    .concat('\n');
}
