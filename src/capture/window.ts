/**
 * One incremental window: plan its bounds from the source before anything is read (so a retry of the read
 * covers the same changes), then read exactly those bounds and stage them (stage-stream.ts). A window whose
 * backlog exceeds `limits.subRangeRows` is planned with sub-ranges (also fixed before anything is read), each
 * read and staged on its own by a parallel activity; the workflow commits their stagings as one window.
 */
import type { WindowPlan } from '../domain/window.js';
import { MAX_SUB_RANGES } from '../domain/sub-ranges.js';
import type { StagedWindow } from '../domain/staged.js';
import type { SourceWindow } from '../source/index.js';
import type { CaptureDeps } from './deps.js';
import type { ProgressSink } from './progress.js';
import { stageStream } from './stage-stream.js';
import { StageClock, streamWaits } from './stage-steps.js';
import type { TableContext } from './table-context.js';

/** A planned window (null: nothing changed since `lastPosition`) and how far the lake is behind. */
export interface PlannedWindow {
  window: WindowPlan | null;
  lagSeconds: number | null;
  captureLatencySeconds?: number | null;
}

/**
 * Plans window `seq` after `lastPosition` (the strategy reads its bounds from the source now). `split: false`
 * plans the window whole whatever its backlog: the caller cannot read sub-ranges safely (workflow code older than
 * the patch 'sub-range-activity' would have any worker, an older one too, read them; docs/operations.md).
 */
export async function planWindow(
  ctx: TableContext,
  lastPosition: string | null,
  seq: number,
  { split = true }: { split?: boolean } = {},
): Promise<PlannedWindow> {
  // The split's capped count folds into the plan's probe for changes (strategies that can: CDC, rowversion).
  const w = await ctx.strategy.planWindow(lastPosition, { rowsPerSubRange: ctx.config.limits.subRangeRows });
  const capture = w.captureLatencySeconds !== undefined ? { captureLatencySeconds: w.captureLatencySeconds } : {};
  if (w.empty) return { window: null, lagSeconds: w.lagSeconds, ...capture };
  const subRanges = split
    ? await ctx.strategy.planSubRanges?.(w, ctx.config.limits.subRangeRows, MAX_SUB_RANGES)
    : undefined;
  return {
    window: {
      seq,
      kind: 'changes',
      from: w.from ?? lastPosition,
      // A split may fix the window's end (identity: its open gaps, found by the split instead of by the read).
      to: subRanges ? subRanges[subRanges.length - 1]!.to : w.to,
      plannedAt: new Date().toISOString(),
      ...(w.more ? { more: true } : {}),
      ...(w.idle ? { idle: true } : {}),
      ...(subRanges ? { subRanges } : {}),
      // What the plan learnt of a window read whole (CDC: its few transactions' commit times), for the read.
      ...(w.transactions && !subRanges ? { transactions: w.transactions } : {}),
      ...(w.rows !== undefined && !subRanges ? { rows: w.rows } : {}),
    },
    lagSeconds: w.lagSeconds,
    ...capture,
  };
}

/**
 * Reads the planned window's changes — or those of its sub-range `subRange` — and stages them as its files
 * (attempt `workflowAttempt`; a sub-range's file names carry its index besides the attempt).
 */
export async function extractWindow(
  deps: CaptureDeps,
  ctx: TableContext,
  sink: ProgressSink,
  window: WindowPlan,
  workflowAttempt: number,
  subRange?: number,
): Promise<StagedWindow> {
  const clock = new StageClock();
  const staged = await stageStream(deps, ctx, sink, {
    window,
    workflowAttempt,
    ...(subRange !== undefined ? { subRange } : {}),
    batches: ctx.strategy.readWindow(sourceWindowOf(ctx, window, subRange)),
    sourceRowsRead: () => (ctx.strategy.lastReadStats ? ctx.strategy.lastReadStats.rowsRead : undefined),
    clock,
  });
  return { ...staged, steps: { ...clock.steps(), source: streamWaits(ctx.strategy.lastReadStats?.extra) } };
}

/** What the strategy reads of planned window `window` (as it crossed Temporal), or of its sub-range `subRange`. */
export function sourceWindowOf(ctx: TableContext, window: WindowPlan, subRange?: number): SourceWindow {
  const bounds = subRange === undefined ? window : window.subRanges?.[subRange];
  if (!bounds)
    throw new RangeError(`window ${window.seq} of ${ctx.ref.id} has no sub-range ${subRange} (planned without it)`);
  return {
    strategy: ctx.ref.strategy,
    from: bounds.from,
    to: bounds.to,
    empty: false,
    lagSeconds: null,
    ...(subRange !== undefined ? { partOf: { from: window.from, to: window.to } } : {}),
    ...(subRange === undefined && window.transactions ? { transactions: window.transactions } : {}),
  };
}
