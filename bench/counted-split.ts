/**
 * The split's target as every strategy computed it before it cut without counting the window (the "before" of
 * bench/split-plan-cost.ts and bench/updated-at-plan-cost.ts): the capped count (unless the plan `probed` it),
 * then the window's count, which sets the rows per sub-range (`subRangeTarget`). Undefined: the window holds at
 * most `rowsPerSubRange` rows.
 */
import { subRangeTarget } from '../src/domain/sub-ranges.js';
import { cappedCount, type PositionRange, type SplitQuery } from '../src/source/strategies/sub-range-queries.js';

export async function countedTarget(
  q: SplitQuery,
  range: PositionRange,
  rowsPerSubRange: number,
  maxSubRanges: number,
  probed?: number,
): Promise<number | undefined> {
  const n = probed ?? (await cappedCount(q, range, rowsPerSubRange, `${range.op}.split_probe`));
  if (n <= rowsPerSubRange) return undefined;
  const [row] = await q<{ n: number | string }>(`${range.op}.split_count`, `SELECT COUNT_BIG(*) AS n ${range.from}`);
  return subRangeTarget(Number(row?.n ?? 0), rowsPerSubRange, maxSubRanges);
}
