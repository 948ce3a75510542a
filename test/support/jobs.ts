/** Running jobs and windows through the activities directly (no Temporal): for activity tests and benchmarks. */
import assert from 'node:assert/strict';
import type { Activities } from '../../src/activities/index.js';
import type { JobSpec, TableRef, WindowPlan } from '../../src/activities/contracts.js';

export interface JobRun {
  chunks: number;
  compared: number;
  reextracted: number;
  rows: number;
  sourceRowsRead: number;
  lastSeq: number;
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
  };
  for (const chunk of plan.chunks) {
    const r = await acts.runChunk({ table, job, chunk, stagingKey: `t/c${chunk.index}`, attempt: 1, firstSeq });
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

/** Incremental windows until caught up. */
export async function catchUp(acts: Activities, table: TableRef): Promise<void> {
  const mark = await acts.readWatermark({ table });
  let position = mark.position;
  let seq = mark.lastSeq + 1;
  for (;;) {
    const plan = await acts.planWindow({ table, lastPosition: position, seq });
    if (!plan.window) return;
    const extract = await acts.extractWindow({ table, window: plan.window, attempt: 1 });
    const validation = await acts.validateWindow({ table, window: plan.window, extract });
    const c = await acts.commitManifest({ table, window: plan.window, extract, validation });
    await acts.advanceWatermark({ table, seq, position: plan.window.to, manifestPath: c.manifestPath });
    position = plan.window.to;
    seq++;
  }
}
