/**
 * The initial load's timeline (bench:e2e part A): every step from `tidemark start` to the bench seeing the snapshot
 * done, as offsets in seconds from `tidemark start` — from the table-sync and snapshot job workflows' Temporal
 * histories (each activity scheduled, started, closed; the workflow tasks between them) and from what runChunk
 * reports of its own time (capture/chunk-run.ts `steps`: the table's context, the read's first and last rows, each
 * segment filled, encoded and uploaded, and what the reading side waited on). Timings only: no row value is read.
 *
 * It answers where the load's wall time goes that no thread is busy for: the fixed costs before the first row and
 * after the last (the drain of the staging pipeline, validation, the manifest, the workflow tasks between) and the
 * waits inside the read.
 */
import type { Client } from '@temporalio/client';
import type { ChunkSteps } from '../src/domain/stage-steps.js';
import { tableSyncWorkflowId } from '../src/workflows/table-sync.js';
import {
  eventAt,
  scheduledActivities,
  workflowHistory,
  type JsonEvent,
  type ScheduledActivity,
} from './window-steps.js';

/** One step of the timeline: seconds from `tidemark start`. */
export interface LoadStep {
  step: string;
  from: number;
  to: number;
  seconds: number;
}

export interface LoadTimeline {
  steps: LoadStep[];
  /** runChunk's own report (ms from the activity's start), as it returned it; null when not readable. */
  chunk: ChunkSteps | null;
  /** Seconds of the load by kind: before the first row, reading, after the last row. */
  phases: { beforeFirstRow: number | null; reading: number | null; afterLastRow: number | null; total: number };
}

const r2 = (x: number) => +x.toFixed(2);

/**
 * The timeline of a table's initial load: `t0` is when `tidemark start` was called, `cliDone` when it returned and
 * `seen` when the bench saw the snapshot done (epoch ms).
 */
export async function loadTimeline(
  client: Client,
  tableId: string,
  jobWorkflowId: string,
  marks: { t0: number; cliDone: number; seen: number },
): Promise<LoadTimeline> {
  const at = (ms: number) => (ms - marks.t0) / 1000;
  const steps: LoadStep[] = [];
  const add = (step: string, from: number, to: number | undefined) => {
    if (to === undefined) return;
    steps.push({ step, from: r2(at(from)), to: r2(at(to)), seconds: r2((to - from) / 1000) });
  };
  add('tidemark start (CLI: config, audit ledger, workflow start)', marks.t0, marks.cliDone);

  const sync = await workflowHistory(client, tableSyncWorkflowId(tableId));
  const job = await workflowHistory(client, jobWorkflowId);
  const syncStart = sync[0] ? eventAt(sync[0]) : marks.t0;
  add('table-sync workflow started', marks.t0, syncStart);
  const childInitiated = sync.find(
    (e) => e.startChildWorkflowExecutionInitiatedEventAttributes?.workflowId === jobWorkflowId,
  );
  const childStart = job[0] ? eventAt(job[0]) : undefined;
  const jobClose = closeOf(job);
  const syncActs = scheduledActivities(sync);
  activitySteps(
    'table-sync',
    syncActs.filter((a) => a.scheduled <= (childInitiated ? eventAt(childInitiated) : Infinity)),
    add,
    syncStart,
  );
  if (childInitiated) add('table-sync: start the job (child workflow)', eventAt(childInitiated), childStart);
  const jobActs = scheduledActivities(job);
  activitySteps('job', jobActs, add, childStart ?? syncStart);
  if (jobActs.length && jobClose !== undefined) add('job: workflow task → closed', jobActs.at(-1)!.closed!, jobClose);
  const childClosed = sync.find(
    (e) => e.eventType === 'EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED' && jobClose !== undefined,
  );
  if (childClosed && jobClose !== undefined) add('table-sync: job completed recorded', jobClose, eventAt(childClosed));
  activitySteps(
    'table-sync, after the job',
    syncActs.filter((a) => childClosed && a.scheduled >= eventAt(childClosed) && a.scheduled <= marks.seen),
    add,
    childClosed ? eventAt(childClosed) : marks.seen,
  );
  if (jobClose !== undefined) add('job closed → bench saw it done (status poll, 250 ms)', jobClose, marks.seen);

  // runChunk's own steps, offsets from its start (the activity's start in the history is within ms of its clock).
  const run = jobActs.find((a) => a.name === 'runChunk');
  const chunk = (run?.result as { steps?: ChunkSteps } | undefined)?.steps ?? null;
  let phases: LoadTimeline['phases'] = {
    beforeFirstRow: null,
    reading: null,
    afterLastRow: null,
    total: r2((marks.seen - marks.t0) / 1000),
  };
  if (run?.started !== undefined && chunk) {
    const s0 = run.started;
    const ms = (x: number) => s0 + x;
    add('  runChunk: table context (discovery, schema)', s0, ms(chunk.setupMs));
    add('  runChunk: read slot, schema registered', ms(chunk.setupMs), ms(chunk.stageStartMs));
    if (chunk.readRequestedMs !== null) {
      add('  runChunk: first segment writer opened (its thread)', ms(chunk.stageStartMs), ms(chunk.readRequestedMs));
      add(
        '  runChunk: snapshot tx, position, query → first rows',
        ms(chunk.readRequestedMs),
        ms(chunk.firstEventMs ?? chunk.readRequestedMs),
      );
    }
    if (chunk.firstEventMs !== null && chunk.readEndMs !== null)
      add('  runChunk: reading (first rows → last row converted)', ms(chunk.firstEventMs), ms(chunk.readEndMs));
    chunk.segments.forEach((g, k) => {
      const prevFilled = k === 0 ? (chunk.firstEventMs ?? chunk.stageStartMs) : chunk.segments[k - 1]!.filledMs;
      add(`    segment ${k + 1} (${g.rows} rows): filled`, ms(prevFilled), ms(g.filledMs));
      if (g.encodedMs !== null) add(`    segment ${k + 1}: filled → encoded`, ms(g.filledMs), ms(g.encodedMs));
      if (g.encodedMs !== null && g.uploadedMs !== null)
        add(`    segment ${k + 1}: encoded → uploaded`, ms(g.encodedMs), ms(g.uploadedMs));
    });
    if (chunk.readEndMs !== null)
      add('  runChunk: drain (last row → last segment uploaded)', ms(chunk.readEndMs), ms(chunk.endMs));
    if (run.closed !== undefined) add('  runChunk: return → activity closed', ms(chunk.endMs), run.closed);
    if (chunk.firstEventMs !== null && chunk.readEndMs !== null)
      phases = {
        beforeFirstRow: r2((ms(chunk.firstEventMs) - marks.t0) / 1000),
        reading: r2((chunk.readEndMs - chunk.firstEventMs) / 1000),
        afterLastRow: r2((marks.seen - ms(chunk.readEndMs)) / 1000),
        total: phases.total,
      };
  }
  steps.sort((a, b) => a.from - b.from || b.to - a.to);
  return { steps, chunk, phases };
}

/** Each activity's queue wait and run, and the workflow task before it (from the previous close, or `from`). */
function activitySteps(
  who: string,
  acts: ScheduledActivity[],
  add: (step: string, from: number, to: number | undefined) => void,
  from: number,
): void {
  let prev = from;
  for (const a of acts) {
    add(`${who}: workflow task → ${a.name} scheduled`, prev, a.scheduled);
    add(`${who}: ${a.name} queued`, a.scheduled, a.started);
    if (a.started !== undefined) add(`${who}: ${a.name}`, a.started, a.closed);
    prev = a.closed ?? a.scheduled;
  }
}

function closeOf(events: readonly JsonEvent[]): number | undefined {
  const last = events.at(-1);
  return last && /WORKFLOW_EXECUTION_(COMPLETED|CONTINUED_AS_NEW|FAILED)/.test(last.eventType)
    ? eventAt(last)
    : undefined;
}

/** The timeline as printed lines. */
export function fmtLoadTimeline(t: LoadTimeline): string {
  const lines = ['  initial load timeline (s from `tidemark start`):'];
  for (const s of t.steps)
    lines.push(
      `    ${s.from.toFixed(2).padStart(6)} → ${s.to.toFixed(2).padStart(6)}  ${s.seconds.toFixed(2).padStart(5)}s  ${s.step}`,
    );
  const c = t.chunk;
  if (c) {
    lines.push(
      `    reading side waited: writer thread ${c.waitMs.writer} ms, encode stage ${c.waitMs.encodeStage} ms, ` +
        `segment slot ${c.waitMs.segmentSlot} ms, segment writer open ${c.waitMs.stageOpen} ms; main thread idle while reading ${c.readIdleMs ?? 'n/a'} ms; ` +
        `driver request paused (reader behind) ${c.source?.pausedMs ?? 'n/a'} ms, reader waited for rows ${c.source?.waitedMs ?? 'n/a'} ms`,
    );
  }
  const p = t.phases;
  lines.push(
    `    phases: before the first row ${p.beforeFirstRow ?? 'n/a'}s, reading ${p.reading ?? 'n/a'}s, ` +
      `after the last row ${p.afterLastRow ?? 'n/a'}s, total ${p.total}s`,
  );
  return lines.join('\n');
}
