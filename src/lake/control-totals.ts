/**
 * Control totals: the manifest's data-quality receipt (rows, rows per operation, sums of configured columns, what
 * validate checked and what the source said), and their flat string form for Temporal payloads between the
 * validate and commit steps.
 */
import type { OpCounts } from '../domain/staged.js';
import { CHANGE_OPS, type ChangeOp } from '../domain/values.js';

/** Control totals as a manifest records them. */
export interface ControlTotals {
  readonly rows: number;
  readonly rowsByOp: OpCounts;
  /**
   * Sums (exact decimal text) of the table's `quality.controlTotals` columns over the window's `c`, `u` and `r`
   * events; NULL when no event carried a value. Empty when no column is configured.
   */
  readonly sums: Readonly<Record<string, string | null>>;
  /** What validate checked (absent in manifests written before the receipt existed). */
  readonly receipt?: DataQualityReceipt;
}

/** A window's data-quality receipt: every check validate ran, with its result (a failure is never committed). */
export interface DataQualityReceipt {
  /** Events with a NULL key column (must be 0). */
  readonly nullKeys: number;
  /** (key, position) pairs occurring more than once in the window (must be 0). */
  readonly duplicateKeyPositions: number;
  /**
   * For a sampled window (`quality.sourceCheckEvery`), the same totals computed at the source for the same bounds
   * agreed; `sourceRowsRead` is what that cost at the source. Absent: not sampled.
   */
  readonly source?: { readonly agreed: true; readonly sourceRowsRead: number };
}

/** No event of any operation. */
export const zeroOpCounts = (): Record<ChangeOp, number> => ({ c: 0, u: 0, d: 0, r: 0 });

/** The flat form (`rows`, `op.<op>`, `sum.<column>` (`NULL` for a NULL sum), `dq.*` for the receipt). */
export function encodeControlTotals(t: ControlTotals): Record<string, string> {
  const out: Record<string, string> = { rows: String(t.rows) };
  for (const op of CHANGE_OPS) out[`op.${op}`] = String(t.rowsByOp[op]);
  for (const [k, v] of Object.entries(t.sums)) out[`sum.${k}`] = v ?? 'NULL';
  if (t.receipt) {
    out['dq.null_keys'] = String(t.receipt.nullKeys);
    out['dq.duplicate_key_positions'] = String(t.receipt.duplicateKeyPositions);
    if (t.receipt.source) out['dq.source_rows_read'] = String(t.receipt.source.sourceRowsRead);
  }
  return out;
}

/** Inverse of {@link encodeControlTotals}. */
export function decodeControlTotals(t: Readonly<Record<string, string>>): ControlTotals {
  const rowsByOp = zeroOpCounts();
  for (const op of CHANGE_OPS) rowsByOp[op] = Number(t[`op.${op}`] ?? 0);
  const sums: Record<string, string | null> = {};
  for (const [k, v] of Object.entries(t)) if (k.startsWith('sum.')) sums[k.slice(4)] = v === 'NULL' ? null : v;
  const receipt: DataQualityReceipt | undefined =
    t['dq.null_keys'] === undefined
      ? undefined
      : {
          nullKeys: Number(t['dq.null_keys']),
          duplicateKeyPositions: Number(t['dq.duplicate_key_positions'] ?? 0),
          ...(t['dq.source_rows_read'] !== undefined
            ? { source: { agreed: true as const, sourceRowsRead: Number(t['dq.source_rows_read']) } }
            : {}),
        };
  return { rows: Number(t.rows ?? 0), rowsByOp, sums, ...(receipt ? { receipt } : {}) };
}
