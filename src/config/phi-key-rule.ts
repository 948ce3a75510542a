/**
 * The one rule about PHI actions on key columns, applied by `tidemark config check` (to the configured `key`)
 * and by the worker (to the key it uses: the configured one, else the source's primary key or unique index,
 * which only the worker can see). Before, config check suggested `action: hash` for a PHI key column and the
 * worker then refused it.
 *
 * A key column lands as it is: `drop` and `hash` are refused. Deletes (tombstones) and "last event per key" need
 * the key; the keyset chunks of snapshots, backfills and sweeps bound key ranges with the source's values; and
 * delete reconciliation compares the source's keys with the lake's — a hashed key in the lake would make every
 * row look deleted. `keep` is allowed: it tags the column PHI in the schema document for the lake's access
 * control.
 */
import type { PhiAction, PhiRule } from './types.js';

/** A PHI rule that drops or hashes a key column. */
export interface KeyColumnPhiProblem {
  readonly column: string;
  readonly action: Exclude<PhiAction, 'keep'>;
  /** What is wrong, in one sentence. */
  readonly message: string;
  /** What to do, in one sentence. */
  readonly fix: string;
}

/** The problem of giving key column `column` PHI action `action`, or undefined when the action is allowed. */
export function keyColumnPhiProblem(column: string, action: PhiAction): KeyColumnPhiProblem | undefined {
  if (action === 'keep') return undefined;
  return {
    column,
    action,
    message:
      `${column} is a key column and cannot be ${action === 'drop' ? 'dropped' : 'hashed'}: deletes, ` +
      'de-duplication, keyset chunks and delete reconciliation need the key as the source has it',
    fix:
      `remove ${column} from this PHI rule (a key lands as it is; \`action: keep\` tags it PHI for the lake's ` +
      'access control), or key the table on other columns with `key:`',
  };
}

/** Every rule in `rules` that drops or hashes one of `keyColumns` (case-insensitive, as SQL Server names are). */
export function keyColumnPhiProblems(keyColumns: readonly string[], rules: readonly PhiRule[]): KeyColumnPhiProblem[] {
  const keys = new Set(keyColumns.map((k) => k.toLowerCase()));
  const out: KeyColumnPhiProblem[] = [];
  for (const rule of rules)
    for (const column of rule.columns)
      if (keys.has(column.toLowerCase())) {
        const problem = keyColumnPhiProblem(column, rule.action);
        if (problem) out.push(problem);
      }
  return out;
}
