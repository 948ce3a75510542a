/**
 * Delete reconciliation of one chunk, for tables whose capture cannot see deletes: the source's key set
 * (`chunkChecksum` with keys: only keys and hashes leave the server) against the keys of the lake's latest state;
 * each key gone from the source gets a `d` tombstone at the job's position, carrying the last values the lake
 * holds for it (so NOT NULL columns stay non-null, as a CDC delete's before-image would).
 *
 * The tombstone file is written by DuckDB straight from the lake's latest rows (values never pass through
 * JavaScript), cast to the registered schema's exact types, and uploaded under an attempt-unique name.
 *
 * Limits today: one chunk per job (the source key list is held in memory), rowversion tables only (their
 * job position orders after every committed row version).
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Context } from '@temporalio/activity';
import { dataFileColumns } from '../lake/commit.js';
import { duckdbTypeSql } from '../lake/lake-types.js';
import { utcDateOfNanos } from '../lake/layout.js';
import { ParquetWriter, quoteIdent, quoteLiteral } from '../lake/parquet-writer.js';
import { LakeReader } from '../lake/reader.js';
import { chunkChecksum } from '../source/index.js';
import type { RunChunkInput, RunChunkOutput } from './contracts.js';
import type { ActivityDeps } from './dependencies.js';
import { lakePosition, type TableContext } from './table-context.js';

export async function reconcileChunk(
  deps: ActivityDeps,
  ctx: TableContext,
  input: RunChunkInput & { firstSeq: number },
  position: string,
): Promise<RunChunkOutput> {
  const t0 = Date.now();
  const seq = input.firstSeq + input.chunk.index;
  const source = await chunkChecksum(deps.source, ctx.discovery, {
    withKeys: true,
    timeoutMs: ctx.config.limits.queryTimeout.ms,
  });
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
    try {
      for (const key of source.keys ?? []) {
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
    const query = `SELECT ${select} FROM latest l ANTI JOIN src_keys s ON ${on}`;
    const [count] = await reader.scalars(`SELECT count(*)::BIGINT AS n FROM (${query})`);
    const rows = Number(count?.n ?? 0);
    const base = {
      rows,
      opCounts: { c: 0, u: 0, d: rows, r: 0 },
      schemaVersion: schema.version,
      attemptId,
      minPosition: rows ? pos : null,
      maxPosition: rows ? pos : null,
      sourceRowsRead: source.rows,
      readAt: position,
    };
    if (rows === 0) return { sourceRowsRead: source.rows, staged: { ...base, files: [], durationMs: Date.now() - t0 } };
    const local = join(scratch, 'tombstones.parquet');
    await conn.run(`COPY (${query}) TO ${quoteLiteral(local)} (FORMAT parquet, COMPRESSION zstd)`);
    const commitDate = utcDateOfNanos(extractedAt);
    const path = ctx.lake.layout.dataFileRelative(commitDate, seq, attemptId, 0);
    const up = await ctx.lake.store.uploadFileIfAbsent(ctx.lake.layout.resolve(path), local, {
      contentType: 'application/vnd.apache.parquet',
    });
    deps.logger.info({ table: ctx.ref.id, window: seq, tombstones: rows }, 'reconciliation staged tombstones');
    return {
      sourceRowsRead: source.rows,
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
