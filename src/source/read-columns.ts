/**
 * The source columns Tidemark reads for a table: every non-computed column except those a PHI `drop` rule names,
 * which are never selected (and, where the strategy allows, never granted: grants.ts). A dropped column stays
 * read only where the read needs it — a key column (the PHI rules refuse dropping one anyway), the strategy's
 * position column (rowversion, updated_at, identity), the table's identity and rowversion columns, and the
 * backfill's business date column — and is then dropped before anything is staged (capture/phi-plan.ts).
 */
import type { TableConfig } from '../config/types.js';
import type { TableDiscovery } from './discovery.js';

const lower = (s: string) => s.toLowerCase();

/** Lower-cased names of the dropped columns the read still needs (see the module comment). */
function neededEvenIfDropped(config: TableConfig, d: TableDiscovery): Set<string> {
  const c = config.capture;
  return new Set(
    [
      ...(config.key ?? d.key),
      ...d.key,
      ...('column' in c ? [c.column] : []),
      ...(d.identityColumn ? [d.identityColumn] : []),
      ...(d.rowversionColumn ? [d.rowversionColumn] : []),
      ...(config.businessDateColumn ? [config.businessDateColumn] : []),
    ].map(lower),
  );
}

/** Lower-cased names of the columns a PHI `drop` rule of `config` names and the read need not select. */
export function unreadColumns(config: TableConfig, d: TableDiscovery): Set<string> {
  const needed = neededEvenIfDropped(config, d);
  return new Set(
    config.phi
      .filter((r) => r.action === 'drop')
      .flatMap((r) => r.columns.map(lower))
      .filter((c) => !needed.has(c)),
  );
}

/** `d` without the columns the read need not select: what every strategy of the table reads. */
export function readableDiscovery(d: TableDiscovery, config: TableConfig): TableDiscovery {
  const unread = unreadColumns(config, d);
  if (unread.size === 0) return d;
  return { ...d, columns: d.columns.filter((c) => !unread.has(lower(c.name))) };
}
