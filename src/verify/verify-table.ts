/**
 * verify: a table's source rows against the lake's latest state, at one source position.
 *
 * The source side is read as one chunk inside one SNAPSHOT transaction (where the database allows it), which
 * also records the position it was read at; the rows go through the same PHI plan and the same Parquet writer
 * as extraction, so both sides are compared in DuckDB with identical types: every column, every type. The lake
 * side is the `latest` view (last event per key by `_pos`, tombstones removed), restricted to events at or
 * before the source position where positions are comparable (CDC, Change Tracking).
 *
 * Output: counts, rows missing/extra/different (never values), and one checksum per side over the key-ordered
 * rows. Only counts and checksums leave this module.
 */
import { quoteIdent, quoteLiteral } from '../lake/parquet-writer.js';
import { storedColumns, storedColumnsSql, storedKeyNames } from '../lake/lake-types.js';
import { loadSourceRows, rowsChecksumSql } from '../capture/chunk-compare.js';
import { readChunk, type SnapshotPositioner } from '../source/index.js';
import type { TableRef } from '../domain/table.js';
import type { CaptureDeps } from '../capture/deps.js';
import { tableContext } from '../capture/table-context.js';
import { lakeSchemaOf, withLakeReader } from '../capture/scratch.js';
import { text } from '../lake/duckdb.js';
import type { LakeReader } from '../lake/reader.js';
import type { SchemaDoc } from '../lake/schema-registry.js';

export interface VerifyTableOutput {
  table: string;
  /** The source position the source rows were read at ('' where the strategy has none). */
  position: string;
  sourceRows: number;
  lakeRows: number;
  /** Keys in the source, not in the lake's latest state. */
  missingInLake: number;
  /** Keys in the lake's latest state, not in the source. */
  extraInLake: number;
  /** Keys on both sides with any column different. */
  different: number;
  /** (key, _pos) pairs that occur more than once in the lake's change log. */
  duplicateEvents: number;
  sourceChecksum: string;
  lakeChecksum: string;
  windows: number;
  ok: boolean;
  durationMs: number;
}

/** Strategies whose positions do not compare with the lake's read the source without one (no `_pos` bound). */
const noPosition: SnapshotPositioner = { atStart: () => Promise.resolve(''), rowPos: () => '0' };

/** Where a verification is: the source read (rows so far), then the comparisons (steps done of all). */
export interface VerifyProgress {
  stepsDone: number;
  steps: number;
  sourceRows: number;
}

/** The source read counts as one step; then one per comparison query below. */
const VERIFY_STEPS = 9;

/** Passes batches through, telling `onBatch` how many rows each held (progress without touching the rows). */
async function* countingRows<T extends { rows: readonly unknown[] }>(
  batches: AsyncIterable<T>,
  onBatch: (rows: number) => void,
): AsyncIterable<T> {
  for await (const b of batches) {
    yield b;
    onBatch(b.rows.length);
  }
}

export async function verifyTable(
  deps: CaptureDeps,
  ref: TableRef,
  options: { onProgress?: (p: VerifyProgress) => void } = {},
): Promise<VerifyTableOutput> {
  const t0 = Date.now();
  const progress = { stepsDone: 0, steps: VERIFY_STEPS, sourceRows: 0 };
  const step = () => {
    progress.stepsDone += 1;
    options.onProgress?.({ ...progress });
  };
  const ctx = await tableContext(deps, ref);
  const verifyRead = ctx.strategy.verifyRead?.();
  return withLakeReader(ctx.lake, 'verify', deps.scratchDir, async (reader, scratch) => {
    const schema = lakeSchemaOf(reader, ref.id, ' yet');
    let position = '';
    const batches = readChunk(
      deps.source,
      ctx.discovery,
      { limit: 2_000_000_000, positioner: verifyRead?.positioner ?? noPosition },
      (s) => {
        position = s.position;
      },
    );
    const counted = countingRows(batches, (n) => {
      progress.sourceRows += n;
      options.onProgress?.({ ...progress });
    });
    const sourceRows = await loadSourceRows(reader, schema, (c) => ctx.projector(c, schema), counted, scratch, 'src');
    step();
    const bound = position && verifyRead ? verifyRead.upperBound(position) : undefined;
    const found = await compareSides(reader, schema, bound, step);
    return {
      table: ref.id,
      position,
      sourceRows,
      ...found,
      windows: reader.manifests.length,
      ok: found.missingInLake === 0 && found.extraInLake === 0 && found.different === 0 && found.duplicateEvents === 0,
      durationMs: Date.now() - t0,
    };
  });
}

/**
 * The lake's side as view `lake` (its latest state, at or before `bound` when given) against view `src`: counts
 * and checksums, one step per query.
 */
async function compareSides(reader: LakeReader, schema: SchemaDoc, bound: string | undefined, step: () => void) {
  // The files' columns: a 7-digit timestamp is compared with its `__100ns` companion (lake-types.ts).
  const cols = storedColumns(schema.columns)
    .map((c) => quoteIdent(c.name))
    .join(', ');
  const lakeCols = storedColumnsSql(schema.columns).join(', ');
  const keyNames = storedKeyNames(schema.columns, schema.keyColumns);
  const keys = keyNames.map(quoteIdent).join(', ');
  const posFilter = bound !== undefined ? `WHERE _pos < ${quoteLiteral(bound)}` : '';
  const partition = keys ? `PARTITION BY ${keys}` : '';
  await reader.connection.run(
    `CREATE VIEW lake AS SELECT ${lakeCols} FROM (
       SELECT *, row_number() OVER (${partition} ORDER BY _pos DESC) AS _rn FROM changes ${posFilter}
     ) WHERE _rn = 1 AND _op <> 'd'`,
  );
  const one = async (sql: string): Promise<string> => {
    const rows = await reader.scalars(sql);
    step();
    const first = rows[0];
    return first ? text(Object.values(first)[0]) : '';
  };
  const n = async (sql: string) => Number(await one(sql));
  const joinOn = keyNames.map((k) => `s.${quoteIdent(k)} IS NOT DISTINCT FROM l.${quoteIdent(k)}`).join(' AND ');
  const lakeRows = await n('SELECT count(*) FROM lake');
  const missingInLake = await n(`SELECT count(*) FROM src s ANTI JOIN lake l ON ${joinOn}`);
  const extraInLake = await n(`SELECT count(*) FROM lake l ANTI JOIN src s ON ${joinOn}`);
  const both = await n(`SELECT count(*) FROM src s SEMI JOIN lake l ON ${joinOn}`);
  const same = await n(`SELECT count(*) FROM (SELECT ${cols} FROM src INTERSECT ALL SELECT ${cols} FROM lake)`);
  const duplicateEvents = await n(
    `SELECT count(*) FROM (SELECT 1 FROM changes GROUP BY ${keys ? `${keys}, ` : ''}_pos HAVING count(*) > 1)`,
  );
  const checksum = (view: string) => one(rowsChecksumSql(cols, keys, view));
  const sourceChecksum = await checksum('src');
  const lakeChecksum = await checksum('lake');
  return {
    lakeRows,
    missingInLake,
    extraInLake,
    different: both - same,
    duplicateEvents,
    sourceChecksum,
    lakeChecksum,
  };
}
