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
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { quoteIdent, quoteLiteral } from '../lake/parquet-writer.js';
import { loadSourceRows, rowsChecksumSql } from '../activities/chunk-compare.js';
import { LakeReader } from '../lake/reader.js';
import { readChunk, snapshotPositioners } from '../source/index.js';
import type { SnapshotPositioner } from '../source/chunks.js';
import type { TableRef } from '../domain/table.js';
import type { ActivityDeps } from '../activities/dependencies.js';
import { tableContext } from '../activities/table-context.js';
import { lakePosition } from '../domain/positions.js';
import { text } from '../lake/duckdb.js';

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
  deps: ActivityDeps,
  ref: TableRef,
  options: { onProgress?: (p: VerifyProgress) => void } = {},
): Promise<VerifyTableOutput> {
  let stepsDone = 0;
  let rowsRead = 0;
  const report = () => options.onProgress?.({ stepsDone, steps: VERIFY_STEPS, sourceRows: rowsRead });
  const t0 = Date.now();
  const ctx = await tableContext(deps, ref);
  const positioner =
    ref.strategy === 'cdc'
      ? snapshotPositioners.cdc
      : ref.strategy === 'change_tracking'
        ? snapshotPositioners.change_tracking
        : noPosition;
  const scratch = await mkdtemp(join(tmpdir(), 'tidemark-verify-'));
  let reader: LakeReader | undefined;
  try {
    reader = await LakeReader.open({ lake: ctx.lake, cacheDir: join(scratch, 'lake') });
    const schema = reader.schema;
    if (!schema) throw new Error(`${ref.id} has no schema in the lake yet`);
    let position = '';
    const batches = readChunk(deps.source, ctx.discovery, { limit: 2_000_000_000, positioner }, (s) => {
      position = s.position;
    });
    const sourceRows = await loadSourceRows(
      reader,
      schema,
      (c) => ctx.projector(c, schema),
      countingRows(batches, (n) => {
        rowsRead += n;
        report();
      }),
      scratch,
      'src',
    );
    stepsDone += 1;
    report();
    const conn = reader.connection;
    const cols = schema.columns.map((c) => quoteIdent(c.name)).join(', ');
    const keys = schema.keyColumns.map(quoteIdent).join(', ');
    const posFilter =
      position && ref.strategy !== 'rowversion'
        ? // 'g' sorts after every hex digit: job rows carry their job's order after the job position (see
          // chunk-activities.ts), and belong to the state at that position.
          `WHERE _pos < ${quoteLiteral(lakePosition(position) + (ref.strategy === 'change_tracking' ? 'f' : '') + 'g')}`
        : '';
    const partition = keys ? `PARTITION BY ${keys}` : '';
    await conn.run(
      `CREATE VIEW lake AS SELECT ${cols} FROM (
         SELECT *, row_number() OVER (${partition} ORDER BY _pos DESC) AS _rn FROM changes ${posFilter}
       ) WHERE _rn = 1 AND _op <> 'd'`,
    );
    const one = async (sql: string): Promise<string> => {
      const rows = await reader!.scalars(sql);
      stepsDone += 1;
      report();
      const first = rows[0];
      return first ? text(Object.values(first)[0]) : '';
    };
    const n = async (sql: string) => Number(await one(sql));
    const joinOn = schema.keyColumns
      .map((k) => `s.${quoteIdent(k)} IS NOT DISTINCT FROM l.${quoteIdent(k)}`)
      .join(' AND ');
    const lakeRows = await n('SELECT count(*) FROM lake');
    const missingInLake = await n(`SELECT count(*) FROM src s ANTI JOIN lake l ON ${joinOn}`);
    const extraInLake = await n(`SELECT count(*) FROM lake l ANTI JOIN src s ON ${joinOn}`);
    const both = await n(`SELECT count(*) FROM src s SEMI JOIN lake l ON ${joinOn}`);
    const same = await n(`SELECT count(*) FROM (SELECT ${cols} FROM src INTERSECT ALL SELECT ${cols} FROM lake)`);
    const different = both - same;
    const duplicateEvents = await n(
      `SELECT count(*) FROM (SELECT 1 FROM changes GROUP BY ${keys ? `${keys}, ` : ''}_pos HAVING count(*) > 1)`,
    );
    const checksum = (view: string) => one(rowsChecksumSql(cols, keys, view));
    const sourceChecksum = await checksum('src');
    const lakeChecksum = await checksum('lake');
    const ok = missingInLake === 0 && extraInLake === 0 && different === 0 && duplicateEvents === 0;
    return {
      table: ref.id,
      position,
      sourceRows,
      lakeRows,
      missingInLake,
      extraInLake,
      different,
      duplicateEvents,
      sourceChecksum,
      lakeChecksum,
      windows: reader.manifests.length,
      ok,
      durationMs: Date.now() - t0,
    };
  } finally {
    await reader?.close();
    await rm(scratch, { recursive: true, force: true });
  }
}
