/**
 * One incremental window: plan its bounds from the source before anything is read (so a retry of the read
 * covers the same changes), then read exactly those bounds and stage them (stage-stream.ts).
 */
import type { WindowPlan } from '../domain/window.js';
import type { StagedWindow } from '../domain/staged.js';
import type { SourceWindow } from '../source/index.js';
import type { CaptureDeps } from './deps.js';
import type { ProgressSink } from './progress.js';
import { stageStream } from './stage-stream.js';
import type { TableContext } from './table-context.js';

/** A planned window (null: nothing changed since `lastPosition`) and how far the lake is behind. */
export interface PlannedWindow {
  window: WindowPlan | null;
  lagSeconds: number | null;
  captureLatencySeconds?: number | null;
}

/** Plans window `seq` after `lastPosition` (the strategy reads its bounds from the source now). */
export async function planWindow(ctx: TableContext, lastPosition: string | null, seq: number): Promise<PlannedWindow> {
  const w = await ctx.strategy.planWindow(lastPosition);
  const capture = w.captureLatencySeconds !== undefined ? { captureLatencySeconds: w.captureLatencySeconds } : {};
  if (w.empty) return { window: null, lagSeconds: w.lagSeconds, ...capture };
  return {
    window: {
      seq,
      kind: 'changes',
      from: w.from ?? lastPosition,
      to: w.to,
      plannedAt: new Date().toISOString(),
      ...(w.more ? { more: true } : {}),
      ...(w.idle ? { idle: true } : {}),
    },
    lagSeconds: w.lagSeconds,
    ...capture,
  };
}

/** Reads the planned window's changes and stages them as its files (attempt `workflowAttempt`). */
export async function extractWindow(
  deps: CaptureDeps,
  ctx: TableContext,
  sink: ProgressSink,
  window: WindowPlan,
  workflowAttempt: number,
): Promise<StagedWindow> {
  const sw: SourceWindow = {
    strategy: ctx.ref.strategy,
    from: window.from,
    to: window.to,
    empty: false,
    lagSeconds: null,
  };
  return stageStream(deps, ctx, sink, {
    window,
    workflowAttempt,
    batches: ctx.strategy.readWindow(sw),
    sourceRowsRead: () => (ctx.strategy.lastReadStats ? ctx.strategy.lastReadStats.rowsRead : undefined),
  });
}
