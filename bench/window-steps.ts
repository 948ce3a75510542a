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
import type { ReadSteps } from '../src/domain/stage-steps.js';

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

/** One step of a window's timeline: seconds from the timeline's start (see `windowTimeline`). */
export interface TimelineStep {
  step: string;
  scheduled: number;
  started: number | null;
  closed: number | null;
}

/** What extractWindow's result says of its own time (timings and counts only), seconds. */
export interface ExtractTimings {
  rows: number;
  files: number;
  /** The staging: schema lookup, read, encode, upload (extractWindow's run less its discovery). */
  staging: number;
  /** Of `staging`: first batch from the source, the source stream's end, the drain after it. */
  firstBatch: number | null;
  readEnd: number | null;
  drain: number | null;
  /** Summed over segments: Parquet encoding and upload (they overlap the read). */
  encode: number | null;
  upload: number | null;
  /** The staging's own steps (domain/stage-steps.ts), when the worker recorded them: ms from the staging's start. */
  steps?: ReadSteps;
}

export interface WindowTimeline {
  /** The window's plan, then its activities and workflow tasks, in order, until its commitManifest closed. */
  steps: TimelineStep[];
  /** Seconds from the first event after `afterEventId` to the commit's close. */
  total: number;
  extract: ExtractTimings | null;
}

/** A JSON payload's value (the default converter's `json/plain`), or undefined (encrypted, binary, absent). */
function jsonPayload(p: { metadata?: Record<string, string>; data?: string } | undefined): unknown {
  const encoding = p?.metadata?.encoding && Buffer.from(p.metadata.encoding, 'base64').toString();
  if (encoding !== 'json/plain' || p?.data === undefined) return undefined;
  return JSON.parse(Buffer.from(p.data, 'base64').toString());
}

/**
 * The timeline of the first window committed after history event `afterEventId` (the bench's wake of the table):
 * from the plan that found it (which may have started before the wake) to its commit, each activity's scheduling,
 * start and close, and each workflow task's, in seconds from the first event after `afterEventId`; and what the
 * extract's result reports of its own time. Null when no window committed.
 */
export async function windowTimeline(
  client: Client,
  tableId: string,
  afterEventId: number,
): Promise<WindowTimeline | null> {
  const events = await workflowHistory(client, tableSyncWorkflowId(tableId));
  const wake = events.find((e) => Number(e.eventId) > afterEventId);
  if (!wake) return null;
  const t0 = Date.parse(wake.eventTime);
  const at = (e: JsonEvent) => +((Date.parse(e.eventTime) - t0) / 1000).toFixed(3);
  const steps: (TimelineStep & { id: number })[] = [];
  const byScheduled = new Map<string, TimelineStep>();
  let extract: ExtractTimings | null = null;
  let openTask: TimelineStep | undefined;
  for (const e of events) {
    const id = Number(e.eventId);
    const name = e.activityTaskScheduledEventAttributes?.activityType?.name;
    if (e.eventType === 'EVENT_TYPE_ACTIVITY_TASK_SCHEDULED' && name) {
      const s = { id, step: name, scheduled: at(e), started: null, closed: null };
      steps.push(s);
      byScheduled.set(e.eventId, s);
    } else if (e.eventType === 'EVENT_TYPE_WORKFLOW_TASK_SCHEDULED') {
      const task = { id, step: 'workflow task', scheduled: at(e), started: null, closed: null };
      steps.push(task);
      openTask = task;
    } else if (e.eventType === 'EVENT_TYPE_WORKFLOW_TASK_STARTED' && openTask) openTask.started = at(e);
    else if (e.eventType === 'EVENT_TYPE_WORKFLOW_TASK_COMPLETED' && openTask) {
      openTask.closed = at(e);
      openTask = undefined;
    }
    const started = e.activityTaskStartedEventAttributes?.scheduledEventId;
    if (started && byScheduled.get(started)) byScheduled.get(started)!.started = at(e);
    const done = e.activityTaskCompletedEventAttributes;
    const closed = done?.scheduledEventId ?? e.activityTaskFailedEventAttributes?.scheduledEventId;
    const step = closed ? byScheduled.get(closed) : undefined;
    if (!step || id <= afterEventId) continue;
    step.closed = at(e);
    if (step.step === 'extractWindow' && done) extract = extractTimings(jsonPayload(done.result?.payloads?.[0]));
    if (step.step === 'commitManifest' && done) {
      // From the plan of this window (it may have started before the wake: the bench's earlier wakes) to the commit.
      const read = steps.findIndex((x) => x.id > afterEventId && x.step === 'extractWindow');
      let from = read;
      while (from > 0 && steps[from]!.step !== 'planWindow') from--;
      const shown = steps.slice(Math.max(0, from), steps.indexOf(step as (typeof steps)[number]) + 1);
      return { steps: shown.map(({ id: _id, ...x }) => x), total: step.closed, extract };
    }
  }
  return null;
}

function extractTimings(out: unknown): ExtractTimings | null {
  const o = out as
    | {
        rows: number;
        files: unknown[];
        durationMs: number;
        stageMs?: { encode: number; upload: number };
        readMs?: { firstBatch: number | null; end: number };
        steps?: ReadSteps;
      }
    | undefined;
  if (!o || typeof o.durationMs !== 'number') return null;
  const s = (ms: number | null | undefined) => (ms === null || ms === undefined ? null : +(ms / 1000).toFixed(3));
  return {
    rows: o.rows,
    files: o.files.length,
    staging: s(o.durationMs)!,
    firstBatch: s(o.readMs?.firstBatch),
    readEnd: s(o.readMs?.end),
    drain: o.readMs ? s(o.durationMs - o.readMs.end) : null,
    encode: s(o.stageMs?.encode),
    upload: s(o.stageMs?.upload),
    ...(o.steps ? { steps: o.steps } : {}),
  };
}

/** The timeline as lines: one per step (queue wait and run), then the extract's own split. */
export function formatTimeline(t: WindowTimeline): string[] {
  const f = (x: number | null) => (x === null ? 'n/a' : x.toFixed(3));
  const lines = t.steps.map(
    (s) =>
      `    ${s.step.padEnd(16)} scheduled ${s.scheduled < 0 ? '' : '+'}${f(s.scheduled)}s, queued ${s.started === null ? 'n/a' : f(+(s.started - s.scheduled).toFixed(3))}s, ` +
      `ran ${s.started === null || s.closed === null ? 'n/a' : f(+(s.closed - s.started).toFixed(3))}s`,
  );
  const x = t.extract;
  if (x)
    lines.push(
      `    extractWindow's staging ${f(x.staging)}s (${x.rows} events, ${x.files} files): first batch +${f(x.firstBatch)}s, ` +
        `read ended +${f(x.readEnd)}s, drain ${f(x.drain)}s; encode ${f(x.encode)}s, upload ${f(x.upload)}s (summed, overlapping)`,
    );
  const st = x?.steps;
  if (st) {
    const ms = (v: number | null) => (v === null ? 'n/a' : `+${(v / 1000).toFixed(3)}`);
    for (const [k, g] of st.segments.entries())
      lines.push(
        `      segment ${k + 1} (${g.rows} events): filled ${ms(g.filledMs)}s, encoded ${ms(g.encodedMs)}s, uploaded ${ms(g.uploadedMs)}s`,
      );
    lines.push(
      `      reading side waited: writer thread ${st.waitMs.writer} ms, encode stage ${st.waitMs.encodeStage} ms, ` +
        `segment writer open ${st.waitMs.stageOpen} ms; main thread idle while reading ${st.readIdleMs ?? 'n/a'} ms; ` +
        `driver request paused (reader behind) ${st.source?.pausedMs ?? 'n/a'} ms, reader waited for rows ${st.source?.waitedMs ?? 'n/a'} ms`,
    );
  }
  return lines;
}
