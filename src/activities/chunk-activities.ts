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
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../config/config-error.js';
import { quoteIdent } from '../lake/parquet-writer.js';
import { LakeReader } from '../lake/reader.js';
import { keyLakeKinds, nextChunkBoundary, readChunk, snapshotPositioners, type ChangeBatch } from '../source/index.js';
import { type KeyValues } from '../domain/keys.js';
import type { SnapshotPositioner } from '../source/chunks.js';
import { quoteTable } from '../source/sql-text.js';
import { JobArgumentError, jobSpecProblem } from '../state/job-spec.js';
import { compareWithLake, loadSourceRows, type ChunkComparison } from './chunk-compare.js';
import type { PlanChunksInput, PlanChunksOutput, RunChunkInput, RunChunkOutput } from './contracts.js';
import type { JobSpec, KeyRange } from '../domain/jobs.js';
import type { WindowPlan } from '../domain/window.js';
import type { ActivityDeps } from './dependencies.js';
import { stageStream } from './window-activities.js';
import { RANGE_SAFE_KEY_KINDS, reconcileChunk } from './reconcile.js';
import { tableContext, type TableContext } from './table-context.js';
import { lakePosition } from '../domain/positions.js';
import { decodeKey, encodeKey } from '../domain/keys.js';

function unsupported(ctx: TableContext, what: string): Error {
  return new ConfigError([
    {
      path: `tables[${ctx.config.name}]`,
      message: `${what} is not supported for capture strategy ${ctx.ref.strategy}`,
      fix: 'run the job on a table whose configuration supports it (see docs/jobs.md)',
    },
  ]);
}

/** How a chunk's `r` rows get their `_pos`, per strategy (each orders after every event the lake holds for the key). */
function positionerOf(ctx: TableContext): SnapshotPositioner {
  const c = ctx.config.capture;
  switch (c.strategy) {
    case 'cdc':
      return snapshotPositioners.cdc;
    case 'change_tracking':
      return snapshotPositioners.change_tracking;
    case 'rowversion':
      return snapshotPositioners.rowversion(c.column);
    case 'identity':
      return snapshotPositioners.identity(quoteTable(ctx.discovery.schema, ctx.discovery.table), c.column);
    case 'updated_at':
      return snapshotPositioners.updatedAt(c.safetyLag.ms);
  }
}

/**
 * The source position a job records before reading any chunk. A snapshot's is where incremental sync resumes
 * (the strategy's own window format); the other jobs' is the position their events are written at: CDC's max
 * LSN, the strategy's upper bound for Change Tracking and rowversion, and for identity and updated_at the
 * chunk positioner's (which orders after every event the lake holds).
 */
async function jobPosition(deps: ActivityDeps, ctx: TableContext, kind: JobSpec['kind']): Promise<string> {
  const q = (t: string) => deps.source.query<Record<string, unknown>>('job.position', t);
  if (ctx.ref.strategy === 'cdc') return snapshotPositioners.cdc.atStart(q);
  if (kind !== 'snapshot' && (ctx.ref.strategy === 'identity' || ctx.ref.strategy === 'updated_at'))
    return positionerOf(ctx).atStart(q);
  const w = await ctx.strategy.planWindow(null);
  return w.to;
}

/** Chunks of `(after, upTo]` of about `chunkRows` keys each, bounded by source keys. */
async function planKeyChunks(
  deps: ActivityDeps,
  ctx: TableContext,
  range: { after?: KeyValues; upTo?: KeyValues },
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
  const first = encodeKey(range.after ?? null);
  const last = encodeKey(range.upTo ?? null);
  if (boundaries[boundaries.length - 1] === last && last !== null) boundaries.pop();
  const count = boundaries.length + 1;
  return Array.from({ length: count }, (_v, i) => ({
    index: i,
    after: i === 0 ? first : (boundaries[i - 1] ?? null),
    upTo: i === count - 1 ? last : (boundaries[i] ?? null),
    count,
    jobPosition: position,
  }));
}

export function chunkActivities(deps: ActivityDeps) {
  async function planChunks(input: PlanChunksInput): Promise<PlanChunksOutput> {
    const { job } = input;
    // The CLI and the sync refuse wrong arguments already; a request from any other client stops here, before
    // SQL Server fails it the same way on every retry (e.g. a date that does not exist: error 241).
    const problem = jobSpecProblem(job);
    if (problem !== undefined) throw new JobArgumentError(job.kind, problem);
    const ctx = await tableContext(deps, input.table);
    if (job.kind === 'reconcile' && (ctx.ref.strategy === 'cdc' || ctx.ref.strategy === 'change_tracking'))
      throw unsupported(ctx, 'delete reconciliation (the capture sees deletes)');
    if (job.kind === 'backfill' && !ctx.config.businessDateColumn)
      throw unsupported(ctx, 'a backfill without businessDateColumn');
    let range: { after?: KeyValues; upTo?: KeyValues } = {};
    if (job.kind === 'sweep') {
      const r = await sweepKeyRange(deps, ctx, job.days);
      if (!r) {
        deps.logger.info(
          { table: input.table.id, job: job.kind, days: job.days },
          'nothing landed in the sweep period',
        );
        return { position: await jobPosition(deps, ctx, job.kind), chunks: [] };
      }
      range = r;
    }
    const position = await jobPosition(deps, ctx, job.kind);
    const chunks =
      job.kind === 'reconcile' && !keyLakeKinds(ctx.discovery).every((k) => RANGE_SAFE_KEY_KINDS.has(k))
        ? [{ index: 0, after: null, upTo: null, count: 1, jobPosition: position }]
        : await planKeyChunks(deps, ctx, range, input.chunkRows, position);
    deps.logger.info({ table: input.table.id, job: job.kind, chunks: chunks.length }, 'job planned');
    return { position, chunks };
  }

  async function runChunk(input: RunChunkInput): Promise<RunChunkOutput> {
    const ctx = await tableContext(deps, input.table);
    const { job, chunk } = input;
    const position = chunk.jobPosition;
    if (position === undefined) throw new Error('chunk without a job position (planned by an older planChunks)');
    if (input.firstSeq === undefined) throw new Error('runChunk needs firstSeq (the job workflow passes it)');
    const after = decodeKey(chunk.after);
    const upTo = decodeKey(chunk.upTo);
    if (job.kind === 'reconcile') {
      const range = { ...(after ? { after } : {}), ...(upTo ? { upTo } : {}) };
      return reconcileChunk(deps, ctx, { ...input, firstSeq: input.firstSeq, range }, position);
    }
    const businessDate =
      job.kind === 'backfill'
        ? (() => {
            const column = ctx.config.businessDateColumn;
            if (!column) throw unsupported(ctx, 'a backfill without businessDateColumn');
            return { column, from: job.from, to: job.to };
          })()
        : undefined;
    const positioner = positionerOf(ctx);
    let rowsRead = 0;
    const read = () =>
      readChunk(
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
          rowsRead += s.rowsRead;
        },
      );
    const window: WindowPlan = {
      seq: input.firstSeq + chunk.index,
      kind: job.kind,
      from: null,
      to: position,
      keyRange: chunk,
      plannedAt: new Date().toISOString(),
    };
    // Sweep and backfill compare first: a chunk whose source rows equal the lake's latest rows for the same keys
    // is staged empty (nothing written), so a sweep re-extracts only differing chunks and a backfill repeated
    // with no source change in between writes no event at all (no (key, position) twice).
    let compared: RunChunkOutput['compared'];
    if (job.kind === 'sweep' || job.kind === 'backfill') {
      const c = await compareChunk(deps, ctx, read());
      compared = { differs: c.differs, sourceRows: c.sourceRows, lakeRows: c.lakeRows };
      deps.logger.info(
        { table: ctx.ref.id, job: job.kind, chunk: chunk.index, ...compared },
        'chunk compared with the lake',
      );
    }
    const batches = compared && !compared.differs ? emptyBatches() : read();
    // rowversion rows carry their own version: rows changed after the job's position are left to incremental
    // sync (which reads them with the same position), so no (key, position) lands twice.
    const limit = ctx.ref.strategy === 'rowversion' ? lakePosition(position) : undefined;
    const filter = limit !== undefined ? (pos: string) => lakePosition(pos) <= limit : undefined;
    // Change Tracking: a chunk row read at CURRENT_VERSION() = V would share (key, V) with a change committed at
    // exactly V that the first windows re-read. `V` + 'f' orders after every change ≤ V and before any change
    // > V (a longer string with the same 20-digit prefix), so the snapshot row is its own event.
    // CDC and Change Tracking job positions repeat while the source's log does not move (no capture in between),
    // yet a later job may read newer rows (a change not captured yet): the job's first manifest sequence, fixed
    // width, makes each job's rows their own events and orders a later job's after an earlier one's, still
    // before any change logged after the job's position (its 20-digit prefix is larger).
    const jobOrder =
      ctx.ref.strategy === 'cdc' || ctx.ref.strategy === 'change_tracking'
        ? String(input.firstSeq).padStart(12, '0')
        : '';
    const suffix = (ctx.ref.strategy === 'change_tracking' ? 'f' : '') + jobOrder;
    const staged = await stageStream(deps, ctx, window, input.attempt, batches, () => rowsRead, filter, suffix);
    return {
      sourceRowsRead: rowsRead,
      staged: { ...staged, sourceRowsRead: rowsRead, readAt: position },
      ...(compared ? { compared } : {}),
    };
  }

  return { planChunks, runChunk };
}

async function* emptyBatches(): AsyncGenerator<ChangeBatch> {}

/** Source rows of one chunk against the lake's latest state of the same keys (see chunk-compare.ts). */
async function compareChunk(
  deps: ActivityDeps,
  ctx: TableContext,
  batches: AsyncIterable<ChangeBatch>,
): Promise<ChunkComparison> {
  const scratch = await mkdtemp(join(deps.scratchDir ?? tmpdir(), 'tidemark-compare-'));
  let reader: LakeReader | undefined;
  try {
    const schema = await ctx.schemaFor(ctx.strategy.columns);
    reader = await LakeReader.open({ lake: ctx.lake, cacheDir: join(scratch, 'lake') });
    const rows = await loadSourceRows(reader, schema, (cols) => ctx.projector(cols, schema), batches, scratch, 'src');
    return await compareWithLake(reader, schema, rows);
  } finally {
    await reader?.close();
    await rm(scratch, { recursive: true, force: true });
  }
}

/**
 * The key range of the sweep: from the lowest key whose first event landed in the lake within the last `days`
 * days, to the highest key the lake holds (keys above it are incremental sync's: not landed yet is not a late
 * update). For an identity table that is exactly the ids inserted in the last `days` days (ids only grow); for
 * any other key it is the smallest key range containing the rows created in that period. Key types whose order
 * SQL Server and DuckDB could disagree on (strings under a collation, uniqueidentifier) sweep the whole table.
 * Undefined when nothing landed in the period.
 */
async function sweepKeyRange(
  deps: ActivityDeps,
  ctx: TableContext,
  days: number,
): Promise<{ after?: KeyValues; upTo?: KeyValues } | undefined> {
  const scratch = await mkdtemp(join(deps.scratchDir ?? tmpdir(), 'tidemark-sweep-'));
  let reader: LakeReader | undefined;
  try {
    reader = await LakeReader.open({ lake: ctx.lake, cacheDir: join(scratch, 'lake') });
    const schema = reader.schema;
    if (!schema) throw new Error(`${ctx.ref.id} has no schema in the lake: it has not been loaded yet`);
    const cols = ctx.discovery.key.map((k) => {
      const c = schema.columns.find((s) => s.name.toLowerCase() === k.toLowerCase());
      if (!c) throw new Error(`key column ${k} of ${ctx.ref.id} is not in the lake schema`);
      return c;
    });
    const cutoff = BigInt(Date.now() - days * 86_400_000) * 1000n;
    const keys = cols.map((c) => quoteIdent(c.name)).join(', ');
    const [recent] = await reader.scalars(
      `SELECT count(*) AS n FROM (SELECT ${keys} FROM changes GROUP BY ${keys} HAVING min(epoch_us(_extracted_at)) >= ${cutoff})`,
    );
    if (Number(recent?.n ?? 0) === 0) return undefined;
    if (!cols.every((c) => RANGE_SAFE_KEY_KINDS.has(c.type.kind))) return {};
    const select = cols
      .map((c, i) => {
        const col = quoteIdent(c.name);
        const expr =
          c.type.kind === 'date'
            ? `datediff('day', DATE '1970-01-01', ${col})`
            : c.type.kind === 'int64' || c.type.kind === 'decimal'
              ? `CAST(${col} AS VARCHAR)`
              : `CAST(${col} AS INTEGER)`;
        return `${expr} AS k${i}`;
      })
      .join(', ');
    const asKey = (row: Record<string, string | number | boolean | null> | undefined): KeyValues | undefined =>
      row
        ? cols.map((c, i) => {
            const v = row[`k${i}`];
            if (v === null || v === undefined) return null;
            return c.type.kind === 'int64' ? BigInt(String(v)) : c.type.kind === 'decimal' ? String(v) : Number(v);
          })
        : undefined;
    const desc = cols.map((c) => `${quoteIdent(c.name)} DESC`).join(', ');
    const high = asKey((await reader.scalars(`SELECT ${select} FROM changes ORDER BY ${desc} LIMIT 1`))[0]);
    // The sweep starts after the highest key below the first recent one (exclusive lower bound).
    const before = cols
      .map((_c, i) => {
        const eqs = cols.slice(0, i).map((c, j) => `${quoteIdent(c.name)} = k.k${j}`);
        return `(${[...eqs, `${quoteIdent(cols[i]!.name)} < k.k${i}`].join(' AND ')})`;
      })
      .join(' OR ');
    const after = asKey(
      (
        await reader.scalars(
          `WITH k AS (SELECT ${cols.map((c, i) => `${quoteIdent(c.name)} AS k${i}`).join(', ')} FROM changes GROUP BY ${keys}
             HAVING min(epoch_us(_extracted_at)) >= ${cutoff} ORDER BY ${keys} LIMIT 1)
           SELECT ${select} FROM changes, k WHERE ${before} ORDER BY ${desc} LIMIT 1`,
        )
      )[0],
    );
    return { ...(after ? { after } : {}), ...(high ? { upTo: high } : {}) };
  } finally {
    await reader?.close();
    await rm(scratch, { recursive: true, force: true });
  }
}
