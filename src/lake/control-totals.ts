/**
 * Control totals: the manifest's completeness receipt (rows, rows per operation), and their flat string form for
 * Temporal payloads between the validate and commit steps.
 */
import type { OpCounts } from '../domain/staged.js';
import { CHANGE_OPS, type ChangeOp } from '../domain/values.js';

/** Control totals as a manifest records them. */
export interface ControlTotals {
  readonly rows: number;
  readonly rowsByOp: OpCounts;
  /**
   * Column sums (exact decimal text). Written empty: no configuration ever selected a column, and the sum of a
   * one-row window would be that row's value. Kept so the manifest format stays `tidemark.manifest/1`.
   */
  readonly sums: Readonly<Record<string, string | null>>;
}

/** No event of any operation. */
export const zeroOpCounts = (): Record<ChangeOp, number> => ({ c: 0, u: 0, d: 0, r: 0 });

/** The flat form (`rows`, `op.<op>`, `sum.<column>`; a NULL sum is left out). */
export function encodeControlTotals(t: ControlTotals): Record<string, string> {
  const out: Record<string, string> = { rows: String(t.rows) };
  for (const op of CHANGE_OPS) out[`op.${op}`] = String(t.rowsByOp[op]);
  for (const [k, v] of Object.entries(t.sums)) if (v !== null) out[`sum.${k}`] = v;
  return out;
}

/** Inverse of {@link encodeControlTotals}. */
export function decodeControlTotals(t: Readonly<Record<string, string>>): ControlTotals {
  const rowsByOp = zeroOpCounts();
  for (const op of CHANGE_OPS) rowsByOp[op] = Number(t[`op.${op}`] ?? 0);
  const sums: Record<string, string | null> = {};
  for (const [k, v] of Object.entries(t)) if (k.startsWith('sum.')) sums[k.slice(4)] = v;
  return { rows: Number(t.rows ?? 0), rowsByOp, sums };
}
