/**
 * Planning a chunked job (snapshot, backfill, late-update sweep, delete reconciliation): the job's source
 * position, read before any chunk, and its keyset chunk boundaries.
 */
import { ConfigError } from '../config/config-error.js';
import type { JobSpec, KeyRange } from '../domain/jobs.js';
import { encodeKey } from '../domain/keys.js';
import { keyLakeKinds, nextChunkBoundary } from '../source/index.js';
import type { CaptureDeps } from './deps.js';
import { RANGE_SAFE_KEY_KINDS } from './key-literals.js';
import { sweepKeyRange, type KeyBounds } from './sweep-range.js';
import type { TableContext } from './table-context.js';

/** A planned job: its position and its chunks. */
export interface JobPlan {
  /** The source position read before any chunk (for a snapshot: where incremental sync resumes after it). */
  position: string;
  chunks: KeyRange[];
}

/** The job cannot run on this table's configuration. */
export function unsupported(ctx: TableContext, what: string): Error {
  return new ConfigError([
    {
      path: `tables[${ctx.config.name}]`,
      message: `${what} is not supported for capture strategy ${ctx.ref.strategy}`,
      fix: 'run the job on a table whose configuration supports it (see docs/jobs.md)',
    },
  ]);
}

/** Plans `job` in chunks of about `chunkRows` keys (the job's arguments are already checked). */
export async function planJob(deps: CaptureDeps, ctx: TableContext, job: JobSpec, chunkRows: number): Promise<JobPlan> {
  if (job.kind === 'reconcile' && ctx.strategy.seesDeletes)
    throw unsupported(ctx, 'delete reconciliation (the capture sees deletes)');
  if (job.kind === 'backfill' && !ctx.config.businessDateColumn)
    throw unsupported(ctx, 'a backfill without businessDateColumn');
  let range: KeyBounds = {};
  if (job.kind === 'sweep') {
    const r = await sweepKeyRange(deps, ctx, job.days);
    if (!r) {
      deps.logger.info({ table: ctx.ref.id, job: job.kind, days: job.days }, 'nothing landed in the sweep period');
      return { position: await ctx.strategy.jobPosition(job.kind), chunks: [] };
    }
    range = r;
  }
  const position = await ctx.strategy.jobPosition(job.kind);
  // Several reconciliation chunks only for key types DuckDB orders as SQL Server does (reconcile.ts).
  const chunks =
    job.kind === 'reconcile' && !keyLakeKinds(ctx.discovery).every((k) => RANGE_SAFE_KEY_KINDS.has(k))
      ? [{ index: 0, after: null, upTo: null, count: 1, jobPosition: position }]
      : await planKeyChunks(deps, ctx, range, chunkRows, position);
  deps.logger.info({ table: ctx.ref.id, job: job.kind, chunks: chunks.length }, 'job planned');
  return { position, chunks };
}

/** Chunks of `(after, upTo]` of about `chunkRows` keys each, bounded by source keys. */
async function planKeyChunks(
  deps: CaptureDeps,
  ctx: TableContext,
  range: KeyBounds,
  chunkRows: number,
  position: string,
): Promise<KeyRange[]> {
  const boundaries: (string | null)[] = [];
  let after = range.after;
  for (;;) {
    const b = await nextChunkBoundary(deps.source, ctx.discovery, after, chunkRows, range.upTo);
    if (!b) break;
    boundaries.push(encodeKey(b));
    after = b;
  }
  // A key count that is a multiple of `chunkRows` ends on a boundary: without this, the last chunk would be empty
  // (one more activity, manifest and window for nothing). The chunk before it then reaches to the range's end.
  if (after !== range.after && !(await nextChunkBoundary(deps.source, ctx.discovery, after, 1, range.upTo)))
    boundaries.pop();
  const first = encodeKey(range.after ?? null);
  const last = encodeKey(range.upTo ?? null);
  const count = boundaries.length + 1;
  return Array.from({ length: count }, (_v, i) => ({
    index: i,
    after: i === 0 ? first : (boundaries[i - 1] ?? null),
    upTo: i === count - 1 ? last : (boundaries[i] ?? null),
    count,
    jobPosition: position,
  }));
}
