/**
 * Cutting a window's sortable position range into sub-ranges by a capped count (issue 14): the planning queries
 * rowversion, Change Tracking, updated_at and identity share (CDC cuts at transaction ends instead: cdc.ts).
 *
 * The queries on the range, each with a bounded result:
 * 1. a count of at most `rowsPerSubRange + 1` rows (a small window stops here; a plan that ran this very count
 *    passes it as `probed` instead);
 * 2. the position of every `rowsPerSubRange`-th row in position order (`planRangeCuts`: rowversion, Change
 *    Tracking, updated_at), thinned to at most `maxSubRanges` sub-ranges (`thinCuts`) — without counting the
 *    window first. Identity's split reads its cuts in its own key scan (identity.ts), thinned the same way.
 *
 * A cut is a value of the position, and a sub-range (a, b] holds every row whose position is above `a` and at or
 * below `b`: rows sharing a position value (a transaction's version, equal timestamps) always land in the same
 * sub-range, however many there are. The operation names end in `split_probe` and `split_cuts`;
 * their time grows with the window, so every strategy's `SplitQuery` sends them with `QueryOptions.sizeDependent`
 * and the throttle does not take them for latency samples (throttle.ts).
 */
/** Runs one of the split's queries (with the range's parameters, in the caller's transaction and timeout). */
export type SplitQuery = <T extends Record<string, unknown>>(operation: string, text: string) => Promise<T[]>;

/** A window's rows as SQL, for cutting. */
export interface PositionRange {
  /** Operation name prefix: `rowversion`, `ct`, `updated_at`, `identity`. */
  readonly op: string;
  /** `FROM … WHERE …` selecting exactly the window's rows (or changed keys). */
  readonly from: string;
  /** The expression the rows are ordered by (the position column). */
  readonly orderBy: string;
  /** The expression a cut is read as (default: `orderBy`); its value becomes the strategy's position. */
  readonly cutValue?: string;
}

async function count(q: SplitQuery, op: string, text: string): Promise<number> {
  return Number((await q<{ n: number | string }>(op, text))[0]?.n ?? 0);
}

/** The window's rows counted up to `rowsPerSubRange + 1` (query 1 above; a plan may run it as its probe). */
export function cappedCount(q: SplitQuery, range: PositionRange, rowsPerSubRange: number, op: string): Promise<number> {
  return count(
    q,
    op,
    `SELECT COUNT_BIG(*) AS n FROM (SELECT TOP (${rowsPerSubRange + 1}) ${range.orderBy} AS v ${range.from}) AS t`,
  );
}

/** The cut value of every `target`-th row in position order (query 3 above), ascending, as the driver returns it. */
export async function cutsEvery(q: SplitQuery, range: PositionRange, target: number): Promise<unknown[]> {
  const rows = await q<{ v: unknown }>(
    `${range.op}.split_cuts`,
    `SELECT t.v FROM (SELECT ${range.cutValue ?? range.orderBy} AS v, ROW_NUMBER() OVER (ORDER BY ${range.orderBy}) AS rn
        ${range.from}) AS t
      WHERE t.rn % ${target} = 0 ORDER BY t.rn OPTION (MAXDOP 1)`,
  );
  return rows.map((r) => r.v);
}

/**
 * The cut values of a window holding more than `rowsPerSubRange` rows, or undefined when it is read whole. The
 * strategy turns them into positions and sub-ranges (`subRangesAt`, which drops repeats).
 *
 * Queries 1 and 3 above, not the window's count (query 2; query 1 too is skipped when the plan `probed` it): the
 * cut is read at every `rowsPerSubRange`-th row, and when the window would need more than `maxSubRanges` sub-ranges
 * every k-th of those cuts is kept. So a window of at most `rowsPerSubRange × maxSubRanges` rows is cut exactly
 * where the count would cut it, and a larger one into sub-ranges of k × `rowsPerSubRange` rows (at most 2× the even
 * share) — one scan of the window fewer (docs/performance.md, "updated_at's split, folded into the plan" and
 * "Rowversion and Change Tracking splits without the window count").
 */
export async function planRangeCuts(
  q: SplitQuery,
  range: PositionRange,
  rowsPerSubRange: number,
  maxSubRanges: number,
  probed?: number,
): Promise<unknown[] | undefined> {
  const n = probed ?? (await cappedCount(q, range, rowsPerSubRange, `${range.op}.split_probe`));
  if (n <= rowsPerSubRange) return undefined;
  return thinCuts(await cutsEvery(q, range, rowsPerSubRange), maxSubRanges);
}

/**
 * Cuts taken at every `rowsPerSubRange`-th row, thinned to at most `maxSubRanges` sub-ranges: every k-th kept,
 * k the least that fits (unchanged up to `maxSubRanges` − 1 cuts).
 */
export function thinCuts<T>(every: readonly T[], maxSubRanges: number): T[] {
  const k = Math.ceil((every.length + 1) / maxSubRanges);
  return every.filter((_v, i) => (i + 1) % k === 0);
}
