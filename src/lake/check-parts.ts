/**
 * Check: the Parquet parts one stage call wrote, read back locally with DuckDB before they are uploaded — row
 * counts (per file, total and per op), the registered schema, key nulls, (key, position) uniqueness, the window
 * id. The upload then stores exactly these bytes (each block MD5-checked by the store, the file's MD5 recorded),
 * and validation proves from the store's properties that the files are present, of that size and that MD5
 * (validate-window.ts), so the checks need no download of what was just uploaded.
 *
 * The same read sums the table's control-total columns over the parts' `c`, `u` and `r` events (`sumColumns`),
 * so validation records the sums of exactly these bytes without downloading them again (validate-window.ts).
 *
 * The duplicate check spans the parts of one stage call (one segment of a window): an event's partition is a
 * function of its position (its commit date), so one (key, position) never lands in two partitions of a segment.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { CHANGE_OPS, type ChangeOp } from '../domain/values.js';
import { zeroOpCounts } from './control-totals.js';
import { queryRows, text, withDuckDb, type ScalarRow } from './duckdb.js';
import { EVENT_LAKE_COLUMNS, duckdbTypeSql, storedColumns } from './lake-types.js';
import { quoteIdent, quoteLiteral } from './parquet-writer.js';
import type { SchemaDoc } from './schema-registry.js';
import type { LakeColumn } from '../domain/values.js';
import type { ControlSums } from '../domain/decimal-sum.js';

/** All physical columns of a data file of this schema version. */
export function dataFileColumns(schema: SchemaDoc): LakeColumn[] {
  return storedColumns([...EVENT_LAKE_COLUMNS, ...schema.columns]);
}

/** One local part file and the rows the writer put in it. */
export interface LocalPart {
  readonly localPath: string;
  readonly rows: number;
}

export interface CheckPartsInput {
  readonly schema: SchemaDoc;
  /** The window's sequence: every row must carry it as `_window_id`. */
  readonly windowSequence: number;
  readonly parts: readonly LocalPart[];
  /** What the stage counted while writing. */
  readonly rows: number;
  readonly opCounts: Readonly<Record<ChangeOp, number>>;
  /** Control-total columns to sum over the `c`, `u` and `r` events (`tables[].quality.controlTotals`). */
  readonly sumColumns?: readonly string[];
}

/** What the check found: every problem (none: the parts hold exactly what was staged), and the sums. */
export interface PartsCheck {
  readonly problems: string[];
  /**
   * The sums of `sumColumns` (exact decimal text as DuckDB writes `sum(x)::VARCHAR`; NULL when no event carried a
   * value). Absent when no column is asked for, or one is not an integer or decimal column of the schema (then
   * validation sums the files as before, and fails as before on such a column).
   */
  readonly sums?: ControlSums;
}

/** Checks the parts, and sums the control-total columns. */
export async function checkParts(input: CheckPartsInput): Promise<PartsCheck> {
  const problems: string[] = [];
  const columns = summable(input.schema, input.sumColumns ?? []);
  const sums: Record<string, string | null> | undefined = columns && Object.fromEntries(columns.map((c) => [c, null]));
  if (input.parts.length === 0) {
    if (input.rows !== 0) problems.push(`extracted ${input.rows} rows but wrote no file`);
  } else await withDuckDb({ threads: '2' }, (conn) => checkFiles(input, conn, problems, sums));
  return { problems, ...(sums ? { sums } : {}) };
}

/** `columns` when each is an integer or decimal column of the schema (case-insensitive), else undefined. */
function summable(schema: SchemaDoc, columns: readonly string[]): readonly string[] | undefined {
  if (columns.length === 0) return undefined;
  const byName = new Map(schema.columns.map((c) => [c.name.toLowerCase(), c]));
  const exact = new Set(['uint8', 'int16', 'int32', 'int64', 'decimal']);
  return columns.every((c) => exact.has(byName.get(c.toLowerCase())?.type.kind ?? '')) ? columns : undefined;
}

/** Row count of each file, then schema and contents. */
async function checkFiles(
  input: CheckPartsInput,
  conn: DuckDBConnection,
  problems: string[],
  sums: Record<string, string | null> | undefined,
): Promise<void> {
  const { schema } = input;
  for (const p of input.parts) {
    const [n] = await queryRows(conn, `SELECT count(*)::BIGINT AS n FROM read_parquet(${quoteLiteral(p.localPath)})`);
    const rows = Number(n?.n);
    if (rows !== p.rows) problems.push(`${fileName(p.localPath)}: holds ${rows} rows, the writer says ${p.rows}`);
  }
  const files = `read_parquet([${input.parts.map((p) => quoteLiteral(p.localPath)).join(', ')}])`;
  // Schema: names and types, in order, exactly as the registered version.
  const described = await queryRows(conn, `DESCRIBE SELECT * FROM ${files}`);
  const expected = dataFileColumns(schema).map((c) => `${c.name} ${duckdbTypeSql(c.type)}`);
  const actual = described.map((r) => `${text(r.column_name)} ${text(r.column_type)}`);
  const norm = (s: string) => s.replace(/"/g, '').replace(/\s+/g, ' ').toUpperCase();
  if (expected.map(norm).join('|') !== actual.map(norm).join('|')) {
    problems.push(`file columns differ from schema version ${schema.version}`);
    return;
  }
  await checkContents(input, conn, files, problems, sums);
}

/** Counts per op, NULL keys, foreign window ids and duplicate (key, position) pairs; fills `sums`. */
async function checkContents(
  input: CheckPartsInput,
  conn: DuckDBConnection,
  files: string,
  problems: string[],
  sums: Record<string, string | null> | undefined,
) {
  const keys = input.schema.keyColumns.map(quoteIdent);
  const byOp = zeroOpCounts();
  const sumColumns = Object.keys(sums ?? {});
  const [facts] = await queryRows(
    conn,
    `SELECT count(*)::BIGINT AS n,
            ${CHANGE_OPS.map((op) => `count(*) FILTER (WHERE _op = '${op}')::BIGINT AS op_${op}`).join(', ')},
            count(*) FILTER (WHERE _op NOT IN (${CHANGE_OPS.map((op) => `'${op}'`).join(', ')}))::BIGINT AS bad_ops,
            count(*) FILTER (WHERE ${keys.map((k) => `${k} IS NULL`).join(' OR ')})::BIGINT AS null_keys,
            ${sumColumns.map((c, i) => `${controlSumSql(c, i)}, `).join('')}
            count(*) FILTER (WHERE _window_id <> ${input.windowSequence})::BIGINT AS foreign_rows
       FROM ${files}`,
  );
  if (sums) Object.assign(sums, controlSumsOf(facts, sumColumns));
  for (const op of CHANGE_OPS) byOp[op] = Number(facts?.[`op_${op}`]);
  if (Number(facts?.bad_ops) > 0) problems.push('a row has an unknown _op');
  for (const op of CHANGE_OPS)
    if (byOp[op] !== input.opCounts[op])
      problems.push(`op ${op}: files hold ${byOp[op]} rows, extracted ${input.opCounts[op]}`);
  const total = Number(facts?.n);
  if (total !== input.rows) problems.push(`files hold ${total} rows, extracted ${input.rows}`);
  if (Number(facts?.null_keys) > 0) problems.push(`${text(facts?.null_keys)} rows have a NULL key column`);
  if (Number(facts?.foreign_rows) > 0) problems.push(`${text(facts?.foreign_rows)} rows carry another window id`);
  const [dups] = await queryRows(
    conn,
    `SELECT count(*)::BIGINT AS n FROM (SELECT 1 FROM ${files} GROUP BY ${[...keys, '_pos'].join(', ')} HAVING count(*) > 1)`,
  );
  if (Number(dups?.n) > 0) problems.push(`${text(dups?.n)} (key, position) pairs occur more than once`);
}

const fileName = (path: string) => path.slice(path.lastIndexOf('/') + 1);

/**
 * The sum of control-total column `column` over the events that carry a row's values (not `d`), as exact text
 * (`sum(x)::VARCHAR`: HUGEINT for integers, the decimal's scale), selected as `s<i>`. One expression for the sums
 * taken while staging and for the fallback over downloaded files (control-sums.ts), so both give the same text.
 */
export function controlSumSql(column: string, i: number): string {
  return `(sum(${quoteIdent(column)}) FILTER (WHERE _op <> 'd'))::VARCHAR AS s${i}`;
}

/** The sums selected by {@link controlSumSql} from `row`, by column (NULL: no event carried a value). */
export function controlSumsOf(row: ScalarRow | undefined, columns: readonly string[]): Record<string, string | null> {
  return Object.fromEntries(
    columns.map((c, i) => {
      const v = row?.[`s${i}`];
      return [c, v === null || v === undefined ? null : text(v)];
    }),
  );
}
