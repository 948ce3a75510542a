/** Small helpers over `@duckdb/node-api` shared by the lake's validator, reader and Delta checkpoints. */
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';

/** A result row of scalar columns (DuckDB's JSON conversion: big integers and decimals arrive as strings). */
export type ScalarRow = Record<string, string | number | boolean | null>;

/** Runs a query whose columns are all scalars and returns its rows as JSON-safe objects. */
export async function queryRows(conn: DuckDBConnection, sql: string): Promise<ScalarRow[]> {
  return (await conn.runAndReadAll(sql)).getRowObjectsJson() as ScalarRow[];
}

/** A scalar as text (`''` for null). */
export function text(v: string | number | boolean | null | undefined): string {
  return v === null || v === undefined ? '' : String(v);
}

/** Runs `fn` on a connection to a new in-memory DuckDB (`options`: e.g. `threads`), closed afterwards. */
export async function withDuckDb<T>(
  options: Record<string, string>,
  fn: (conn: DuckDBConnection) => Promise<T>,
): Promise<T> {
  const db = await DuckDBInstance.create(':memory:', options);
  const conn = await db.connect();
  try {
    return await fn(conn);
  } finally {
    conn.closeSync();
    db.closeSync();
  }
}
