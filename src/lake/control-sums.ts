/**
 * Sums of a window's control-total columns (`tables[].quality.controlTotals`) over its staged files: the events
 * that carry a row's values (`c`, `u`, `r`; a delete's values are the row it removed), as exact decimal text
 * (DuckDB sums integers as HUGEINT and decimals at their scale); NULL when no event carried a value.
 *
 * The fallback: staging computes the sums on the local parts and records them (check-parts.ts, the staged
 * attempt's `controlSums`), and validation takes them with the files' MD5 from the store's properties. Only a
 * record staged without them (before they were recorded, or a column configured since) downloads its window's
 * files once more here (their MD5 checked again on the way) — to the same text.
 */
import { join } from 'node:path';
import { controlSumSql, controlSumsOf } from './check-parts.js';
import { queryRows, withDuckDb } from './duckdb.js';
import type { LakeTable } from './lake-table.js';
import { quoteLiteral } from './parquet-writer.js';
import type { StagedAttempt } from './stage-window.js';
import { withTempDir } from './temp-dir.js';

export interface ControlSumsInput {
  readonly lake: LakeTable;
  readonly staged: StagedAttempt;
  readonly columns: readonly string[];
  readonly scratchDir?: string;
}

/** The sums by column; `problems` gets a line for a downloaded file whose MD5 or size differs from its record. */
export async function controlSums(input: ControlSumsInput, problems: string[]): Promise<Record<string, string | null>> {
  const sums: Record<string, string | null> = {};
  for (const c of input.columns) sums[c] = null;
  const { lake, staged } = input;
  if (input.columns.length === 0 || staged.files.length === 0) return sums;
  await withTempDir('tidemark-sums-', input.scratchDir, (scratch) =>
    withDuckDb({ threads: '2' }, async (conn) => {
      const locals: string[] = [];
      for (const [i, f] of staged.files.entries()) {
        const local = join(scratch, `f${i}.parquet`);
        const got = await lake.store.downloadToFile(lake.layout.resolve(f.path), local);
        if (got.md5 !== f.md5) problems.push(`${f.path}: MD5 differs from the staged record`);
        if (got.bytes !== f.bytes) problems.push(`${f.path}: size differs from the staged record`);
        locals.push(local);
      }
      const [row] = await queryRows(
        conn,
        `SELECT ${input.columns.map(controlSumSql).join(', ')}
           FROM read_parquet([${locals.map(quoteLiteral).join(', ')}])`,
      );
      Object.assign(sums, controlSumsOf(row, input.columns));
    }),
  );
  return sums;
}
