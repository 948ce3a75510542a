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
 * ({@link RANGE_SAFE_KEY_KINDS}); other keys (strings under a collation, uniqueidentifier) reconcile as one
 * chunk, still with bounded memory on the worker.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Context } from '@temporalio/activity';
import { dataFileColumns } from '../lake/commit.js';
import { duckdbTypeSql } from '../lake/lake-types.js';
import { unscaledToDecimalText, type LakeColumn, type LakeValue } from '../domain/values.js';
import { utcDateOfNanos } from '../lake/layout.js';
import { ParquetWriter, quoteIdent, quoteLiteral } from '../lake/parquet-writer.js';
import { LakeReader } from '../lake/reader.js';
import { readChunkKeys } from '../source/index.js';
import { type KeyValues } from '../domain/keys.js';
import type { RunChunkInput, RunChunkOutput } from './contracts.js';
import type { ActivityDeps } from './dependencies.js';
import { type TableContext } from './table-context.js';
import { lakePosition } from '../domain/positions.js';

/** Key column kinds ordered the same way by SQL Server and DuckDB, so a key range means the same keys on both. */
export const RANGE_SAFE_KEY_KINDS: ReadonlySet<string> = new Set([
  'uint8',
  'int16',
  'int32',
  'int64',
  'decimal',
  'date',
]);

/** A DuckDB literal of a key value of a range-safe column. */
function keyLiteral(c: LakeColumn, v: LakeValue): string {
  if (v === null) return 'NULL';
  const t = duckdbTypeSql(c.type);
  switch (c.type.kind) {
    case 'date':
      return `CAST(DATE '1970-01-01' + INTERVAL (${Number(v)}) DAY AS DATE)`;
    case 'decimal': {
      const d = v as { unscaled: bigint; scale: number } | string;
      return `CAST(${quoteLiteral(typeof d === 'string' ? d : unscaledToDecimalText(d.unscaled, d.scale))} AS ${t})`;
    }
    default:
      // Integer kinds: a JS number or bigint.
      return `CAST(${quoteLiteral((v as bigint | number).toString())} AS ${t})`;
  }
}

/** `(k1, k2, …) op (v1, v2, …)` for a composite key, as an OR-expansion (op `>` or `<=`). */
function keyBound(cols: readonly LakeColumn[], key: KeyValues, op: '>' | '<='): string {
  return cols
    .map((_c, i) => {
      const eqs = cols.slice(0, i).map((c, j) => `l.${quoteIdent(c.name)} = ${keyLiteral(c, key[j] ?? null)}`);
      const last = op === '>' ? '>' : i === cols.length - 1 ? '<=' : '<';
      return `(${[...eqs, `l.${quoteIdent(cols[i]!.name)} ${last} ${keyLiteral(cols[i]!, key[i] ?? null)}`].join(' AND ')})`;
    })
    .join(' OR ');
}

export async function reconcileChunk(
  deps: ActivityDeps,
  ctx: TableContext,
  input: RunChunkInput & { firstSeq: number; range: { after?: KeyValues; upTo?: KeyValues } },
  position: string,
): Promise<RunChunkOutput> {
  const t0 = Date.now();
  const seq = input.firstSeq + input.chunk.index;
  const scratch = await mkdtemp(join(deps.scratchDir ?? tmpdir(), 'tidemark-reconcile-'));
  let reader: LakeReader | undefined;
  try {
    reader = await LakeReader.open({ lake: ctx.lake, cacheDir: join(scratch, 'lake') });
    const schema = reader.schema;
    if (!schema) throw new Error(`${ctx.ref.id} has no schema in the lake: snapshot it first`);
    const keyColumns = ctx.discovery.key.map((k) => {
      const c = schema.columns.find((s) => s.name.toLowerCase() === k.toLowerCase());
      if (!c) throw new Error(`key column ${k} is not in the lake schema`);
      return c;
    });
    const writer = await ParquetWriter.create({ columns: keyColumns, dir: scratch });
    let sourceRows = 0;
    try {
      for await (const keys of readChunkKeys(deps.source, ctx.discovery, {
        ...input.range,
        timeoutMs: ctx.config.limits.queryTimeout.ms,
      }))
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
    const keyDefs = keyColumns.map((c) => `${quoteIdent(c.name)} ${duckdbTypeSql(c.type)}`).join(', ');
    await conn.run(`CREATE TABLE src_keys (${keyDefs})`);
    if (parts.length)
      await conn.run(
        `INSERT INTO src_keys SELECT * FROM read_parquet([${parts.map((p) => quoteLiteral(p.localPath)).join(', ')}])`,
      );
    let activityAttempt = 1;
    try {
      activityAttempt = Context.current().info.attempt;
    } catch {
      // direct call
    }
    const attemptId = `${input.attempt}-${activityAttempt}-${randomBytes(4).toString('hex')}-rec`;
    const extractedAt = BigInt(Date.now()) * 1_000_000n;
    const pos = lakePosition(position);
    const event: Record<string, string> = {
      _op: `'d'`,
      _pos: quoteLiteral(pos),
      _commit_ts: 'NULL',
      _window_id: String(seq),
      _extracted_at: `make_timestamp(${extractedAt / 1000n})`,
    };
    const select = dataFileColumns(schema)
      .map(
        (c) =>
          `CAST(${event[c.name] ?? `l.${quoteIdent(c.name)}`} AS ${duckdbTypeSql(c.type)}) AS ${quoteIdent(c.name)}`,
      )
      .join(', ');
    const on = keyColumns.map((c) => `l.${quoteIdent(c.name)} = s.${quoteIdent(c.name)}`).join(' AND ');
    const range = [
      ...(input.range.after ? [`(${keyBound(keyColumns, input.range.after, '>')})`] : []),
      ...(input.range.upTo ? [`(${keyBound(keyColumns, input.range.upTo, '<=')})`] : []),
      `l._pos < ${quoteLiteral(pos)}`,
    ].join(' AND ');
    const query = `SELECT ${select} FROM latest l ANTI JOIN src_keys s ON ${on} WHERE ${range}`;
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
      readAt: position,
    };
    if (rows === 0) return { sourceRowsRead: sourceRows, staged: { ...base, files: [], durationMs: Date.now() - t0 } };
    const local = join(scratch, 'tombstones.parquet');
    await conn.run(`COPY (${query}) TO ${quoteLiteral(local)} (FORMAT parquet, COMPRESSION zstd)`);
    const commitDate = utcDateOfNanos(extractedAt);
    const path = ctx.lake.layout.dataFileRelative(commitDate, seq, attemptId, 0);
    const up = await ctx.lake.store.uploadFileIfAbsent(ctx.lake.layout.resolve(path), local, {
      contentType: 'application/vnd.apache.parquet',
    });
    deps.logger.info({ table: ctx.ref.id, window: seq, tombstones: rows }, 'reconciliation staged tombstones');
    return {
      sourceRowsRead: sourceRows,
      staged: {
        ...base,
        files: [{ path, rows, bytes: up.bytes, md5: up.md5, commitDate }],
        durationMs: Date.now() - t0,
      },
    };
  } finally {
    await reader?.close();
    await rm(scratch, { recursive: true, force: true });
  }
}
