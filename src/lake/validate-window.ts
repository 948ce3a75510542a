/**
 * Validate: re-reads a window's staged files (MD5-verified) with DuckDB and checks them against what was staged —
 * row counts (total and per op), the registered schema, key nulls, (key, position) uniqueness, the window id —
 * and computes the control totals the manifest records (rows, rows per op). Nothing is committed unless every check passes.
 */
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { CHANGE_OPS, type ChangeOp, type LakeColumn } from '../domain/values.js';
import { zeroOpCounts, type ControlTotals } from './control-totals.js';
import { queryRows, text, withDuckDb } from './duckdb.js';
import { WindowValidationError } from './errors.js';
import type { LakeTable } from './lake-table.js';
import { EVENT_LAKE_COLUMNS, duckdbTypeSql } from './lake-types.js';
import type { WindowRef } from './manifest.js';
import { quoteIdent, quoteLiteral } from './parquet-writer.js';
import type { SchemaDoc } from './schema-registry.js';
import type { StagedAttempt } from './stage-window.js';
import { withTempDir } from './temp-dir.js';

/** All physical columns of a data file of this schema version. */
export function dataFileColumns(schema: SchemaDoc): LakeColumn[] {
  return [...EVENT_LAKE_COLUMNS, ...schema.columns];
}

export interface ValidateWindowInput {
  readonly lake: LakeTable;
  readonly schema: SchemaDoc;
  /** The window validated: every row must carry its sequence as `_window_id`. */
  readonly window: WindowRef;
  readonly staged: StagedAttempt;
  /** Parent of the local scratch directory (the OS temp directory by default); the directory is removed after. */
  readonly scratchDir?: string;
  /** Numeric columns whose sums over the `c`, `u` and `r` events become control totals (`tables[].quality`). */
  readonly controlColumns?: readonly string[];
}

export interface ValidateWindowOutput {
  readonly controlTotals: ControlTotals;
}

/**
 * Validate: downloads the staged files (MD5-verified against the stage's record), and checks with DuckDB:
 * file row counts = staged counts (total and per op), schema = the registered version, no NULL key, no
 * duplicate (key, position), every row of this window. Throws {@link WindowValidationError} listing every problem.
 */
export async function validateWindow(input: ValidateWindowInput): Promise<ValidateWindowOutput> {
  const { lake, schema, staged } = input;
  const problems: string[] = [];
  if (staged.schemaVersion !== schema.version)
    problems.push(`staged with schema version ${staged.schemaVersion}, validating against ${schema.version}`);
  let byOp = zeroOpCounts();
  const sums: Record<string, string | null> = {};
  for (const c of input.controlColumns ?? []) sums[c] = null;
  if (staged.files.length === 0) {
    if (staged.rows !== 0) problems.push(`extracted ${staged.rows} rows but staged no file`);
  } else if (problems.length === 0) {
    byOp = await withTempDir('tidemark-validate-', input.scratchDir, (scratch) =>
      withDuckDb({ threads: '2' }, (conn) => checkFiles(input, conn, scratch, problems, sums)),
    );
  }
  if (problems.length) throw new WindowValidationError(lake.layout.id, input.window.sequence, problems);
  // Validate refuses a window with a NULL key or a duplicate (key, position): a receipt records them as 0.
  return {
    controlTotals: { rows: staged.rows, rowsByOp: byOp, sums, receipt: { nullKeys: 0, duplicateKeyPositions: 0 } },
  };
}

/** Downloads the files (MD5 and size against the staged record), then checks schema and contents: rows per op. */
async function checkFiles(
  input: ValidateWindowInput,
  conn: DuckDBConnection,
  scratch: string,
  problems: string[],
  sums: Record<string, string | null>,
) {
  const { lake, schema, staged } = input;
  const locals: string[] = [];
  for (const [i, f] of staged.files.entries()) {
    const local = join(scratch, `f${i}.parquet`);
    const got = await lake.store.downloadToFile(lake.layout.resolve(f.path), local);
    if (got.md5 !== f.md5) problems.push(`${f.path}: MD5 differs from the staged record`);
    if (got.bytes !== f.bytes) problems.push(`${f.path}: size differs from the staged record`);
    const [n] = await queryRows(conn, `SELECT count(*)::BIGINT AS n FROM read_parquet(${quoteLiteral(local)})`);
    const rows = Number(n?.n);
    if (rows !== f.rows) problems.push(`${f.path}: holds ${rows} rows, staged record says ${f.rows}`);
    locals.push(local);
  }
  const files = `read_parquet([${locals.map(quoteLiteral).join(', ')}])`;
  // Schema: names and types, in order, exactly as the registered version.
  const described = await queryRows(conn, `DESCRIBE SELECT * FROM ${files}`);
  const expected = dataFileColumns(schema).map((c) => `${c.name} ${duckdbTypeSql(c.type)}`);
  const actual = described.map((r) => `${text(r.column_name)} ${text(r.column_type)}`);
  const norm = (s: string) => s.replace(/"/g, '').replace(/\s+/g, ' ').toUpperCase();
  if (expected.map(norm).join('|') !== actual.map(norm).join('|')) {
    problems.push(`file columns differ from schema version ${schema.version}`);
    return zeroOpCounts();
  }
  const byOp = await checkContents(input, conn, files, problems);
  await controlSums(conn, files, sums);
  return byOp;
}

/**
 * Sums of the control-total columns over the events that carry a row's values (`c`, `u`, `r`; a delete's values
 * are the row it removed), as exact decimal text (DuckDB sums integers as HUGEINT and decimals at their scale).
 */
async function controlSums(conn: DuckDBConnection, files: string, sums: Record<string, string | null>) {
  const columns = Object.keys(sums);
  if (columns.length === 0) return;
  const [row] = await queryRows(
    conn,
    `SELECT ${columns.map((c, i) => `sum(${quoteIdent(c)})::VARCHAR AS s${i}`).join(', ')}
       FROM ${files} WHERE _op <> 'd'`,
  );
  columns.forEach((c, i) => {
    const v = row?.[`s${i}`];
    sums[c] = v === null || v === undefined ? null : text(v);
  });
}

/** Counts per op, NULL keys, foreign window ids and duplicate (key, position) pairs. */
async function checkContents(input: ValidateWindowInput, conn: DuckDBConnection, files: string, problems: string[]) {
  const { schema, staged } = input;
  const byOp = zeroOpCounts();
  const keys = schema.keyColumns.map(quoteIdent);
  const ops = await queryRows(conn, `SELECT _op, count(*)::BIGINT AS n FROM ${files} GROUP BY _op`);
  for (const r of ops) {
    const op = text(r._op) as ChangeOp;
    if (CHANGE_OPS.includes(op)) byOp[op] = Number(r.n);
    else problems.push('a row has an unknown _op');
  }
  for (const op of CHANGE_OPS)
    if (byOp[op] !== staged.opCounts[op])
      problems.push(`op ${op}: files hold ${byOp[op]} rows, extracted ${staged.opCounts[op]}`);
  const [facts] = await queryRows(
    conn,
    `SELECT count(*)::BIGINT AS n,
            count(*) FILTER (WHERE ${keys.map((k) => `${k} IS NULL`).join(' OR ')})::BIGINT AS null_keys,
            count(*) FILTER (WHERE _window_id <> ${input.window.sequence})::BIGINT AS foreign_rows
       FROM ${files}`,
  );
  const total = Number(facts?.n);
  if (total !== staged.rows) problems.push(`files hold ${total} rows, extracted ${staged.rows}`);
  if (Number(facts?.null_keys) > 0) problems.push(`${text(facts?.null_keys)} rows have a NULL key column`);
  if (Number(facts?.foreign_rows) > 0) problems.push(`${text(facts?.foreign_rows)} rows carry another window id`);
  const [dups] = await queryRows(
    conn,
    `SELECT count(*)::BIGINT AS n FROM (SELECT 1 FROM ${files} GROUP BY ${[...keys, '_pos'].join(', ')} HAVING count(*) > 1)`,
  );
  if (Number(dups?.n) > 0) problems.push(`${text(dups?.n)} (key, position) pairs occur more than once`);
  return byOp;
}
