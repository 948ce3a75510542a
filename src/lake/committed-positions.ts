/**
 * The event positions (`_pos`) the lake already holds in a position range, and the highest position it holds at
 * all: what updated_at's overlap re-read needs to drop rows it emitted before (its `_pos` ends with a content
 * hash, so an equal hash is the same row version) and to place a row stamped below what the lake holds after it
 * (src/source/strategies/updated-at.ts). The lake is the index, not worker memory: any worker, after any
 * restart, sees the same set.
 *
 * Cost: only the manifests of the newest windows are read, walking back from the newest committed one until a
 * change window ends below the range (change windows' upper bounds only grow, and no change window holds an event
 * above its upper bound); only the `_pos` column of their files is read, and only files whose manifest says they
 * reach into the range.
 */
import { join } from 'node:path';
import { queryRows, text, withDuckDb } from './duckdb.js';
import type { LakeTable } from './lake-table.js';
import { readManifest, windowOf, type Manifest } from './manifest.js';
import { quoteLiteral } from './parquet-writer.js';
import { withTempDir } from './temp-dir.js';
import { readWatermark } from './watermark.js';

export interface CommittedPositionsInput {
  readonly lake: LakeTable;
  /** Lowest position of the range (inclusive), in the lake's `_pos` form. */
  readonly low: string;
  /** Upper end of the range (exclusive). */
  readonly highExclusive: string;
}

export interface CommittedPositionsOutput {
  readonly positions: Set<string>;
  /**
   * The highest `_pos` of any committed window, change or job (from the manifests' position ranges); null when
   * none holds an event. Every manifest newer than the range is read, so a job committed after it counts.
   */
  readonly highest: string | null;
  /** Manifests read and data files scanned (counts for the window's report). */
  readonly manifestsRead: number;
  readonly filesRead: number;
}

/** Not a chunk of a job (snapshot, backfill, sweep, reconcile). */
const isChangeWindow = (m: Manifest): boolean => windowOf(m).chunk === undefined;

/** The newest committed sequence: the watermark's, or later when a commit happened after it was last moved. */
async function newestSequence(lake: LakeTable): Promise<number> {
  let seq = (await readWatermark(lake))?.doc.sequence ?? 0;
  while (await lake.store.exists(lake.layout.manifestPath(seq + 1))) seq++;
  return seq;
}

export async function committedPositions(input: CommittedPositionsInput): Promise<CommittedPositionsOutput> {
  const { lake, low, highExclusive } = input;
  const files: string[] = [];
  let manifestsRead = 0;
  let highest: string | null = null;
  for (let seq = await newestSequence(lake); seq >= 1; seq--) {
    const m = await readManifest(lake, seq);
    if (!m) break;
    manifestsRead++;
    if (m.positions.max !== null && (highest === null || m.positions.max > highest)) highest = m.positions.max;
    if (isChangeWindow(m) && m.window.to < low) break;
    const { min, max } = m.positions;
    if (min === null || max === null || max < low || min >= highExclusive) continue;
    files.push(...m.files.map((f) => f.path));
  }
  const positions = new Set<string>();
  if (files.length === 0) return { positions, highest, manifestsRead, filesRead: 0 };

  await withTempDir('tidemark-positions-', undefined, (dir) =>
    withDuckDb({ threads: '1' }, async (conn) => {
      const locals: string[] = [];
      for (const [i, path] of files.entries()) {
        const local = join(dir, `${i}.parquet`);
        await lake.store.downloadToFile(lake.layout.resolve(path), local);
        locals.push(local);
      }
      const list = locals.map(quoteLiteral).join(', ');
      const rows = await queryRows(
        conn,
        `SELECT DISTINCT _pos FROM read_parquet([${list}])
          WHERE _pos >= ${quoteLiteral(low)} AND _pos < ${quoteLiteral(highExclusive)}`,
      );
      for (const r of rows) positions.add(text(r['_pos']));
    }),
  );
  return { positions, highest, manifestsRead, filesRead: files.length };
}
