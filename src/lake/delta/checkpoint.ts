/**
 * Classic (V1) Parquet checkpoints, written with DuckDB (PROTOCOL.md, "Checkpoints", "Checkpoint Schema").
 *
 * A checkpoint of version v is the reconciled state at v: the latest `protocol`, the latest `metaData`, and per
 * file path the newest file action — an `add` (a live file) or a `remove` (a tombstone; Tidemark never deletes
 * files, so tombstones never expire). "Checkpoints must not preserve commit provenance information", so
 * `commitInfo` is left out. The state is replayed from the newest earlier checkpoint found at a multiple of the
 * interval (or from version 0) plus the JSON versions after it, so each checkpoint costs `interval` reads.
 *
 * The file is created with `If-None-Match: *` like everything else in the data container; a concurrent writer
 * of the same checkpoint wins harmlessly ("both checkpoints should contain the same information"). Only after
 * its version exists ("Checkpoints for a given version must only be created after the associated delta file
 * has been successfully written").
 *
 * After the checkpoint exists, `_delta_log/_last_checkpoint` is pointed at it, best effort (last-checkpoint.ts):
 * the one object of a Delta log that is rewritten in place, so an immutability policy that refuses the overwrite
 * (a WORM container) leaves the earlier hint, which the protocol allows, and never fails the checkpoint. When the
 * checkpoint already exists (a repair, a concurrent publisher) the hint is checked too, so a crash between the
 * checkpoint and its hint is repaired; the check costs one small read per table and process.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { DeltaLogPaths } from './log-paths.js';
import { pointLastCheckpoint, type LastCheckpointResult, type LastCheckpointStats } from './last-checkpoint.js';
import {
  BlobAlreadyExistsError,
  LakeIntegrityError,
  queryRows,
  quoteLiteral,
  withDuckDb,
  withTempDir,
  type LakeTable,
} from './lake-port.js';

const MAP = 'MAP(VARCHAR, VARCHAR)';

/** The checkpoint's columns, for the actions Tidemark writes (PROTOCOL.md, "Checkpoint Schema"). */
const CHECKPOINT_COLUMNS: Readonly<Record<string, string>> = {
  protocol:
    'STRUCT(minReaderVersion INTEGER, minWriterVersion INTEGER, readerFeatures VARCHAR[], writerFeatures VARCHAR[])',
  metaData:
    `STRUCT(id VARCHAR, name VARCHAR, description VARCHAR, format STRUCT(provider VARCHAR, options ${MAP}), ` +
    `schemaString VARCHAR, partitionColumns VARCHAR[], createdTime BIGINT, configuration ${MAP})`,
  add:
    `STRUCT(path VARCHAR, partitionValues ${MAP}, size BIGINT, modificationTime BIGINT, dataChange BOOLEAN, ` +
    `stats VARCHAR, tags ${MAP})`,
  // "the `remove` struct does not contain the `stats` and `tags` fields"
  remove:
    `STRUCT(path VARCHAR, deletionTimestamp BIGINT, dataChange BOOLEAN, extendedFileMetadata BOOLEAN, ` +
    `partitionValues ${MAP}, size BIGINT)`,
};

export interface EnsureCheckpointInput {
  readonly lake: LakeTable;
  readonly paths: DeltaLogPaths;
  /** A version that exists in the log. */
  readonly version: number;
  /** Where earlier checkpoints are looked for (multiples of it); 0: replay from version 0. */
  readonly interval: number;
  /** Parent of the local scratch directory (a temp directory by default); the scratch is removed. */
  readonly scratchDir?: string;
}

export interface EnsureCheckpointOutput {
  /** True if this call created the checkpoint. */
  readonly created: boolean;
  /** What happened to `_last_checkpoint` (best effort: never a failure of the checkpoint). */
  readonly lastCheckpoint: LastCheckpointResult;
}

/** Writes the checkpoint of `version` unless it exists, then points `_last_checkpoint` at it (best effort). */
export async function ensureCheckpoint(input: EnsureCheckpointInput): Promise<EnsureCheckpointOutput> {
  const { lake, paths, version } = input;
  if (await lake.store.exists(paths.checkpoint(version)))
    return { created: false, lastCheckpoint: await pointHint(input, () => statsOfStored(input)) };
  const base = await baseCheckpoint(input);
  const made = await withTempDir('tidemark-delta-cp-', input.scratchDir, (scratch) =>
    withDuckDb({ threads: '1', memory_limit: '256MB' }, async (conn) => {
      await loadActions(conn, scratch, input, base);
      const cpFile = join(scratch, 'checkpoint.parquet');
      await writeReconciledState(conn, cpFile);
      const counts = await checkOneProtocolAndMetaData(conn, cpFile, input);
      try {
        const { bytes } = await lake.store.uploadFileIfAbsent(paths.checkpoint(version), cpFile, {
          contentType: 'application/vnd.apache.parquet',
        });
        return { created: true, stats: { ...counts, sizeInBytes: bytes } };
      } catch (err) {
        if (err instanceof BlobAlreadyExistsError) return { created: false, stats: undefined }; // a concurrent publisher wrote the same state
        throw err;
      }
    }),
  );
  const stats = made.stats;
  return {
    created: made.created,
    lastCheckpoint: await pointHint(input, stats ? () => Promise.resolve(stats) : () => statsOfStored(input)),
  };
}

function pointHint(
  { lake, paths, version }: EnsureCheckpointInput,
  stats: () => Promise<LastCheckpointStats>,
): Promise<LastCheckpointResult> {
  return pointLastCheckpoint({ lake, paths, version, stats });
}

/** The figures of a stored checkpoint (downloaded: only when an existing checkpoint's hint lags). */
async function statsOfStored({
  lake,
  paths,
  version,
  scratchDir,
}: EnsureCheckpointInput): Promise<LastCheckpointStats> {
  return withTempDir('tidemark-delta-cp-', scratchDir, async (scratch) => {
    const cpFile = join(scratch, 'checkpoint.parquet');
    const { bytes } = await lake.store.downloadToFile(paths.checkpoint(version), cpFile);
    return withDuckDb({ threads: '1', memory_limit: '256MB' }, async (conn) => ({
      ...(await countActions(conn, cpFile)),
      sizeInBytes: bytes,
    }));
  });
}

/** Actions and `add` actions in a checkpoint file. */
async function countActions(
  conn: DuckDBConnection,
  cpFile: string,
): Promise<{ size: number; numOfAddFiles: number; protocols: number; metaData: number }> {
  const [row] = await queryRows(
    conn,
    `SELECT count(*)::INT AS n, count(*) FILTER (WHERE add IS NOT NULL)::INT AS a,
            count(*) FILTER (WHERE protocol IS NOT NULL)::INT AS p, count(*) FILTER (WHERE metaData IS NOT NULL)::INT AS m
     FROM read_parquet(${quoteLiteral(cpFile)})`,
  );
  return { size: Number(row?.n), numOfAddFiles: Number(row?.a), protocols: Number(row?.p), metaData: Number(row?.m) };
}

/** The newest earlier checkpoint at a multiple of the interval, or -1 (replay from version 0). */
async function baseCheckpoint({ lake, paths, version, interval }: EnsureCheckpointInput): Promise<number> {
  if (interval > 0)
    for (let b = version - (version % interval || interval); b > 0; b -= interval)
      if (await lake.store.exists(paths.checkpoint(b))) return b;
  return -1;
}

/** The JSON versions after the base, each action (but commitInfo) tagged with its version and line. */
async function tailActions({ lake, paths, version }: EnsureCheckpointInput, base: number): Promise<string[]> {
  const tail: string[] = [];
  for (let v = base + 1; v <= version; v++) {
    const got = await lake.store.get(paths.version(v));
    if (!got)
      throw new LakeIntegrityError(
        `Delta version ${v} is missing below version ${version}: the log has a gap`,
        lake.layout.id,
        paths.version(v),
      );
    let line = 0;
    for (const text of got.body.toString('utf8').split('\n')) {
      if (text.trim() === '') continue;
      const action = JSON.parse(text) as Record<string, unknown>;
      if (!('commitInfo' in action)) tail.push(JSON.stringify({ ...action, _v: v, _i: line }));
      line++;
    }
  }
  return tail;
}

const NAMES = Object.keys(CHECKPOINT_COLUMNS);

/** Table `actions`: the base checkpoint's actions (if any) and the tail's, tagged (_v, _i) for reconciliation. */
async function loadActions(
  conn: DuckDBConnection,
  scratch: string,
  input: EnsureCheckpointInput,
  base: number,
): Promise<void> {
  const tail = await tailActions(input, base);
  const tailFile = join(scratch, 'tail.ndjson');
  await writeFile(tailFile, tail.length ? `${tail.join('\n')}\n` : '');
  const jsonColumns = Object.entries({ _v: 'BIGINT', _i: 'BIGINT', ...CHECKPOINT_COLUMNS })
    .map(([k, t]) => `${k}: ${quoteLiteral(t)}`)
    .join(', ');
  const sources: string[] = [];
  if (tail.length)
    sources.push(
      `SELECT _v, _i, ${NAMES.join(', ')} FROM read_json(${quoteLiteral(tailFile)}, columns = {${jsonColumns}}, format = 'newline_delimited')`,
    );
  if (base > 0) {
    const baseFile = join(scratch, 'base.parquet');
    await input.lake.store.downloadToFile(input.paths.checkpoint(base), baseFile);
    const typed = NAMES.map((n) => `${n}::${CHECKPOINT_COLUMNS[n]} AS ${n}`).join(', ');
    sources.push(
      `SELECT ${base}::BIGINT AS _v, (row_number() OVER ())::BIGINT AS _i, ${typed} FROM read_parquet(${quoteLiteral(baseFile)})`,
    );
  }
  await conn.run(`CREATE TABLE actions AS ${sources.join(' UNION ALL BY NAME ')}`);
}

/** The reconciled state as Parquet: latest protocol and metaData; per path, the newest file action wins. */
async function writeReconciledState(conn: DuckDBConnection, cpFile: string): Promise<void> {
  const nulls = (except: string) =>
    NAMES.map((n) => (n === except ? n : `NULL::${CHECKPOINT_COLUMNS[n]} AS ${n}`)).join(', ');
  const latest = (kind: string) =>
    `SELECT ${nulls(kind)}, _v, _i FROM actions WHERE ${kind} IS NOT NULL ORDER BY _v DESC, _i DESC LIMIT 1`;
  // An add is a live file, a remove a tombstone.
  await conn.run(
    `COPY (
       WITH newest_file AS (
         SELECT *, row_number() OVER (PARTITION BY coalesce(add.path, remove.path) ORDER BY _v DESC, _i DESC) AS rn
         FROM actions WHERE add IS NOT NULL OR remove IS NOT NULL
       )
       SELECT ${NAMES.join(', ')} FROM (
         (${latest('protocol')})
         UNION ALL (${latest('metaData')})
         UNION ALL SELECT ${nulls('add')}, _v, _i FROM newest_file WHERE rn = 1 AND add IS NOT NULL
         UNION ALL SELECT ${nulls('remove')}, _v, _i FROM newest_file WHERE rn = 1 AND remove IS NOT NULL
       ) ORDER BY _v, _i
     ) TO ${quoteLiteral(cpFile)} (FORMAT parquet, COMPRESSION zstd)`,
  );
}

/** Checks the checkpoint holds exactly one protocol and one metaData; returns its action counts. */
async function checkOneProtocolAndMetaData(
  conn: DuckDBConnection,
  cpFile: string,
  { lake, paths, version }: EnsureCheckpointInput,
): Promise<{ size: number; numOfAddFiles: number }> {
  const { size, numOfAddFiles, protocols, metaData } = await countActions(conn, cpFile);
  if (protocols !== 1 || metaData !== 1)
    throw new LakeIntegrityError(
      `Delta checkpoint of version ${version} would not hold exactly one protocol and one metaData`,
      lake.layout.id,
      paths.checkpoint(version),
    );
  return { size, numOfAddFiles };
}
