/**
 * The activities of chunked jobs (snapshot, backfill, late-update sweep, delete reconciliation): planChunks
 * fixes the job's source position and its keyset chunk boundaries; runChunk reads one chunk at a recorded
 * position and stages it as one window.
 *
 * Sequence numbers: every chunk is staged and committed as a window (possibly empty), so chunk `i` of a job
 * that starts at `firstSeq` commits as `firstSeq + i` — the staged files carry `_window_id`, which must be known
 * when they are written. The cost is one (small) manifest per chunk; the gain is that a snapshot's last
 * chunk always commits, which is how the lake tells a complete snapshot from an interrupted one.
 */
import { ConfigError } from '../config/config-error.js';
import type { LakeValue } from '../lake/lake-types.js';
import { nextChunkBoundary, readChunk, snapshotPositioners, type KeyValues } from '../source/index.js';
import type { SnapshotPositioner } from '../source/chunks.js';
import type {
  KeyRange,
  PlanChunksInput,
  PlanChunksOutput,
  RunChunkInput,
  RunChunkOutput,
  WindowPlan,
} from './contracts.js';
import type { ActivityDeps } from './dependencies.js';
import { stageStream } from './window-activities.js';
import { reconcileChunk } from './reconcile.js';
import { lakePosition, tableContext, type TableContext } from './table-context.js';
import { quoteTable } from '../source/sql-text.js';

/** Key tuples cross Temporal as JSON with tagged big integers and bytes (keys only, never other columns). */
export function encodeKey(key: KeyValues | null): string | null {
  if (key === null) return null;
  return JSON.stringify(key, (_k, v: unknown) => {
    if (typeof v === 'bigint') return { $n: v.toString() };
    if (v instanceof Uint8Array) return { $x: Buffer.from(v).toString('hex') };
    if (v && typeof v === 'object' && 'unscaled' in v) {
      const d = v as { unscaled: bigint; scale: number };
      return { $d: d.unscaled.toString(), s: d.scale };
    }
    return v;
  });
}

export function decodeKey(text: string | null): KeyValues | undefined {
  if (text === null) return undefined;
  return JSON.parse(text, (_k, v: unknown) => {
    if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if (typeof o.$n === 'string') return BigInt(o.$n);
      if (typeof o.$x === 'string') return new Uint8Array(Buffer.from(o.$x, 'hex'));
      if (typeof o.$d === 'string') return { unscaled: BigInt(o.$d), scale: Number(o.s) };
    }
    return v;
  }) as LakeValue[];
}

function unsupported(ctx: TableContext, what: string): Error {
  return new ConfigError([
    {
      path: `tables[${ctx.config.name}]`,
      message: `${what} is not supported for capture strategy ${ctx.ref.strategy} yet`,
      fix: 'use a cdc, change_tracking or rowversion table for chunked jobs',
    },
  ]);
}

function positionerOf(ctx: TableContext): SnapshotPositioner {
  const c = ctx.config.capture;
  switch (c.strategy) {
    case 'cdc':
      return snapshotPositioners.cdc;
    case 'change_tracking':
      return snapshotPositioners.change_tracking;
    case 'rowversion':
      return snapshotPositioners.rowversion(c.column);
    case 'updated_at':
      return snapshotPositioners.updatedAt(c.column);
    case 'identity':
      return snapshotPositioners.identity(quoteTable(ctx.discovery.schema, ctx.discovery.table), c.column);
  }
}

/** The source position a job records before reading any chunk (where incremental sync resumes after a snapshot). */
async function jobPosition(deps: ActivityDeps, ctx: TableContext): Promise<string> {
  if (ctx.ref.strategy === 'cdc') {
    return snapshotPositioners.cdc.atStart((t) => deps.source.query<Record<string, unknown>>('job.position', t));
  }
  const w = await ctx.strategy.planWindow(null);
  return w.to;
}

export function chunkActivities(deps: ActivityDeps) {
  async function planChunks(input: PlanChunksInput): Promise<PlanChunksOutput> {
    const ctx = await tableContext(deps, input.table);
    if (input.job.kind === 'sweep') throw unsupported(ctx, 'the sweep job');
    if (input.job.kind === 'reconcile') {
      if (ctx.ref.strategy !== 'rowversion') throw unsupported(ctx, 'the reconcile job');
      // One chunk: the key-set diff holds the source's key list in memory (see reconcile.ts).
      const position = await jobPosition(deps, ctx);
      return { position, chunks: [{ index: 0, after: null, upTo: null, count: 1, jobPosition: position }] };
    }
    positionerOf(ctx);
    const position = await jobPosition(deps, ctx);
    const boundaries: string[] = [];
    let after: KeyValues | undefined;
    for (;;) {
      const b = await nextChunkBoundary(deps.source, ctx.discovery, after, input.chunkRows);
      if (!b) break;
      boundaries.push(encodeKey(b)!);
      after = b;
    }
    const chunks: KeyRange[] = [];
    const count = boundaries.length + 1;
    for (let i = 0; i < count; i++)
      chunks.push({
        index: i,
        after: boundaries[i - 1] ?? null,
        upTo: boundaries[i] ?? null,
        count,
        jobPosition: position,
      });
    deps.logger.info({ table: input.table.id, job: input.job.kind, chunks: count }, 'job planned');
    return { position, chunks };
  }

  async function runChunk(input: RunChunkInput): Promise<RunChunkOutput> {
    const ctx = await tableContext(deps, input.table);
    const { job, chunk } = input;
    const position = chunk.jobPosition;
    if (position === undefined) throw new Error('chunk without a job position (planned by an older planChunks)');
    if (input.firstSeq === undefined) throw new Error('runChunk needs firstSeq (the job workflow passes it)');
    if (job.kind === 'reconcile') return reconcileChunk(deps, ctx, { ...input, firstSeq: input.firstSeq }, position);
    const businessDate =
      job.kind === 'backfill'
        ? (() => {
            const column = ctx.config.businessDateColumn;
            if (!column) throw unsupported(ctx, 'a backfill without businessDateColumn');
            return { column, from: job.from, to: job.to };
          })()
        : undefined;
    const positioner = positionerOf(ctx);
    const after = decodeKey(chunk.after);
    const upTo = decodeKey(chunk.upTo);
    let rowsRead = 0;
    const batches = readChunk(
      deps.source,
      ctx.discovery,
      {
        ...(after ? { after } : {}),
        ...(upTo ? { upTo } : {}),
        limit: 2_000_000_000,
        positioner,
        ...(businessDate ? { businessDate } : {}),
        timeoutMs: ctx.config.limits.queryTimeout.ms,
      },
      (s) => {
        rowsRead = s.rowsRead;
      },
    );
    // rowversion and updated_at rows carry their own version: rows changed after the job's position are left to
    // incremental sync (which reads them with the same position), so no (key, position) lands twice.
    const ownVersion = ctx.ref.strategy === 'rowversion' || ctx.ref.strategy === 'updated_at';
    const limit = ownVersion ? lakePosition(position) : undefined;
    const filter = limit !== undefined ? (pos: string) => lakePosition(pos) <= limit : undefined;
    const window: WindowPlan = {
      seq: input.firstSeq + chunk.index,
      kind: job.kind,
      from: null,
      to: position,
      keyRange: chunk,
      plannedAt: new Date().toISOString(),
    };
    // Change Tracking: a chunk row read at CURRENT_VERSION() = V would share (key, V) with a change committed at
    // exactly V that the first windows re-read. `V` + 'f' orders after every change ≤ V and before any change
    // > V (a longer string with the same 20-digit prefix), so the snapshot row is its own event.
    const suffix = ctx.ref.strategy === 'change_tracking' ? 'f' : '';
    const staged = await stageStream(deps, ctx, window, input.attempt, batches, () => rowsRead, filter, suffix);
    return { sourceRowsRead: rowsRead, staged: { ...staged, sourceRowsRead: rowsRead, readAt: position } };
  }

  return { planChunks, runChunk };
}
