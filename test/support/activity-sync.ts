/**
 * Drives one table through the activities directly (no Temporal), as the workflows would: a snapshot through
 * planChunks/runChunk when the lake has no complete load, then incremental windows until planning finds nothing.
 * Windows are planned as today's workflow plans them (`subRangeActivity`): a backlog over the table's
 * `limits.subRangeRows` is split, and its sub-ranges are read one by one with `extractSubRange` and merged into one
 * staging, as src/workflows/table-window.ts does (in parallel there). Every window is validated, committed (and
 * committed again, which must be a no-op) and moves the watermark.
 * {@link runJob} runs any chunked job the same way (activity tests and `bench:jobs`).
 */
import assert from 'node:assert/strict';
import type { Activities } from '../../src/activities/index.js';
import type { ExtractWindowOutput } from '../../src/activities/contracts.js';
import type { JobSpec } from '../../src/domain/jobs.js';
import type { WindowPlan } from '../../src/domain/window.js';
import { mergeSubRangeStagings } from '../../src/domain/staged.js';
import type { TableRef } from '../../src/domain/table.js';

/**
 * Syncs `table` with `acts`; returns the last committed sequence and position. `initialLoad: 'window'` loads an
 * empty lake with one incremental window from the beginning (`lastPosition` null) instead of a chunked snapshot;
 * the lake does not count such a window as a complete load, so the next call passes `resume` (what the workflow
 * keeps in its state) instead of reading the watermark. `wholeWindows`: plan as workflow code older than the patch
 * 'sub-range-activity' does (no split, every window read whole).
 */
export async function syncTableWithActivities(
  acts: Activities,
  table: TableRef,
  options: { initialLoad?: 'snapshot' | 'window'; resume?: SyncedTo; wholeWindows?: boolean } = {},
): Promise<SyncedTo> {
  let mark = options.resume
    ? { position: options.resume.position, lastSeq: options.resume.seq }
    : await acts.readWatermark({ table });
  let seq = mark.lastSeq + 1;
  if (mark.position === null && options.initialLoad !== 'window') {
    const load = await runJob(acts, table, { kind: 'snapshot', reason: 'test' }, 30);
    seq = load.lastSeq + 1;
    mark = await acts.readWatermark({ table });
    assert.equal(mark.position, load.position);
  }
  let position = mark.position;
  let first = mark.position === null;
  let splitWindows = 0;
  for (;;) {
    const plan = await acts.planWindow({
      table,
      lastPosition: position,
      seq,
      ...(options.wholeWindows ? {} : { subRangeActivity: true }),
    });
    if (!plan.window) {
      assert.equal(first, false, 'the initial window found nothing to load');
      break;
    }
    first = false;
    if (plan.window.subRanges) splitWindows++;
    const extract = await extractPlanned(acts, table, plan.window);
    const validation = await acts.validateWindow({ table, window: plan.window, extract });
    const c = await acts.commitManifest({ table, window: plan.window, extract, validation });
    assert.equal(c.alreadyCommitted, false);
    const again = await acts.commitManifest({ table, window: plan.window, extract, validation });
    assert.equal(again.alreadyCommitted, true);
    assert.equal(again.resumePosition, c.resumePosition);
    // The read may refine the window's end (identity): the commit says where the next window starts.
    position = c.resumePosition ?? plan.window.to;
    await acts.advanceWatermark({ table, seq, position, manifestPath: c.manifestPath });
    seq++;
  }
  return { seq: seq - 1, position, splitWindows };
}

/**
 * Stages a planned window as the workflow does (table-window.ts `extract`): whole, or one `extractSubRange` per
 * sub-range merged into one staging — staged again under the next attempt when the parts' schema versions differ.
 */
async function extractPlanned(acts: Activities, table: TableRef, window: WindowPlan): Promise<ExtractWindowOutput> {
  if (!window.subRanges) return acts.extractWindow({ table, window, attempt: 1 });
  for (let attempt = 1; attempt <= 3; attempt++) {
    const parts = [];
    for (let subRange = 0; subRange < window.subRanges.length; subRange++)
      parts.push(await acts.extractSubRange({ table, window, attempt, subRange }));
    const merged = mergeSubRangeStagings(parts);
    if (merged) return merged;
  }
  throw new Error(`window ${window.seq}: its sub-ranges were staged under different schema versions 3 times`);
}

export interface SyncedTo {
  seq: number;
  position: string | null;
  /** How many of the windows synced were read in sub-ranges (`extractSubRange`). */
  splitWindows?: number;
}

export interface JobRun {
  chunks: number;
  compared: number;
  reextracted: number;
  rows: number;
  sourceRowsRead: number;
  lastSeq: number;
  /** The job's recorded position. */
  position: string;
}

/** Runs one job the way chunked-jobs.ts does (without Temporal), committing every chunk window in order. */
export async function runJob(acts: Activities, table: TableRef, job: JobSpec, chunkRows = 8): Promise<JobRun> {
  const mark = await acts.readWatermark({ table });
  const firstSeq = mark.lastSeq + 1;
  const plan = await acts.planChunks({ table, job, chunkRows });
  const out: JobRun = {
    chunks: plan.chunks.length,
    compared: 0,
    reextracted: 0,
    rows: 0,
    sourceRowsRead: 0,
    lastSeq: 0,
    position: plan.position,
  };
  for (const chunk of plan.chunks) {
    const r = await acts.runChunk({ table, job, chunk, attempt: 1, firstSeq });
    out.sourceRowsRead += r.sourceRowsRead;
    if (r.compared) {
      out.compared++;
      if (r.compared.differs) out.reextracted++;
    }
    assert.ok(r.staged);
    const window: WindowPlan = {
      seq: firstSeq + chunk.index,
      kind: job.kind,
      from: null,
      to: r.staged.readAt,
      keyRange: chunk,
      plannedAt: '',
    };
    const validation = await acts.validateWindow({ table, window, extract: r.staged });
    const c = await acts.commitManifest({ table, window, extract: r.staged, validation });
    out.rows += r.staged.rows;
    out.lastSeq = window.seq;
    await acts.advanceWatermark({
      table,
      seq: window.seq,
      position: mark.position ?? '',
      manifestPath: c.manifestPath,
    });
  }
  return out;
}
