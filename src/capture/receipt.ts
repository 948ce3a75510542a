/**
 * The data-quality receipt's window checks: the events' lowest and highest positions lie inside the window's
 * bounds ({@link checkPositionBounds}, every change window, no source read); and its source side: for a sampled window, the same control totals computed at the source
 * for the same bounds — rows per operation and the sums of the configured columns — by reading the window again
 * through the table's strategy, and compared with what the lake validated. A difference is a
 * {@link DataQualityError}: non-retryable, so the table stops with the reason (and the data-quality alert fires).
 *
 * Only CDC windows are compared: a CDC change table is immutable for a range of LSNs, so a second read of the
 * same bounds must give the same events. The other strategies read the current row, which may have changed since
 * the window read it (a later re-read would report a difference that is not one).
 */
import { lakePosition } from '../domain/positions.js';
import type { OpCounts } from '../domain/staged.js';
import { DecimalSum } from '../domain/decimal-sum.js';
import type { WindowPlan } from '../domain/window.js';
import type { ControlTotals } from '../lake/control-totals.js';
import { zeroOpCounts } from '../lake/control-totals.js';
import type { TableContext, TableLakeContext } from './table-context.js';

/** What the source says about a window's bounds. */
export interface SourceReceipt {
  readonly rowsByOp: OpCounts;
  readonly sums: Readonly<Record<string, string | null>>;
  /** Rows the source returned for the check (its cost). */
  readonly rowsRead: number;
}

/** The receipt checks a {@link DataQualityError} can fail (the `check` label of the data-quality metrics). */
export type ReceiptCheck = 'control_totals' | 'position_bounds';

/**
 * A window's receipt failed a check: its totals differ from the source's for the same bounds
 * (`control_totals`), or its events lie outside the window's bounds (`position_bounds`). Stops the table.
 */
export class DataQualityError extends Error {
  override readonly name = 'DataQualityError';
  readonly retryable = false;
  constructor(
    readonly table: string,
    readonly sequence: number,
    readonly problems: readonly string[],
    readonly check: ReceiptCheck = 'control_totals',
  ) {
    super(
      `Window ${sequence} of ${table}: ${
        check === 'control_totals'
          ? 'the data-quality receipt differs from the source for the same bounds'
          : "events lie outside the window's bounds (the read returned changes the window did not plan)"
      }: ${problems.join('; ')}. The window is not committed and the table stops; see docs/runbooks/TidemarkDataQualityFailed.md`,
    );
  }
}

/**
 * The position key a strategy's events and bounds compare by (src/source/positions.ts): updated_at compares the
 * 20-digit ticks (an event's `_pos` adds a content hash, a bound does not); identity the 20-digit high-water id
 * (a bound adds `~` and its open gaps); the others the whole lake position.
 */
function positionKey(strategy: string, position: string): string {
  if (strategy === 'identity') return lakePosition(position.split('~')[0]!);
  const p = lakePosition(position);
  return strategy === 'updated_at' ? p.slice(0, 20) : p;
}

/**
 * Where the window's events lie against its bounds (empty: inside). A change window holds events in
 * `(from, to]`: its lowest position above `from` (identity: not checked — its read also fills the gaps left open
 * below `from`), its highest at or below `to`. Job chunks are read at the job's position, and their rows are not
 * ordered by it (a snapshot row keeps its own rowversion), so only change windows are checked.
 */
export function positionBoundsProblems(
  strategy: string,
  window: Pick<WindowPlan, 'kind' | 'from' | 'to'>,
  staged: { readonly minPosition: string | null; readonly maxPosition: string | null },
): string[] {
  if (window.kind !== 'changes' || staged.minPosition === null || staged.maxPosition === null) return [];
  const problems: string[] = [];
  const min = positionKey(strategy, staged.minPosition);
  const max = positionKey(strategy, staged.maxPosition);
  if (window.from !== null && strategy !== 'identity' && min <= positionKey(strategy, window.from))
    problems.push(`lowest event position ${staged.minPosition} is not above the window's start ${window.from}`);
  if (max > positionKey(strategy, window.to))
    problems.push(`highest event position ${staged.maxPosition} is above the window's end ${window.to}`);
  return problems;
}

/** Throws a {@link DataQualityError} (`position_bounds`) when the window's events lie outside its bounds. */
export function checkPositionBounds(
  ctx: TableLakeContext,
  window: WindowPlan,
  staged: { readonly minPosition: string | null; readonly maxPosition: string | null },
): void {
  const problems = positionBoundsProblems(ctx.ref.strategy, window, staged);
  if (problems.length) throw new DataQualityError(ctx.ref.id, window.seq, problems, 'position_bounds');
}

/** Whether window `seq` of a table is compared at the source (every `every`-th CDC change window). */
export function sourceCheckDue(ctx: TableLakeContext, window: WindowPlan): boolean {
  const every = ctx.config.quality?.sourceCheckEvery ?? 0;
  return every > 0 && ctx.ref.strategy === 'cdc' && window.kind === 'changes' && window.seq % every === 0;
}

/** Reads the window's bounds again and totals them (counts per op; sums over `c`, `u`, `r`). */
export async function sourceReceipt(ctx: TableContext, window: WindowPlan): Promise<SourceReceipt> {
  const columns = ctx.config.quality?.controlTotals ?? [];
  const rowsByOp = zeroOpCounts();
  const acc = new Map(columns.map((c) => [c, new DecimalSum()]));
  let rowsRead = 0;
  const batches = ctx.strategy.readWindow({
    strategy: ctx.ref.strategy,
    from: window.from,
    to: window.to,
    empty: false,
    lagSeconds: null,
  });
  // Values as the lake holds them (the same projection and PHI plan as the read): exact decimals, integers.
  const schema = await ctx.schemaFor(ctx.strategy.columns);
  const index = columns.map((c) => schema.columns.findIndex((b) => b.name.toLowerCase() === c.toLowerCase()));
  for await (const batch of batches) {
    const project = ctx.projector(batch.columns, schema);
    for (const row of batch.rows) {
      rowsRead++;
      rowsByOp[row.op]++;
      if (row.op === 'd') continue;
      const values = project(row.values);
      columns.forEach((c, i) => acc.get(c)!.add(index[i]! >= 0 ? (values[index[i]!] ?? null) : null));
    }
  }
  const sums: Record<string, string | null> = {};
  for (const [c, s] of acc) sums[c] = s.text();
  return { rowsByOp, sums, rowsRead };
}

/** The differences between the lake's totals and the source's (empty: they agree). */
export function receiptProblems(lake: ControlTotals, source: SourceReceipt): string[] {
  const problems: string[] = [];
  for (const op of ['c', 'u', 'd', 'r'] as const)
    if (lake.rowsByOp[op] !== source.rowsByOp[op])
      problems.push(`op ${op}: lake ${lake.rowsByOp[op]} events, source ${source.rowsByOp[op]}`);
  for (const [column, sum] of Object.entries(source.sums))
    if ((lake.sums[column] ?? null) !== sum)
      problems.push(`sum of ${column}: lake ${lake.sums[column] ?? 'NULL'}, source ${sum ?? 'NULL'}`);
  return problems;
}

/**
 * For a window due a source check ({@link sourceCheckDue}), compares the lake's totals with the source's for the
 * same bounds: throws {@link DataQualityError} on a difference, else returns the totals with the source's
 * agreement in the receipt and what the check read. A window not due is returned as it is.
 */
export async function checkAtSource(
  ctx: TableContext,
  window: WindowPlan,
  totals: ControlTotals,
): Promise<{ controlTotals: ControlTotals; sourceRowsRead?: number }> {
  if (!sourceCheckDue(ctx, window)) return { controlTotals: totals };
  const atSource = await sourceReceipt(ctx, window);
  const problems = receiptProblems(totals, atSource);
  if (problems.length) throw new DataQualityError(ctx.ref.id, window.seq, problems);
  const receipt = {
    nullKeys: totals.receipt?.nullKeys ?? 0,
    duplicateKeyPositions: totals.receipt?.duplicateKeyPositions ?? 0,
    source: { agreed: true as const, sourceRowsRead: atSource.rowsRead },
  };
  return { controlTotals: { ...totals, receipt }, sourceRowsRead: atSource.rowsRead };
}
