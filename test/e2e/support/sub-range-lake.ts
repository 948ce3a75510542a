/**
 * What the sub-range e2e tests read back from a table's lake: its committed manifests (through the lake's own
 * readers), the sub-ranges that staged a manifest's files, and the exactly-once check (lake == source, no
 * duplicate (key, position), chain + files + watermark clean).
 */
import assert from 'node:assert/strict';
import type { ActivityDeps } from '../../../src/activities/index.js';
import { tableContext } from '../../../src/capture/table-context.js';
import type { TableRef } from '../../../src/domain/table.js';
import { committedSequences, readManifest, type Manifest } from '../../../src/lake/manifest.js';
import type { LakeTable } from '../../../src/lake/lake-table.js';
import { verifyTable } from '../../../src/verify/verify-table.js';
import { lakeIntegrity } from '../../../scripts/chaos/checks.js';

export async function lakeOf(deps: ActivityDeps, table: TableRef): Promise<LakeTable> {
  return (await tableContext(deps, table)).lake;
}

/** The committed manifests, in sequence order. */
export async function committedManifests(lake: LakeTable): Promise<Manifest[]> {
  const out: Manifest[] = [];
  for (const seq of await committedSequences(lake)) {
    const m = await readManifest(lake, seq);
    if (m) out.push(m);
  }
  return out;
}

/** The sub-range indexes a manifest's files were staged by (`…-r<k>-…`), empty for a window read whole. */
export const subRangesOf = (m: Manifest): Set<number> =>
  new Set(m.files.flatMap((f) => /-a\d+-\d+-r(\d+)-/.exec(f.path)?.[1] ?? []).map(Number));

/** Lake == source, no duplicate (key, position), chain + files with their MD5 + watermark clean. */
export async function assertExactlyOnce(deps: ActivityDeps, table: TableRef, sourceRows: number): Promise<void> {
  const v = await verifyTable(deps, table);
  assert.deepEqual(
    [v.ok, v.sourceRows, v.missingInLake, v.extraInLake, v.different, v.duplicateEvents],
    [true, sourceRows, 0, 0, 0, 0],
    `${table.id}: lake == source, no duplicate (key, position)`,
  );
  const integrity = await lakeIntegrity(await lakeOf(deps, table));
  assert.deepEqual(
    [integrity.chainProblems, integrity.fileProblems, integrity.watermarkProblems],
    [[], [], []],
    `${table.id}: chain, files with their MD5, watermark`,
  );
}
