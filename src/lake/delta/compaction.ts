/**
 * Compaction of one closed day's partition (`data/commit_date=YYYY-MM-DD/`) of a table's Delta log: the small
 * files a Delta reader sees there are rewritten into files of about `targetFileBytes`, and one Delta version
 * records it as `remove` + `add` with `dataChange = false` (version-actions.ts, `compactionVersion`).
 *
 * What it never does: delete, overwrite or rename anything (the container is WORM). The old files stay; only the
 * Delta log stops referencing them. The manifests are not touched either: Tidemark's own readers (verify, sweep,
 * reconcile, `tidemark lake`) read through the manifests, which keep naming the original files, so they read
 * every row exactly once, from the same files as before (docs/raw-layer.md, "Compaction", says why the manifest
 * chain does not record a compaction).
 *
 * Steps, and what a crash between them leaves:
 * 1. plan from the Delta log's head version h: the live files of the day that are smaller than the target and
 *    not a compaction's own output, packed into groups of at most the target (only groups of ≥ 2 files);
 * 2. download them (MD5-verified), write each group as one Parquet file with DuckDB, check it holds exactly the
 *    same rows (count and an order-independent hash of every row), upload it with `If-None-Match: *` under a
 *    name with a fresh attempt id — a crash here leaves files nothing references (like a failed window's);
 * 3. create version h + 1 with `If-None-Match: *` — the compaction's commit point. Taken (a window's version
 *    published meanwhile, or another compaction): re-plan against the new head; if every file it removes is
 *    still live it commits at the next version, otherwise another compaction got there first and this one
 *    stops ("superseded"; its files stay unreferenced). A version is never written twice;
 * 4. the checkpoint, when the version is a multiple of the interval (a crash before it: the next publication
 *    writes it, publish.ts `checkHead`).
 * A rerun after step 3 finds only the compaction's output (never compacted again) and files too big: nothing to
 * do. A compaction never needs the day to stay closed for correctness: files landing later are compacted by a
 * later run.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { ensureCheckpoint } from './checkpoint.js';
import { liveFiles, manifestSequenceOf, tidemarkInfoOf, type LiveFile } from './live-files.js';
import { DeltaLogPaths } from './log-paths.js';
import { DEFAULT_CHECKPOINT_INTERVAL } from './protocol.js';
import { copyCompressionSql } from '../parquet-compression.js';
import { DEFAULT_PARQUET_COMPRESSION, type ParquetCompression } from '../../config/types.js';
import { highestPublishedVersion } from './publish.js';
import { compactionVersion, serializeVersion, type CompactedFile } from './version-actions.js';
import {
  BlobAlreadyExistsError,
  LakeIntegrityError,
  queryRows,
  quoteLiteral,
  withDuckDb,
  withTempDir,
  type LakeTable,
} from './lake-port.js';

/** Default target size of a compacted file: a few hundred MB, what Spark's OPTIMIZE aims at too (256 MB). */
export const DEFAULT_COMPACTION_TARGET_BYTES = 256 * 1024 * 1024;

/** How often a commit re-plans after losing its version to a concurrent writer before giving up (retried later). */
const MAX_COMMIT_TRIES = 20;

const COMMIT_DATE = /^\d{4}-\d{2}-\d{2}$/;

export interface CompactDayInput {
  readonly lake: LakeTable;
  /** The partition, `YYYY-MM-DD`. */
  readonly commitDate: string;
  /** Target size of a compacted file (bytes); files at or above it are left as they are. */
  readonly targetFileBytes?: number;
  /** The compacted files' compression (config `sink.parquet`); default zstd level 3, as the data files. */
  readonly compression?: ParquetCompression;
  /** The log's checkpoint interval (default 100), to find the checkpoint the plan starts from. */
  readonly checkpointInterval?: number;
  /** Parent of the local scratch directory (a temp directory by default); the scratch is removed. */
  readonly scratchDir?: string;
  /** Called between steps (tests stop a compaction there); names only. */
  readonly onStep?: (step: 'planned' | 'written' | 'uploaded' | 'committed') => void | Promise<void>;
}

/** What one day's compaction did: counts, bytes and timings, never a row value. */
export interface CompactionReport {
  readonly commitDate: string;
  /**
   * `compacted`: a version was written; `nothing-to-do`: fewer than two small files in every group;
   * `superseded`: another compaction removed some of the planned files first; `no-delta-log`: the table has no
   * Delta log yet.
   */
  readonly status: 'compacted' | 'nothing-to-do' | 'superseded' | 'no-delta-log';
  /** The compaction's Delta version (compacted only). */
  readonly version: number | null;
  /** Live files of the partition before and after, and their bytes. */
  readonly filesBefore: number;
  readonly bytesBefore: number;
  readonly filesAfter: number;
  readonly bytesAfter: number;
  readonly filesRemoved: number;
  readonly filesAdded: number;
  /** Rows rewritten. */
  readonly rows: number;
  readonly durationMs: number;
  /** Whether this call wrote the checkpoint of its version. */
  readonly checkpointed: boolean;
  /** As publishDelta's: the first refusal in this process to move `_last_checkpoint` (log it once). */
  readonly lastCheckpointRefused?: string;
}

/** Groups of small files, in the order they were added, each at most the target (groups of one are dropped). */
export function planGroups(files: readonly LiveFile[], targetFileBytes: number): LiveFile[][] {
  const groups: LiveFile[][] = [];
  let current: LiveFile[] = [];
  let bytes = 0;
  for (const f of files) {
    if (f.compacted || f.size >= targetFileBytes) continue;
    if (current.length > 0 && bytes + f.size > targetFileBytes) {
      groups.push(current);
      current = [];
      bytes = 0;
    }
    current.push(f);
    bytes += f.size;
  }
  groups.push(current);
  return groups.filter((g) => g.length >= 2);
}

/** The days (`YYYY-MM-DD`, oldest first) among `files` before `closedBefore` that have something to compact. */
export function daysToCompact(files: readonly LiveFile[], closedBefore: string, targetFileBytes: number): string[] {
  const byDay = new Map<string, LiveFile[]>();
  for (const f of files)
    if (f.commitDate < closedBefore) byDay.set(f.commitDate, [...(byDay.get(f.commitDate) ?? []), f]);
  return [...byDay.entries()]
    .filter(([, fs]) => planGroups(fs, targetFileBytes).length > 0)
    .map(([day]) => day)
    .sort();
}

/** The Delta head: its version and the manifest sequence it reflects; throws if it is not Tidemark's. */
export async function deltaHead(
  lake: LakeTable,
  paths: DeltaLogPaths,
): Promise<{ version: number; afterSequence: number } | undefined> {
  const version = await highestPublishedVersion(lake, paths);
  if (version < 0) return undefined;
  const body = (await lake.store.get(paths.version(version)))?.body.toString('utf8');
  const info = body === undefined ? undefined : tidemarkInfoOf(body);
  const afterSequence = manifestSequenceOf(info);
  if (afterSequence === undefined || info?.table !== lake.layout.id)
    throw new LakeIntegrityError(
      `Delta version ${version} of ${lake.layout.id} was not written by Tidemark (Tidemark must be the only ` +
        'writer of its Delta log): the compaction does not touch this table. Investigate who wrote it; the ' +
        'manifests remain the truth.',
      lake.layout.id,
      paths.version(version),
    );
  return { version, afterSequence };
}

const sum = (files: readonly { size: number }[]) => files.reduce((n, f) => n + f.size, 0);

/** Compacts one day's partition (see the module comment). Idempotent. */
export async function compactDay(input: CompactDayInput): Promise<CompactionReport> {
  const started = Date.now();
  const { lake, commitDate } = input;
  if (!COMMIT_DATE.test(commitDate)) throw new RangeError(`commit date must be YYYY-MM-DD, got ${commitDate}`);
  const target = input.targetFileBytes ?? DEFAULT_COMPACTION_TARGET_BYTES;
  if (!Number.isSafeInteger(target) || target < 1)
    throw new RangeError(`targetFileBytes must be a positive integer, got ${target}`);
  const interval = input.checkpointInterval ?? DEFAULT_CHECKPOINT_INTERVAL;
  const paths = new DeltaLogPaths(lake.layout);
  const report = (
    status: CompactionReport['status'],
    before: readonly LiveFile[],
    extra: Partial<CompactionReport> = {},
  ): CompactionReport => ({
    commitDate,
    status,
    version: null,
    filesBefore: before.length,
    bytesBefore: sum(before),
    filesAfter: before.length,
    bytesAfter: sum(before),
    filesRemoved: 0,
    filesAdded: 0,
    rows: 0,
    checkpointed: false,
    ...extra,
    durationMs: Date.now() - started,
  });

  const head = await deltaHead(lake, paths);
  if (!head) return report('no-delta-log', []);
  const day = (await liveFiles({ lake, paths, version: head.version, interval, scratchDir: input.scratchDir })).filter(
    (f) => f.commitDate === commitDate,
  );
  const groups = planGroups(day, target);
  if (groups.length === 0) return report('nothing-to-do', day);
  await input.onStep?.('planned');

  const attemptId = randomBytes(8).toString('hex');
  const removed = groups.flat();
  const added = await withTempDir('tidemark-compact-', input.scratchDir, async (scratch) => {
    const compression = input.compression ?? DEFAULT_PARQUET_COMPRESSION;
    const written = await writeGroups(lake, scratch, commitDate, attemptId, groups, compression);
    await input.onStep?.('written');
    const out: CompactedFile[] = [];
    for (const w of written) {
      const put = await lake.store.uploadFileIfAbsent(lake.layout.resolve(w.path), w.local, {
        contentType: 'application/vnd.apache.parquet',
      });
      out.push({ ...w.file, bytes: put.bytes, md5: put.md5 });
    }
    return out;
  });
  await input.onStep?.('uploaded');

  let at = head;
  for (let attempt = 0; attempt < MAX_COMMIT_TRIES; attempt++) {
    const version = at.version + 1;
    const body = serializeVersion(
      compactionVersion({
        table: lake.layout.id,
        afterSequence: at.afterSequence,
        commitDate,
        attemptId,
        removed,
        added,
        committedAt: Date.now(),
      }),
    );
    try {
      await lake.store.putIfAbsent(paths.version(version), body, { contentType: 'application/json' });
    } catch (err) {
      if (!(err instanceof BlobAlreadyExistsError)) throw err;
      // A window's version (or another compaction) took it: commit after the new head if nothing we remove went.
      const next = await deltaHead(lake, paths);
      if (!next) throw err;
      at = next;
      const live = new Set(
        (await liveFiles({ lake, paths, version: at.version, interval, scratchDir: input.scratchDir })).map(
          (f) => f.uri,
        ),
      );
      if (!removed.every((f) => live.has(f.uri))) return report('superseded', day);
      continue;
    }
    await input.onStep?.('committed');
    const checkpoint =
      interval > 0 && version % interval === 0
        ? await ensureCheckpoint({ lake, paths, version, interval, scratchDir: input.scratchDir })
        : undefined;
    const hint = checkpoint?.lastCheckpoint;
    const after = sum(day) - sum(removed) + added.reduce((n, f) => n + f.bytes, 0);
    return report('compacted', day, {
      version,
      filesAfter: day.length - removed.length + added.length,
      bytesAfter: after,
      filesRemoved: removed.length,
      filesAdded: added.length,
      rows: added.reduce((n, f) => n + f.rows, 0),
      checkpointed: checkpoint?.created ?? false,
      ...(hint?.status === 'refused' ? { lastCheckpointRefused: hint.message } : {}),
    });
  }
  throw new LakeIntegrityError(
    `The compaction of ${commitDate} of ${lake.layout.id} lost its Delta version ${MAX_COMMIT_TRIES} times in a row ` +
      'to other writers; it is retried by the next run (nothing was committed; its files stay unreferenced).',
    lake.layout.id,
    paths.prefix,
  );
}

interface WrittenGroup {
  readonly local: string;
  readonly path: string;
  readonly file: Omit<CompactedFile, 'bytes' | 'md5'>;
}

/** Downloads each group's files and writes it as one local Parquet file, checked row for row. */
async function writeGroups(
  lake: LakeTable,
  scratch: string,
  commitDate: string,
  attemptId: string,
  groups: readonly LiveFile[][],
  compression: ParquetCompression,
): Promise<WrittenGroup[]> {
  const out: WrittenGroup[] = [];
  let n = 0;
  for (const [g, group] of groups.entries()) {
    const inputs: string[] = [];
    for (const f of group) {
      const local = join(scratch, `in-${n++}.parquet`);
      const got = await lake.store.downloadToFile(lake.layout.resolve(f.path), local);
      if (f.md5 && got.md5 !== f.md5)
        throw new LakeIntegrityError(
          `${f.path} of ${lake.layout.id} does not have the MD5 the Delta log records: the compaction stops ` +
            'before writing anything. Investigate the file; readers that check MD5s will refuse it too.',
          lake.layout.id,
          lake.layout.resolve(f.path),
        );
      inputs.push(local);
    }
    const local = join(scratch, `out-${g}.parquet`);
    const path = `data/commit_date=${commitDate}/c-a${attemptId}-p${String(g).padStart(5, '0')}.parquet`;
    const stats = await withDuckDb(
      { threads: '1', memory_limit: '512MB', temp_directory: join(scratch, 'duckdb.tmp') },
      (conn) => rewriteGroup(conn, lake.layout.id, inputs, local, group, compression),
    );
    out.push({ local, path, file: { path, commitDate, ...stats } });
  }
  return out;
}

/**
 * One group as one file: every row of the inputs, unioned by column name (a day can span schema versions: an
 * added column reads NULL in older files, as Delta readers would fill it), ordered by window and position. The
 * output must hold the same rows: same count as the log says, and the same XOR of the hash of every row.
 */
async function rewriteGroup(
  conn: DuckDBConnection,
  table: string,
  inputs: readonly string[],
  local: string,
  group: readonly LiveFile[],
  compression: ParquetCompression,
): Promise<Pick<CompactedFile, 'rows' | 'minWindow' | 'maxWindow'>> {
  const list = `[${inputs.map(quoteLiteral).join(', ')}]`;
  const source = `read_parquet(${list}, union_by_name = true)`;
  await conn.run(
    `COPY (SELECT * FROM ${source} ORDER BY _window_id, _pos) TO ${quoteLiteral(local)} ` +
      `(FORMAT parquet, ${copyCompressionSql(compression)}, ROW_GROUP_SIZE 122880)`,
  );
  const digest = async (from: string) => {
    const [r] = await queryRows(
      conn,
      `SELECT count(*)::BIGINT AS n, bit_xor(hash(t))::VARCHAR AS h, min(_window_id)::BIGINT AS lo,
              max(_window_id)::BIGINT AS hi FROM ${from} t`,
    );
    return { n: Number(r?.n), h: String(r?.h), lo: Number(r?.lo), hi: Number(r?.hi) };
  };
  const before = await digest(source);
  const after = await digest(`read_parquet(${quoteLiteral(local)})`);
  const logged = group.reduce((n, f) => n + f.rows, 0);
  if (before.n !== logged || after.n !== before.n || after.h !== before.h)
    throw new LakeIntegrityError(
      `A compacted file would not hold exactly the rows of the ${group.length} files it replaces ` +
        `(log: ${logged} rows, files: ${before.n}, rewritten: ${after.n}): the compaction stops before ` +
        'uploading. Nothing changed; report this as a bug.',
      table,
      local,
    );
  return { rows: after.n, minWindow: after.lo, maxWindow: after.hi };
}
