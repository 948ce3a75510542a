/**
 * A Delta table's live files at a version (PROTOCOL.md, "Action Reconciliation": per path, the newest `add` or
 * `remove` wins), and what the head version says about itself. The compaction plans from it: the files a Delta
 * reader sees at the head, not the manifests' (which never change, see compaction.ts).
 *
 * The state is replayed from the newest checkpoint at a multiple of the interval (or from version 0) plus the
 * JSON versions after it, as checkpoint.ts does, so the cost is one checkpoint plus at most `interval` versions.
 */
import { join } from 'node:path';
import type { DeltaLogPaths } from './log-paths.js';
import type { TidemarkCommitInfo } from './version-actions.js';
import { LakeIntegrityError, queryRows, quoteLiteral, withDuckDb, withTempDir, type LakeTable } from './lake-port.js';

/** One live data file of the Delta table (an `add` not removed since). */
export interface LiveFile {
  /** The `add` path as in the log (URI-encoded, relative to the table root). */
  readonly uri: string;
  /** The same path decoded: relative to the table root, as manifests record paths. */
  readonly path: string;
  readonly commitDate: string;
  readonly size: number;
  /** `numRecords` of the add's statistics (Tidemark always writes it). */
  readonly rows: number;
  readonly md5: string;
  /** True for a file a compaction wrote (tag `tidemark.compaction`). */
  readonly compacted: boolean;
}

interface RawAdd {
  path: string;
  partitionValues?: Record<string, string | null> | null;
  size: number;
  stats?: string | null;
  tags?: Record<string, string> | null;
}

interface RawRemove {
  path: string;
}

const decodePath = (uri: string): string => uri.split('/').map(decodeURIComponent).join('/');

function liveFileOf(add: RawAdd): LiveFile {
  let rows = -1;
  try {
    rows = Number((JSON.parse(add.stats ?? '{}') as { numRecords?: number }).numRecords ?? -1);
  } catch {
    rows = -1;
  }
  return {
    uri: add.path,
    path: decodePath(add.path),
    commitDate: add.partitionValues?.commit_date ?? '',
    size: Number(add.size),
    rows,
    md5: add.tags?.['tidemark.md5'] ?? '',
    compacted: add.tags?.['tidemark.compaction'] !== undefined,
  };
}

/** The `commitInfo.tidemark` of a version body's first line, or undefined if it is not Tidemark's. */
export function tidemarkInfoOf(body: string): TidemarkCommitInfo | undefined {
  try {
    const first = JSON.parse(body.split('\n')[0] ?? '') as { commitInfo?: { tidemark?: TidemarkCommitInfo } };
    return first.commitInfo?.tidemark;
  } catch {
    return undefined;
  }
}

/**
 * The manifest sequence a version reflects: a window version's own sequence, a compaction version's
 * `afterSequence` (the last window published before it), 0 for the creation. Undefined: not Tidemark's.
 */
export function manifestSequenceOf(info: TidemarkCommitInfo | undefined): number | undefined {
  if (!info) return undefined;
  if (info.compaction) return info.compaction.afterSequence;
  return typeof info.sequence === 'number' ? info.sequence : undefined;
}

export interface LiveFilesInput {
  readonly lake: LakeTable;
  readonly paths: DeltaLogPaths;
  /** A version that exists in the log. */
  readonly version: number;
  /** Checkpoints are looked for at multiples of it; 0: replay from version 0. */
  readonly interval: number;
  readonly scratchDir?: string;
}

/** The live files at `version`, in the order they were added. */
export async function liveFiles(input: LiveFilesInput): Promise<LiveFile[]> {
  const { lake, paths, version, interval } = input;
  const live = new Map<string, LiveFile>();
  let base = -1;
  if (interval > 0)
    for (let b = version - (version % interval); b > 0; b -= interval)
      if (await lake.store.exists(paths.checkpoint(b))) {
        base = b;
        break;
      }
  if (base > 0) for (const f of await checkpointAdds(input, base)) live.set(f.uri, f);
  for (let v = base + 1; v <= version; v++) {
    const got = await lake.store.get(paths.version(v));
    if (!got)
      throw new LakeIntegrityError(
        `Delta version ${v} is missing below version ${version}: the log has a gap`,
        lake.layout.id,
        paths.version(v),
      );
    for (const line of got.body.toString('utf8').split('\n')) {
      if (line.trim() === '') continue;
      const action = JSON.parse(line) as { add?: RawAdd; remove?: RawRemove };
      if (action.add) live.set(action.add.path, liveFileOf(action.add));
      else if (action.remove) live.delete(action.remove.path);
    }
  }
  return [...live.values()];
}

/** The adds of a checkpoint (a checkpoint holds the reconciled state: its removes are tombstones only). */
async function checkpointAdds(input: LiveFilesInput, base: number): Promise<LiveFile[]> {
  return withTempDir('tidemark-delta-live-', input.scratchDir, async (scratch) => {
    const file = join(scratch, 'base.parquet');
    await input.lake.store.downloadToFile(input.paths.checkpoint(base), file);
    return withDuckDb({ threads: '1', memory_limit: '256MB' }, async (conn) => {
      const rows = await queryRows(
        conn,
        `SELECT to_json(add)::VARCHAR AS a FROM read_parquet(${quoteLiteral(file)}) WHERE add IS NOT NULL`,
      );
      return rows.map((r) => liveFileOf(JSON.parse(String(r.a)) as RawAdd));
    });
  });
}
