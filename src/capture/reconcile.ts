/**
 * Delete reconciliation of one key-range chunk `(after, upTo]`, for tables whose capture cannot see deletes: the
 * source's keys of the range (keys only, streamed to local Parquet — memory is one batch, whatever the chunk's
 * size) against the keys of the lake's latest state in the same range; each key gone from the source gets a
 * `d` tombstone at the job's position, carrying the last values the lake holds for it (so NOT NULL columns stay
 * non-null, as a CDC delete's before-image would). Keys whose latest event is already a tombstone are not in
 * the latest state, so they get no second one; a key whose latest event orders at or after the job's position
 * (changed since it was recorded) is left to the next run.
 *
 * The tombstone file is written by DuckDB straight from the lake's latest rows (values never pass through
 * JavaScript), cast to the registered schema's exact types, and uploaded under an attempt-unique name.
 *
 * Key ranges are bounded on the lake side in DuckDB's order, which must be SQL Server's for the chunks to mean
 * the same keys: planChunks makes several chunks only for integer, decimal and date keys
 * (RANGE_SAFE_KEY_KINDS, key-literals.ts); other keys (strings under a collation, uniqueidentifier) reconcile as one
 * chunk, still with bounded memory on the worker.
 */
import { join } from 'node:path';
import { dataFileColumns } from '../lake/validate-window.js';
import { duckdbTypeSql, storedColumns } from '../lake/lake-types.js';
import type { LakeColumn } from '../domain/values.js';
import { utcDateOfNanos } from '../lake/layout.js';
import { ParquetWriter, quoteIdent, quoteLiteral } from '../lake/parquet-writer.js';
import type { LakeReader } from '../lake/reader.js';
import type { SchemaDoc } from '../lake/schema-registry.js';
import { readChunkKeys } from '../source/index.js';
import { lakePosition } from '../domain/positions.js';
import type { ChunkResult } from './chunk-result.js';
import type { CaptureDeps } from './deps.js';
import { keyRangeSql } from './key-literals.js';
import type { ProgressSink } from './progress.js';
import { lakeKeyColumns, lakeSchemaOf, withLakeReader } from './scratch.js';
import { newAttemptId } from './stage-progress.js';
import type { KeyBounds } from './sweep-range.js';
import type { TableContext } from './table-context.js';

/** One reconciliation chunk: window `seq`, keys `range`, tombstones at the job's `position`. */
export interface ReconcileChunk {
  readonly seq: number;
  readonly workflowAttempt: number;
  readonly range: KeyBounds;
  readonly position: string;
}

export async function reconcileChunk(
  deps: CaptureDeps,
  ctx: TableContext,
  sink: ProgressSink,
  chunk: ReconcileChunk,
): Promise<ChunkResult> {
  const t0 = Date.now();
  return withLakeReader(ctx.lake, 'reconcile', deps.scratchDir, async (reader, scratch) => {
    const schema = lakeSchemaOf(reader, ctx.ref.id, ': snapshot it first');
    const keyColumns = lakeKeyColumns(schema, ctx.discovery.key, ctx.ref.id);
    const sourceRows = await loadSourceKeys(deps, ctx, reader, keyColumns, chunk.range, scratch);
    const attemptId = `${newAttemptId(chunk.workflowAttempt, sink)}-rec`;
    const extractedAt = BigInt(Date.now()) * 1_000_000n;
    const pos = lakePosition(chunk.position);
    const query = tombstoneQuery(schema, keyColumns, chunk, extractedAt);
    const [count] = await reader.scalars(`SELECT count(*)::BIGINT AS n FROM (${query})`);
    const rows = Number(count?.n ?? 0);
    const base = {
      rows,
      opCounts: { c: 0, u: 0, d: rows, r: 0 },
      schemaVersion: schema.version,
      attemptId,
      minPosition: rows ? pos : null,
      maxPosition: rows ? pos : null,
      sourceRowsRead: sourceRows,
      readAt: chunk.position,
    };
    if (rows === 0) return { sourceRowsRead: sourceRows, staged: { ...base, files: [], durationMs: Date.now() - t0 } };
    const local = join(scratch, 'tombstones.parquet');
    await reader.connection.run(`COPY (${query}) TO ${quoteLiteral(local)} (FORMAT parquet, COMPRESSION zstd)`);
    const commitDate = utcDateOfNanos(extractedAt);
    const path = ctx.lake.layout.dataFileRelative(commitDate, chunk.seq, attemptId, 0);
    const up = await ctx.lake.store.uploadFileIfAbsent(ctx.lake.layout.resolve(path), local, {
      contentType: 'application/vnd.apache.parquet',
    });
    deps.logger.info({ table: ctx.ref.id, window: chunk.seq, tombstones: rows }, 'reconciliation staged tombstones');
    return {
      sourceRowsRead: sourceRows,
      staged: {
        ...base,
        files: [{ path, rows, bytes: up.bytes, md5: up.md5, commitDate }],
        durationMs: Date.now() - t0,
      },
    };
  });
}

/** Streams the source's keys of `range` to local Parquet and loads them as DuckDB table `src_keys`. */
async function loadSourceKeys(
  deps: CaptureDeps,
  ctx: TableContext,
  reader: LakeReader,
  keyColumns: LakeColumn[],
  range: KeyBounds,
  scratch: string,
): Promise<number> {
  const writer = await ParquetWriter.create({ columns: keyColumns, dir: scratch });
  let sourceRows = 0;
  try {
    const timeoutMs = ctx.config.limits.queryTimeout.ms;
    for await (const keys of readChunkKeys(deps.source, ctx.discovery, { ...range, timeoutMs }))
      for (const key of keys) {
        sourceRows++;
        const flushing = writer.append('keys', key);
        if (flushing) await flushing;
      }
  } catch (err) {
    writer.close();
    throw err;
  }
  const parts = await writer.finish();
  writer.close();
  const conn = reader.connection;
  const keyDefs = storedColumns(keyColumns)
    .map((c) => `${quoteIdent(c.name)} ${duckdbTypeSql(c.type)}`)
    .join(', ');
  await conn.run(`CREATE TABLE src_keys (${keyDefs})`);
  if (parts.length)
    await conn.run(
      `INSERT INTO src_keys SELECT * FROM read_parquet([${parts.map((p) => quoteLiteral(p.localPath)).join(', ')}])`,
    );
  return sourceRows;
}

/**
 * The tombstones as one DuckDB query: the lake's latest rows of the range whose key the source no longer has
 * and whose latest event orders before the job's position, as `d` events of window `seq` at that position.
 */
function tombstoneQuery(
  schema: SchemaDoc,
  keyColumns: LakeColumn[],
  chunk: ReconcileChunk,
  extractedAt: bigint,
): string {
  const pos = lakePosition(chunk.position);
  const event: Record<string, string> = {
    _op: `'d'`,
    _pos: quoteLiteral(pos),
    _commit_ts: 'NULL',
    _window_id: String(chunk.seq),
    _extracted_at: `make_timestamp(${extractedAt / 1000n})`,
  };
  const select = dataFileColumns(schema)
    .map(
      (c) => `CAST(${event[c.name] ?? `l.${quoteIdent(c.name)}`} AS ${duckdbTypeSql(c.type)}) AS ${quoteIdent(c.name)}`,
    )
    .join(', ');
  const on = storedColumns(keyColumns)
    .map((c) => `l.${quoteIdent(c.name)} = s.${quoteIdent(c.name)}`)
    .join(' AND ');
  const where = [...keyRangeSql('l', keyColumns, chunk.range), `l._pos < ${quoteLiteral(pos)}`].join(' AND ');
  return `SELECT ${select} FROM latest l ANTI JOIN src_keys s ON ${on} WHERE ${where}`;
}
