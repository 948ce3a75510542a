/**
 * Where a table's window cycle spends its time, from the table-sync workflow's own Temporal history (what the
 * pipeline already records; no extra instrumentation): per committed window, the cadence wait before it, each
 * activity's queue wait (scheduled → started, i.e. a worker slot) and run time (started → closed), and the
 * workflow-task time between one activity's end and the next one's scheduling. Summarised as p50/p95 seconds.
 *
 * Only the current run of the workflow is read (a continue-as-new starts a fresh history).
 */
import type { Client } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { tableSyncWorkflowId } from '../src/workflows/table-sync.js';

/** One event of a workflow history, as `historyToJSON` gives it (the fields these benches read). */
export interface JsonEvent {
  eventId: string;
  eventTime: string;
  eventType: string;
  activityTaskScheduledEventAttributes?: { activityType?: { name?: string } };
  activityTaskStartedEventAttributes?: { scheduledEventId?: string };
  activityTaskCompletedEventAttributes?: {
    scheduledEventId?: string;
    result?: { payloads?: { metadata?: Record<string, string>; data?: string }[] };
  };
  activityTaskFailedEventAttributes?: { scheduledEventId?: string };
  timerFiredEventAttributes?: { startedEventId?: string };
  timerCanceledEventAttributes?: { startedEventId?: string };
  startChildWorkflowExecutionInitiatedEventAttributes?: { workflowId?: string };
}

/** The current run's history of a workflow, as JSON events. */
export async function workflowHistory(client: Client, workflowId: string): Promise<JsonEvent[]> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  return (JSON.parse(historyToJSON(history)) as { events: JsonEvent[] }).events;
}

/** Epoch ms of an event. */
export const eventAt = (e: JsonEvent) => Date.parse(e.eventTime);

/** An activity of a history: its name, scheduled, started and closed times (epoch ms), and its JSON result. */
export interface ScheduledActivity {
  name: string;
  scheduled: number;
  started?: number;
  closed?: number;
  /** The completed activity's result, when its payload is plain JSON (not encrypted). */
  result?: unknown;
  /** The sub-range reads of one window, folded into one step. */
  subRanges?: boolean;
}

/** The activities of a history, in the order they were scheduled. */
export function scheduledActivities(events: readonly JsonEvent[]): ScheduledActivity[] {
  const acts: ScheduledActivity[] = [];
  const byScheduled = new Map<string, ScheduledActivity>();
  for (const e of events) {
    const name = e.activityTaskScheduledEventAttributes?.activityType?.name;
    if (e.eventType === 'EVENT_TYPE_ACTIVITY_TASK_SCHEDULED' && name) {
      const a = { name, scheduled: eventAt(e) };
      acts.push(a);
      byScheduled.set(e.eventId, a);
    }
    const started = e.activityTaskStartedEventAttributes?.scheduledEventId;
    if (started && byScheduled.get(started)) byScheduled.get(started)!.started = eventAt(e);
    const done = e.activityTaskCompletedEventAttributes;
    const closed = done?.scheduledEventId ?? e.activityTaskFailedEventAttributes?.scheduledEventId;
    const a = closed ? byScheduled.get(closed) : undefined;
    if (!a) continue;
    a.closed = eventAt(e);
    const payload = done?.result?.payloads?.[0];
    if (payload?.data && payload.metadata?.encoding === Buffer.from('json/plain').toString('base64'))
      a.result = JSON.parse(Buffer.from(payload.data, 'base64').toString('utf8')) as unknown;
  }
  return acts;
}

/** The steps of one window cycle, seconds. */
export interface WindowCycle {
  /** Cadence wait (timer started → fired, or cancelled by a wake) before this window's plan. */
  wait: number | null;
  /** planWindow, scheduled → closed (the plan that found this window). */
  plan: number;
  /** Per activity after the plan: queue wait and run time. */
  activities: Record<string, { queue: number; run: number }>;
  /** Workflow-task time between one activity's close and the next one's scheduling, summed over the window. */
  workflowTasks: number;
  /** planWindow scheduled → advanceWatermark closed (or commitManifest, which advances it since the patch). */
  window: number;
  /** Plans that found nothing to commit (empty / idle not due) since the previous window. */
  emptyPlans: number;
}

export interface StepSummary {
  windows: number;
  emptyPlans: number;
  /** p50/p95 seconds of each step over the committed windows. */
  steps: Record<string, { p50: number; p95: number; mean: number }>;
}

const WINDOW_ACTIVITIES = ['extractWindow', 'validateWindow', 'commitManifest', 'advanceWatermark'];
/** Since the patch 'commit-advances-watermark' the commit step advances the watermark: no activity of its own. */
const FOLDED_WINDOW_ACTIVITIES = WINDOW_ACTIVITIES.slice(0, 3);
const isWindow = (next: { name: string }[], names: string[]) =>
  next.length >= names.length && names.every((n, k) => next[k]!.name === n);

export async function windowCycles(client: Client, tableId: string): Promise<WindowCycle[]> {
  const events = await workflowHistory(client, tableSyncWorkflowId(tableId));
  const timers: { started: number; ended?: number }[] = [];
  const timerById = new Map<string, (typeof timers)[number]>();
  for (const e of events) {
    if (e.eventType === 'EVENT_TYPE_TIMER_STARTED') {
      const t = { started: eventAt(e) };
      timers.push(t);
      timerById.set(e.eventId, t);
    }
    const fired = e.timerFiredEventAttributes?.startedEventId ?? e.timerCanceledEventAttributes?.startedEventId;
    if (fired && timerById.get(fired)) timerById.get(fired)!.ended = eventAt(e);
  }
  return cyclesOf(oneReadPerWindow(scheduledActivities(events)), timers);
}

/**
 * A split window's sub-range reads (`extractSubRange`, run in parallel) as one `extractWindow` step: scheduled
 * with the first, started with the first to start, closed with the last to close (still open while one is).
 */
function oneReadPerWindow(acts: ScheduledActivity[]): ScheduledActivity[] {
  const out: ScheduledActivity[] = [];
  for (const a of acts) {
    const prev = out[out.length - 1];
    if (a.name !== 'extractSubRange') out.push(a);
    else if (prev?.name === 'extractWindow' && prev.subRanges) {
      prev.started = a.started === undefined ? prev.started : Math.min(prev.started ?? a.started, a.started);
      prev.closed = a.closed === undefined || prev.closed === undefined ? undefined : Math.max(prev.closed, a.closed);
    } else out.push({ ...a, name: 'extractWindow', subRanges: true });
  }
  return out;
}

function cyclesOf(acts: ScheduledActivity[], timers: { started: number; ended?: number }[]): WindowCycle[] {
  const cycles: WindowCycle[] = [];
  let emptyPlans = 0;
  for (let i = 0; i < acts.length; i++) {
    const plan = acts[i]!;
    if (plan.name !== 'planWindow' || plan.closed === undefined) continue;
    const after = acts.slice(i + 1, i + 1 + WINDOW_ACTIVITIES.length);
    const names = isWindow(after, WINDOW_ACTIVITIES)
      ? WINDOW_ACTIVITIES
      : isWindow(after, FOLDED_WINDOW_ACTIVITIES)
        ? FOLDED_WINDOW_ACTIVITIES
        : undefined;
    if (!names) {
      emptyPlans++;
      continue;
    }
    const next = after.slice(0, names.length);
    if (next.some((a) => a.started === undefined || a.closed === undefined)) break; // still running
    const timer = [...timers].reverse().find((t) => t.started <= plan.scheduled && t.ended !== undefined);
    const activities: WindowCycle['activities'] = {};
    let workflowTasks = 0;
    let prevClosed = plan.closed;
    for (const a of next) {
      activities[a.name] = { queue: (a.started! - a.scheduled) / 1000, run: (a.closed! - a.started!) / 1000 };
      workflowTasks += (a.scheduled - prevClosed) / 1000;
      prevClosed = a.closed!;
    }
    cycles.push({
      wait: timer ? (timer.ended! - timer.started) / 1000 : null,
      plan: (plan.closed - plan.scheduled) / 1000,
      activities,
      workflowTasks,
      window: (prevClosed - plan.scheduled) / 1000,
      emptyPlans,
    });
    emptyPlans = 0;
    i += names.length;
  }
  return cycles;
}

const quantile = (xs: number[], q: number) => {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
};
const r2 = (x: number) => +x.toFixed(2);

/** p50/p95/mean of each step over the committed windows. */
export function summariseCycles(cycles: WindowCycle[]): StepSummary {
  const series: Record<string, number[]> = {};
  const add = (k: string, v: number | null) => {
    if (v !== null) (series[k] ??= []).push(v);
  };
  for (const c of cycles) {
    add('cadence wait', c.wait);
    add('planWindow', c.plan);
    for (const [name, a] of Object.entries(c.activities)) {
      add(`${name} queue`, a.queue);
      add(`${name} run`, a.run);
    }
    add('workflow tasks between steps', c.workflowTasks);
    add('window (plan → watermark)', c.window);
  }
  const steps: StepSummary['steps'] = {};
  for (const [k, xs] of Object.entries(series))
    steps[k] = {
      p50: r2(quantile(xs, 0.5)),
      p95: r2(quantile(xs, 0.95)),
      mean: r2(xs.reduce((a, b) => a + b, 0) / xs.length),
    };
  return { windows: cycles.length, emptyPlans: cycles.reduce((a, c) => a + c.emptyPlans, 0), steps };
}

export async function windowSteps(client: Client, tableId: string): Promise<StepSummary> {
  return summariseCycles(await windowCycles(client, tableId));
}
