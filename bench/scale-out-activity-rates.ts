/**
 * How fast each capped activity of a scale-out run actually read, from the workflow's own history (shared by
 * bench/scale-out-backlog.ts and bench/scale-out-load.ts). The scale-out benches cap every activity below the
 * machine's capacity; whether the cap, and not the shared machine, set the pace shows in the run itself: when the
 * activities of the largest pool still run at about the cap, the machine had room; when they run well below it,
 * the ratios measure the machine (issue 14's honesty rule).
 */
import type { temporal } from '@temporalio/proto';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';

interface JsonEvent {
  eventId: string;
  eventTime: string;
  activityTaskScheduledEventAttributes?: { activityType?: { name?: string } };
  activityTaskStartedEventAttributes?: { scheduledEventId?: string };
  activityTaskCompletedEventAttributes?: { scheduledEventId?: string };
}

/**
 * Each completed activity of type `type` (or of any of `type`: a window's sub-ranges are `extractSubRange` since the
 * patch 'sub-range-activity', `extractWindow` before it): its last attempt's start → completion, in ms (failed ones
 * left out).
 */
export function activityDurations(
  history: temporal.api.history.v1.IHistory,
  type: string | readonly string[],
): number[] {
  const types = typeof type === 'string' ? [type] : type;
  const events = (JSON.parse(historyToJSON(history)) as { events: JsonEvent[] }).events;
  const scheduled = new Map<string, string>();
  const started = new Map<string, number>();
  const out: number[] = [];
  for (const e of events) {
    const name = e.activityTaskScheduledEventAttributes?.activityType?.name;
    if (name) scheduled.set(e.eventId, name);
    const st = e.activityTaskStartedEventAttributes?.scheduledEventId;
    if (st && types.includes(scheduled.get(st) ?? '')) started.set(st, Date.parse(e.eventTime));
    const c = e.activityTaskCompletedEventAttributes?.scheduledEventId;
    const from = c ? started.get(c) : undefined;
    if (from !== undefined) out.push(Date.parse(e.eventTime) - from);
  }
  return out;
}

export interface ActivityRates {
  activities: number;
  meanSeconds: number;
  maxSeconds: number;
  /** Rows per activity (the run's rows ÷ its activities: chunks and sub-ranges are about equal) ÷ mean duration. */
  meanRowsPerSecond: number;
  /** meanRowsPerSecond ÷ the cap: ~1 when the cap set the pace (less the activity's fixed costs). */
  ofCap: number;
}

export function activityRates(durationsMs: number[], rows: number, cap: number): ActivityRates | undefined {
  if (durationsMs.length === 0) return undefined;
  const mean = durationsMs.reduce((a, b) => a + b, 0) / durationsMs.length / 1000;
  const perActivity = rows / durationsMs.length / mean;
  return {
    activities: durationsMs.length,
    meanSeconds: Number(mean.toFixed(1)),
    maxSeconds: Number((Math.max(...durationsMs) / 1000).toFixed(1)),
    meanRowsPerSecond: Math.round(perActivity),
    ofCap: Number((perActivity / cap).toFixed(2)),
  };
}
