/**
 * The content of each Delta version, derived only from immutable lake objects (schema versions and manifests),
 * so that every publisher — a retry, a crashed one's successor, a concurrent one — derives the same bytes for
 * the same version:
 *
 * - version 0 (table creation): `commitInfo`, `protocol`, `metaData` with the Delta schema of schema version 1;
 *   no files.
 * - version N ≥ 1 (window N): `commitInfo` carrying what the manifest says about the window (path, sequence,
 *   window bounds, positions, counts — never row values, and not the configured column sums either, which for a
 *   one-row window would be a row's value), a `metaData` when manifest N was written with another schema
 *   version than the one in effect before it (version 0: schema version 1), and one `add` per file of the
 *   manifest. An empty window is a version with `commitInfo` alone.
 *
 * Times are the lake's own (the schema version's `createdAt`, the manifest's `committedAt`), never the clock of
 * the publisher.
 */
import { createHash } from 'node:crypto';
import { deltaSchemaOf, type DeltaStructType } from './delta-schema.js';
import {
  COMMIT_INFO_FORMAT,
  DELTA_PROTOCOL,
  ENGINE_INFO,
  PARTITION_COLUMN,
  TABLE_PROPERTIES,
  type ProtocolAction,
} from './protocol.js';
import type { Manifest, SchemaDoc, StagedFile, TableLayout } from './lake-port.js';

/** `metaData` action (PROTOCOL.md, "Change Metadata"). */
export interface MetaDataAction {
  readonly id: string;
  readonly format: { readonly provider: 'parquet'; readonly options: Record<string, string> };
  readonly schemaString: string;
  readonly partitionColumns: readonly string[];
  readonly createdTime: number;
  readonly configuration: Readonly<Record<string, string>>;
}

/** `add` action (PROTOCOL.md, "Add File and Remove File"). */
export interface AddAction {
  readonly path: string;
  readonly partitionValues: Readonly<Record<string, string>>;
  readonly size: number;
  readonly modificationTime: number;
  readonly dataChange: boolean;
  /** JSON text of the per-file statistics. */
  readonly stats: string;
  readonly tags: Readonly<Record<string, string>>;
}

/** What a version's `commitInfo.tidemark` says about the lake object it was derived from. */
export interface TidemarkCommitInfo {
  readonly format: typeof COMMIT_INFO_FORMAT;
  readonly table: string;
  /**
   * The manifest sequence this version was derived from; 0 for the table's creation; absent in a compaction
   * version. It equals the Delta version until the first compaction; each compaction version shifts the
   * versions after it by one (docs/raw-layer.md, "Mapping").
   */
  readonly sequence?: number;
  /** Container-relative path of the manifest (absent for version 0 and compactions). */
  readonly manifest?: string;
  /** Absent in a compaction version. */
  readonly schemaVersion?: number;
  readonly window?: Manifest['window'];
  readonly positions?: Manifest['positions'];
  readonly attemptId?: string;
  readonly rows?: number;
  readonly rowsByOp?: Manifest['controlTotals']['rowsByOp'];
  readonly files?: number;
  /** A compaction version (compaction.ts): what it rearranged. Absent: a window version or the creation. */
  readonly compaction?: CompactionCommitInfo;
}

/** What a compaction version's `commitInfo.tidemark.compaction` records (paths, counts and bytes only). */
export interface CompactionCommitInfo {
  /** The partition it rewrote (`YYYY-MM-DD`). */
  readonly commitDate: string;
  /** The attempt id in the names of the files it wrote. */
  readonly attemptId: string;
  /** The last manifest sequence published before this version (the next window version is for the one after). */
  readonly afterSequence: number;
  readonly filesRemoved: number;
  readonly filesAdded: number;
  readonly bytesRemoved: number;
  readonly bytesAdded: number;
  readonly rows: number;
}

/**
 * `remove` action (PROTOCOL.md, "Add File and Remove File"). Tidemark writes it only in compaction versions, with
 * `dataChange = false`; the file itself is never deleted.
 */
export interface RemoveAction {
  readonly path: string;
  readonly deletionTimestamp: number;
  readonly dataChange: boolean;
  readonly extendedFileMetadata: boolean;
  readonly partitionValues: Readonly<Record<string, string>>;
  readonly size: number;
}

export interface CommitInfoAction {
  readonly timestamp: number;
  readonly operation: string;
  readonly operationParameters: Readonly<Record<string, string>>;
  readonly isBlindAppend: boolean;
  readonly engineInfo: string;
  readonly tidemark: TidemarkCommitInfo;
}

export type DeltaAction =
  | { readonly commitInfo: CommitInfoAction }
  | { readonly protocol: ProtocolAction }
  | { readonly metaData: MetaDataAction }
  | { readonly add: AddAction }
  | { readonly remove: RemoveAction };

const PARTITION_BY = JSON.stringify([PARTITION_COLUMN]);

const millis = (iso: string): number => {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) throw new RangeError(`not an ISO timestamp: ${iso}`);
  return ms;
};

/**
 * The table's Delta id: a UUID derived from the table's id, its root and the creation time of schema version 1,
 * so every publisher derives the same one, and a table re-created at the same root gets another.
 */
export function deltaTableId(layout: TableLayout, firstSchema: SchemaDoc): string {
  const h = createHash('sha256')
    .update(`${COMMIT_INFO_FORMAT}\u0000${layout.id}\u0000${layout.root}\u0000${firstSchema.createdAt}`)
    .digest();
  h[6] = (h[6]! & 0x0f) | 0x80; // version 8 (custom)
  h[8] = (h[8]! & 0x3f) | 0x80; // RFC 9562 variant
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
}

function metaData(tableId: string, schema: DeltaStructType, createdAt: string): MetaDataAction {
  return {
    id: tableId,
    format: { provider: 'parquet', options: {} },
    schemaString: JSON.stringify(schema),
    partitionColumns: [PARTITION_COLUMN],
    createdTime: millis(createdAt),
    configuration: TABLE_PROPERTIES,
  };
}

/** Version 0: the table's creation from schema version 1. Throws DeltaSchemaError if it has no Delta schema. */
export function creationVersion(layout: TableLayout, firstSchema: SchemaDoc): DeltaAction[] {
  const tableId = deltaTableId(layout, firstSchema);
  return [
    {
      commitInfo: {
        timestamp: millis(firstSchema.createdAt),
        operation: 'CREATE TABLE',
        operationParameters: { partitionBy: PARTITION_BY },
        isBlindAppend: true,
        engineInfo: ENGINE_INFO,
        tidemark: { format: COMMIT_INFO_FORMAT, table: layout.id, sequence: 0, schemaVersion: firstSchema.version },
      },
    },
    { protocol: DELTA_PROTOCOL },
    { metaData: metaData(tableId, deltaSchemaOf(firstSchema), firstSchema.createdAt) },
  ];
}

/** A relative path as the URI the protocol asks for (each segment percent-encoded; `=` kept, as Spark does). */
export function pathUri(relative: string): string {
  return relative
    .split('/')
    .map((s) => encodeURIComponent(s).replace(/%3D/g, '='))
    .join('/');
}

function addOf(file: StagedFile, sequence: number, committedAt: number): AddAction {
  // Every row of a window's file carries `_window_id` = the window (validated before commit), so its bounds are
  // tight and exact; they let engines skip files by window.
  const stats = {
    numRecords: file.rows,
    minValues: { _window_id: sequence },
    maxValues: { _window_id: sequence },
    nullCount: { _window_id: 0 },
  };
  return {
    path: pathUri(file.path),
    partitionValues: { [PARTITION_COLUMN]: file.commitDate },
    size: file.bytes,
    modificationTime: committedAt,
    dataChange: true,
    stats: JSON.stringify(stats),
    tags: { 'tidemark.md5': file.md5 },
  };
}

export interface WindowVersionInput {
  readonly layout: TableLayout;
  readonly manifest: Manifest;
  readonly tableId: string;
  /** The new schema when the manifest's schema version differs from the one in effect before it. */
  readonly schemaChange?: { readonly schema: SchemaDoc; readonly deltaSchema: DeltaStructType };
}

/** Version N: window N's manifest as Delta actions. */
export function windowVersion(input: WindowVersionInput): DeltaAction[] {
  const { layout, manifest: m, tableId, schemaChange } = input;
  const committedAt = millis(m.committedAt);
  const actions: DeltaAction[] = [
    {
      commitInfo: {
        timestamp: committedAt,
        operation: 'WRITE',
        operationParameters: { mode: 'Append', partitionBy: PARTITION_BY },
        isBlindAppend: true,
        engineInfo: ENGINE_INFO,
        tidemark: {
          format: COMMIT_INFO_FORMAT,
          table: m.table,
          sequence: m.sequence,
          manifest: layout.manifestPath(m.sequence),
          schemaVersion: m.schemaVersion,
          window: m.window,
          positions: m.positions,
          attemptId: m.attemptId,
          rows: m.controlTotals.rows,
          rowsByOp: m.controlTotals.rowsByOp,
          files: m.files.length,
        },
      },
    },
  ];
  if (schemaChange)
    actions.push({ metaData: metaData(tableId, schemaChange.deltaSchema, schemaChange.schema.createdAt) });
  for (const f of m.files) actions.push({ add: addOf(f, m.sequence, committedAt) });
  return actions;
}

/** A file a compaction wrote: where, what it holds, and the bounds of `_window_id` over its rows. */
export interface CompactedFile {
  /** Relative to the table root. */
  readonly path: string;
  readonly commitDate: string;
  readonly rows: number;
  readonly bytes: number;
  readonly md5: string;
  readonly minWindow: number;
  readonly maxWindow: number;
}

/** A file a compaction takes out of the table's state (the live `add` as the log has it). */
export interface RemovedFile {
  /** The `add` path as in the log (URI-encoded). */
  readonly uri: string;
  readonly commitDate: string;
  readonly size: number;
}

export interface CompactionVersionInput {
  readonly table: string;
  readonly afterSequence: number;
  readonly commitDate: string;
  readonly attemptId: string;
  readonly removed: readonly RemovedFile[];
  readonly added: readonly CompactedFile[];
  /** The commit time (epoch ms): the compaction is its own commit point, so its clock is the only one. */
  readonly committedAt: number;
}

/**
 * A compaction version: `remove` + `add` with `dataChange = false` ("the records in the added file must be
 * contained in one or more remove actions in the same version", and the other way round), so a table with
 * `delta.appendOnly = true` accepts it ("New log entries may rearrange data (i.e. add and remove actions where
 * dataChange=false)"). The removed files stay in storage (WORM); only the log stops referencing them.
 */
export function compactionVersion(input: CompactionVersionInput): DeltaAction[] {
  const { committedAt } = input;
  const rows = input.added.reduce((n, f) => n + f.rows, 0);
  const actions: DeltaAction[] = [
    {
      commitInfo: {
        timestamp: committedAt,
        operation: 'OPTIMIZE',
        operationParameters: { predicate: JSON.stringify([`${PARTITION_COLUMN} = '${input.commitDate}'`]) },
        isBlindAppend: false,
        engineInfo: ENGINE_INFO,
        tidemark: {
          format: COMMIT_INFO_FORMAT,
          table: input.table,
          rows,
          files: input.added.length,
          compaction: {
            commitDate: input.commitDate,
            attemptId: input.attemptId,
            afterSequence: input.afterSequence,
            filesRemoved: input.removed.length,
            filesAdded: input.added.length,
            bytesRemoved: input.removed.reduce((n, f) => n + f.size, 0),
            bytesAdded: input.added.reduce((n, f) => n + f.bytes, 0),
            rows,
          },
        },
      },
    },
  ];
  for (const f of input.removed)
    actions.push({
      remove: {
        path: f.uri,
        deletionTimestamp: committedAt,
        dataChange: false,
        extendedFileMetadata: true,
        partitionValues: { [PARTITION_COLUMN]: f.commitDate },
        size: f.size,
      },
    });
  for (const f of input.added) {
    const stats = {
      numRecords: f.rows,
      minValues: { _window_id: f.minWindow },
      maxValues: { _window_id: f.maxWindow },
      nullCount: { _window_id: 0 },
    };
    actions.push({
      add: {
        path: pathUri(f.path),
        partitionValues: { [PARTITION_COLUMN]: f.commitDate },
        size: f.bytes,
        modificationTime: committedAt,
        dataChange: false,
        stats: JSON.stringify(stats),
        tags: { 'tidemark.md5': f.md5, 'tidemark.compaction': input.attemptId },
      },
    });
  }
  return actions;
}

/** A version's file content: one action per line (newline-delimited JSON), ending in a newline. */
export function serializeVersion(actions: readonly DeltaAction[]): string {
  return `${actions.map((a) => JSON.stringify(a)).join('\n')}\n`;
}

/**
 * What makes two bodies of one version the same version: the lake object it was derived from (table and
 * sequence in `commitInfo.tidemark`), the protocol, the table id / schema / partitioning / properties of a
 * `metaData`, and the set of files (path, size, partition values). Timestamps and statistics may differ between
 * publisher releases without making a version another one. Unparseable content yields a marker that equals
 * nothing Tidemark writes.
 */
export function versionEssence(body: string): string {
  try {
    const essence: Record<string, unknown> = {};
    const files: string[] = [];
    for (const line of body.split('\n')) {
      if (line.trim() === '') continue;
      const action = JSON.parse(line) as Record<string, Record<string, unknown> | undefined>;
      const [kind, value] = Object.entries(action)[0] ?? [];
      if (kind === undefined || value === undefined || value === null) return '(not a Delta action)';
      switch (kind) {
        case 'commitInfo': {
          const t = (value.tidemark ?? {}) as Partial<TidemarkCommitInfo>;
          essence.commit = [t.format ?? null, t.table ?? null, t.sequence ?? null, t.manifest ?? null];
          if (t.compaction) essence.compaction = [t.compaction.commitDate, t.compaction.attemptId];
          break;
        }
        case 'protocol':
          essence.protocol = value;
          break;
        case 'metaData':
          essence.metaData = [
            value.id,
            JSON.parse(String(value.schemaString)) as unknown,
            value.partitionColumns,
            Object.entries((value.configuration ?? {}) as Record<string, string>).sort(),
          ];
          break;
        case 'add':
        case 'remove':
          files.push(JSON.stringify([kind, value.path, value.size ?? null, value.partitionValues ?? null]));
          break;
        default:
          files.push(JSON.stringify([kind]));
      }
    }
    essence.files = files.sort();
    return JSON.stringify(essence);
  } catch {
    return '(unparseable)';
  }
}
