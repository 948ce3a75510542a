/**
 * The key range of the late-update sweep, read from the lake (DuckDB over the committed files).
 */
import type { LakeColumn } from '../domain/values.js';
import type { KeyValues } from '../domain/keys.js';
import { quoteIdent } from '../lake/parquet-writer.js';
import type { LakeReader } from '../lake/reader.js';
import { keyOrderSql } from '../util/key-order-sql.js';
import type { CaptureDeps } from './deps.js';
import { RANGE_SAFE_KEY_KINDS } from './key-literals.js';
import { lakeKeyColumns, lakeSchemaOf, withLakeReader } from './scratch.js';
import type { TableContext } from './table-context.js';

/** A key range `(after, upTo]`; an absent end is open. */
export interface KeyBounds {
  after?: KeyValues;
  upTo?: KeyValues;
}

/**
 * The key range of the sweep: from the lowest key whose first event landed in the lake within the last `days`
 * days, to the highest key the lake holds (keys above it are incremental sync's: not landed yet is not a late
 * update). For an identity table that is exactly the ids inserted in the last `days` days (ids only grow); for
 * any other key it is the smallest key range containing the rows created in that period. Key types whose order
 * SQL Server and DuckDB could disagree on (strings under a collation, uniqueidentifier) sweep the whole table.
 * Undefined when nothing landed in the period.
 */
export async function sweepKeyRange(
  deps: CaptureDeps,
  ctx: TableContext,
  days: number,
): Promise<KeyBounds | undefined> {
  return withLakeReader(ctx.lake, 'sweep', deps.scratchDir, async (reader) => {
    const schema = lakeSchemaOf(reader, ctx.ref.id, ': it has not been loaded yet');
    const cols = lakeKeyColumns(schema, ctx.discovery.key, ctx.ref.id);
    const cutoff = BigInt(Date.now() - days * 86_400_000) * 1000n;
    const keys = cols.map((c) => quoteIdent(c.name)).join(', ');
    const recentKeys = `SELECT ${keys} FROM changes GROUP BY ${keys} HAVING min(epoch_us(_extracted_at)) >= ${cutoff}`;
    const [recent] = await reader.scalars(`SELECT count(*) AS n FROM (${recentKeys})`);
    if (Number(recent?.n ?? 0) === 0) return undefined;
    if (!cols.every((c) => RANGE_SAFE_KEY_KINDS.has(c.type.kind))) return {};
    return rangeAround(reader, cols, cutoff);
  });
}

/** `(after, upTo]`: after the highest key below the first recent one, up to the highest key the lake holds. */
async function rangeAround(reader: LakeReader, cols: readonly LakeColumn[], cutoff: bigint): Promise<KeyBounds> {
  const keys = cols.map((c) => quoteIdent(c.name)).join(', ');
  const select = cols.map((c, i) => `${keyAsText(c)} AS k${i}`).join(', ');
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
  const before = keyOrderSql(
    cols.map((c) => quoteIdent(c.name)),
    cols.map((_c, i) => `k.k${i}`),
    '<',
  );
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
}

/** A range-safe key column as DuckDB reads it back into a key value (dates as days, wide numbers as text). */
function keyAsText(c: LakeColumn): string {
  const col = quoteIdent(c.name);
  if (c.type.kind === 'date') return `datediff('day', DATE '1970-01-01', ${col})`;
  if (c.type.kind === 'int64' || c.type.kind === 'decimal') return `CAST(${col} AS VARCHAR)`;
  return `CAST(${col} AS INTEGER)`;
}
