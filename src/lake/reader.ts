/**
 * Reads a table back from the lake with DuckDB, the way every downstream reader must: committed manifests →
 * the files they list (never a directory listing of `data/`). Files are downloaded (MD5-verified) to a local
 * cache directory, because DuckDB's azure extension cannot be installed offline; a file already in the cache
 * with the manifest's MD5 is not downloaded again.
 *
 * Views created in the DuckDB connection:
 * - `changes`: every event, all schema versions unioned by column name (older files read NULL for added columns);
 * - `latest`: the last event per key by `_pos`, tombstones (`_op = 'd'`) removed — the table's current state;
 * - `op_counts`: rows per `_op`.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { md5OfFile } from './blob-store.js';
import type { LakeTable } from './lake-table.js';
import { committedSequences, readManifest, type Manifest } from './manifest.js';
import { dataFileColumns } from './validate-window.js';
import { queryRows, type ScalarRow } from './duckdb.js';
import { duckdbTypeSql, storedKeyNames } from './lake-types.js';
import { quoteIdent, quoteLiteral } from './parquet-writer.js';
import { latestSchema, type SchemaDoc } from './schema-registry.js';

export interface OpenLakeReaderInput {
  readonly lake: LakeTable;
  /** Local cache of downloaded files; a temp directory (removed on close) by default. */
  readonly cacheDir?: string;
}

/** A DuckDB session over one table's committed windows. */
export class LakeReader {
  private constructor(
    private readonly instance: DuckDBInstance,
    /** The DuckDB connection with the views; use it for ad-hoc SQL. */
    readonly connection: DuckDBConnection,
    /** The committed manifests read, in sequence order. */
    readonly manifests: readonly Manifest[],
    readonly schema: SchemaDoc | undefined,
    private readonly ownedCacheDir: string | undefined,
  ) {}

  static async open(input: OpenLakeReaderInput): Promise<LakeReader> {
    const { lake } = input;
    const cacheDir = input.cacheDir ?? (await mkdtemp(join(tmpdir(), 'tidemark-read-')));
    const ownedCacheDir = input.cacheDir === undefined ? cacheDir : undefined;
    await mkdir(cacheDir, { recursive: true });
    const manifests: Manifest[] = [];
    for (const seq of await committedSequences(lake)) {
      const m = await readManifest(lake, seq);
      if (m) manifests.push(m);
    }
    const schema = await latestSchema(lake.store, lake.layout);
    const locals: string[] = [];
    for (const m of manifests) {
      for (const f of m.files) {
        const local = join(cacheDir, f.path.replace(/[^\w.=-]/g, '_'));
        if (!(existsSync(local) && (await md5OfFile(local)) === f.md5)) {
          const got = await lake.store.downloadToFile(lake.layout.resolve(f.path), local);
          if (got.md5 !== f.md5) {
            throw new Error(`${f.path}: MD5 differs from its manifest (${m.sequence})`);
          }
        }
        locals.push(local);
      }
    }
    const instance = await DuckDBInstance.create(':memory:', { threads: '2' });
    const conn = await instance.connect();
    const reader = new LakeReader(instance, conn, manifests, schema, ownedCacheDir);
    try {
      await reader.createViews(locals);
    } catch (err) {
      await reader.close();
      throw err;
    }
    return reader;
  }

  private async createViews(locals: string[]): Promise<void> {
    const conn = this.connection;
    if (locals.length > 0) {
      await conn.run(
        `CREATE VIEW changes AS SELECT * FROM read_parquet([${locals.map(quoteLiteral).join(', ')}], union_by_name = true)`,
      );
    } else if (this.schema) {
      const cols = dataFileColumns(this.schema).map((c) => `${quoteIdent(c.name)} ${duckdbTypeSql(c.type)}`);
      await conn.run(`CREATE TABLE changes (${cols.join(', ')})`);
    } else {
      await conn.run('CREATE TABLE changes (_op VARCHAR, _pos VARCHAR, _window_id BIGINT)');
    }
    const keys = (this.schema ? storedKeyNames(this.schema.columns, this.schema.keyColumns) : []).map(quoteIdent);
    const partition = keys.length ? `PARTITION BY ${keys.join(', ')}` : '';
    await conn.run(
      `CREATE VIEW latest AS SELECT * EXCLUDE (_rn) FROM (
         SELECT *, row_number() OVER (${partition} ORDER BY _pos DESC) AS _rn FROM changes
       ) WHERE _rn = 1 AND _op <> 'd'`,
    );
    await conn.run(
      `CREATE VIEW op_counts AS SELECT _op, count(*)::BIGINT AS rows FROM changes GROUP BY _op ORDER BY _op`,
    );
  }

  /** Runs SQL over the views; rows as JSON-safe objects (big integers and decimals as exact strings). */
  async query(sql: string): Promise<Record<string, unknown>[]> {
    return (await this.connection.runAndReadAll(sql)).getRowObjectsJson();
  }

  /** Rows per op, e.g. `{ c: 10, u: 2, d: 1, r: 0 }`. */
  async opCounts(): Promise<Record<string, number>> {
    const out: Record<string, number> = { c: 0, u: 0, d: 0, r: 0 };
    for (const r of await queryRows(this.connection, 'SELECT _op, rows FROM op_counts'))
      out[String(r._op)] = Number(r.rows);
    return out;
  }

  /** Rows of `sql` with scalar columns only. */
  async scalars(sql: string): Promise<ScalarRow[]> {
    return queryRows(this.connection, sql);
  }

  async close(): Promise<void> {
    this.connection.closeSync();
    this.instance.closeSync();
    if (this.ownedCacheDir) await rm(this.ownedCacheDir, { recursive: true, force: true });
  }
}
