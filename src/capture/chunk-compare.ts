/**
 * Source rows against the lake's latest state, per key range — what the late-update sweep, backfills and
 * `verify` compare.
 *
 * Canonical encoding (why both sides cannot differ spuriously): the source rows are read with the same column
 * readers as extraction, go through the same PHI plan (dropped / HMAC-hashed columns) and are written by the
 * same Parquet writer as a window's files; DuckDB then reads both sides — that local Parquet and the lake's
 * Parquet — cast to the same registered schema types, and hashes each row's text with the same expression. So
 * every value takes the identical type round trip on both sides (SQL Server → lake value → Parquet → DuckDB);
 * a checksum computed by SQL Server itself (HASHBYTES over SQL Server's text conversions) could not be matched
 * by the lake for hashed PHI columns at all, and would depend on reproducing SQL Server's CONVERT styles for
 * every type in DuckDB.
 *
 * Only counts and checksums leave this module; row values stay in the worker's scratch directory.
 */
import type { LakeColumn, LakeValue } from '../domain/values.js';
import {
  HUNDRED_NS_SUFFIX,
  duckdbTypeSql,
  hasHundredNsCompanion,
  storedColumns,
  storedKeyNames,
} from '../lake/lake-types.js';
import { ParquetWriter, quoteIdent, quoteLiteral } from '../lake/parquet-writer.js';
import { text } from '../lake/duckdb.js';
import type { LakeReader } from '../lake/reader.js';
import type { SchemaDoc } from '../lake/schema-registry.js';
import type { ChangeBatch } from '../source/index.js';

/** DuckDB SQL of one checksum over `view`'s rows (`cols`, ordered by `keys`): MD5 over the rows' MD5s. */
export function rowsChecksumSql(cols: string, keys: string, view: string): string {
  return `SELECT coalesce(md5(string_agg(md5(CAST(ROW(${cols}) AS VARCHAR)), '' ORDER BY ${keys || cols})), '') FROM ${view}`;
}

/**
 * Writes the source rows of `batches` (projected to `schema` through the table's PHI plan) to local Parquet
 * and creates the DuckDB view `viewName` over them (the schema's columns, exact types). Returns the row count.
 */
export async function loadSourceRows(
  reader: LakeReader,
  schema: SchemaDoc,
  project: (columns: readonly LakeColumn[]) => (values: readonly LakeValue[]) => LakeValue[],
  batches: AsyncIterable<ChangeBatch>,
  dir: string,
  viewName: string,
): Promise<number> {
  const writer = await ParquetWriter.create({ columns: schema.columns, dir, partRows: 1_000_000 });
  let rows = 0;
  try {
    const projectors = new WeakMap<readonly LakeColumn[], (v: readonly LakeValue[]) => LakeValue[]>();
    for await (const b of batches) {
      let p = projectors.get(b.columns);
      if (!p) {
        p = project(b.columns);
        projectors.set(b.columns, p);
      }
      for (const row of b.rows) {
        const flushing = writer.append(viewName, p(row.values));
        if (flushing) await flushing;
        rows++;
      }
    }
  } catch (err) {
    writer.close();
    throw err;
  }
  const parts = await writer.finish();
  writer.close();
  const stored = storedColumns(schema.columns);
  const cols = stored.map((c) => `CAST(${quoteIdent(c.name)} AS ${duckdbTypeSql(c.type)}) AS ${quoteIdent(c.name)}`);
  await reader.connection.run(
    parts.length
      ? `CREATE VIEW ${quoteIdent(viewName)} AS SELECT ${cols.join(', ')} FROM read_parquet([${parts.map((p) => quoteLiteral(p.localPath)).join(', ')}])`
      : `CREATE TABLE ${quoteIdent(viewName)} (${stored.map((c) => `${quoteIdent(c.name)} ${duckdbTypeSql(c.type)}`).join(', ')})`,
  );
  return rows;
}

/** What {@link compareWithLake} reports: counts and checksums only. */
export interface ChunkComparison {
  /** Source rows in the range. */
  sourceRows: number;
  /** Rows of the lake's latest state for the same keys. */
  lakeRows: number;
  sourceChecksum: string;
  lakeChecksum: string;
  /** The checksums differ: some source row is missing from, or different in, the lake's latest state. */
  differs: boolean;
}

/**
 * Compares the source rows in view `src` (from {@link loadSourceRows}) with the lake's latest state of the same
 * keys (last event per key by `_pos`, tombstones removed). Keys the lake holds but the source does not are not
 * this comparison's business (that is delete reconciliation), so a deleted row alone never makes a chunk differ.
 * Columns the lake's files do not have yet (added since) read as NULL, so an added column makes the chunk differ.
 */
export async function compareWithLake(
  reader: LakeReader,
  schema: SchemaDoc,
  sourceRows: number,
  src = 'src',
): Promise<ChunkComparison> {
  const conn = reader.connection;
  const present = new Set(
    (await reader.scalars('SELECT column_name FROM (DESCRIBE changes)')).map((r) => text(r.column_name).toLowerCase()),
  );
  const keyNames = storedKeyNames(schema.columns, schema.keyColumns);
  const keys = keyNames.map(quoteIdent);
  const stored = storedColumns(schema.columns);
  const has = (name: string) => present.has(name.toLowerCase());
  const lakeCols = schema.columns
    .flatMap((c) => {
      const value = has(c.name) ? quoteIdent(c.name) : 'NULL';
      const main = `CAST(${value} AS ${duckdbTypeSql(c.type)}) AS ${quoteIdent(c.name)}`;
      if (!hasHundredNsCompanion(c.type)) return [main];
      // A 7-digit timestamp's companion; NULL beside a value (written before a widening to 7 digits) means 0.
      const name = `${c.name}${HUNDRED_NS_SUFFIX}`;
      const digit = `coalesce(${has(name) ? quoteIdent(name) : 'NULL'}, 0)`;
      return [main, `CASE WHEN ${value} IS NULL THEN NULL ELSE ${digit} END::UTINYINT AS ${quoteIdent(name)}`];
    })
    .join(', ');
  const on = keyNames.map((k) => `c.${quoteIdent(k)} = s.${quoteIdent(k)}`).join(' AND ');
  // The key filter goes before the window function: it partitions by key, so only the chunk's keys are ranked.
  await conn.run(
    `CREATE VIEW ${quoteIdent(`lake_${src}`)} AS SELECT ${lakeCols} FROM (
       SELECT c.*, row_number() OVER (PARTITION BY ${keys.map((k) => `c.${k}`).join(', ')} ORDER BY c._pos DESC) AS _rn
       FROM changes c SEMI JOIN ${quoteIdent(src)} s ON ${on}
     ) WHERE _rn = 1 AND _op <> 'd'`,
  );
  const cols = stored.map((c) => quoteIdent(c.name)).join(', ');
  const one = async (sql: string) => text(Object.values((await reader.scalars(sql))[0] ?? {})[0]);
  const lakeRows = Number(await one(`SELECT count(*) FROM ${quoteIdent(`lake_${src}`)}`));
  const sourceChecksum = await one(rowsChecksumSql(cols, keys.join(', '), quoteIdent(src)));
  const lakeChecksum = await one(rowsChecksumSql(cols, keys.join(', '), quoteIdent(`lake_${src}`)));
  return {
    sourceRows,
    lakeRows,
    sourceChecksum,
    lakeChecksum,
    differs: sourceRows !== lakeRows || sourceChecksum !== lakeChecksum,
  };
}
