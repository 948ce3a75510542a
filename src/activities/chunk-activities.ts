/**
 * The activities of chunked jobs (snapshot, backfill, late-update sweep, delete reconciliation), thin over
 * src/capture: planChunks fixes the job's source position and its keyset chunk boundaries (capture/chunk-plan.ts);
 * runChunk reads one chunk at the recorded position and stages it as one window (capture/chunk-run.ts).
 */
import { JobArgumentError, jobSpecProblem } from '../state/job-spec.js';
import { planJob } from '../capture/chunk-plan.js';
import { runJobChunk } from '../capture/chunk-run.js';
import { tableContext } from '../capture/table-context.js';
import type { PlanChunksInput, PlanChunksOutput, RunChunkInput, RunChunkOutput } from './contracts.js';
import type { ActivityDeps } from './dependencies.js';
import { activityProgress } from './heartbeat.js';

export function chunkActivities(deps: ActivityDeps) {
  async function planChunks(input: PlanChunksInput): Promise<PlanChunksOutput> {
    // The CLI and the sync refuse wrong arguments already; a request from any other client stops here, before
    // SQL Server fails it the same way on every retry (e.g. a date that does not exist: error 241).
    const problem = jobSpecProblem(input.job);
    if (problem !== undefined) throw new JobArgumentError(input.job.kind, problem);
    const ctx = await tableContext(deps, input.table);
    return planJob(deps, ctx, input.job, input.chunkRows);
  }

  async function runChunk(input: RunChunkInput): Promise<RunChunkOutput> {
    const startedAt = Date.now();
    const ctx = await tableContext(deps, input.table);
    const { job, chunk, firstSeq, attempt } = input;
    return runJobChunk(deps, ctx, activityProgress(), { job, chunk, firstSeq, workflowAttempt: attempt, startedAt });
  }

  return { planChunks, runChunk };
}
