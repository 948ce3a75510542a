/**
 * Stage: a window's events → Parquet parts (bounded memory) → uploaded with `If-None-Match: *` under names
 * unique to (window, attempt). A retry or a zombie attempt writes different names, which no manifest
 * references, so readers never see them.
 */
import type { StagedFile, StagedWindow } from '../domain/staged.js';
import { CHANGE_OPS, type ChangeOp, type LakeValue } from '../domain/values.js';
import type { LakeTable } from './lake-table.js';
import type { WindowRef } from './manifest.js';
import { EVENT_LAKE_COLUMNS, LakeValueError } from './lake-types.js';
import { assertAttemptId, utcDateOfNanos } from './layout.js';
import { ParquetWriter, type WrittenPart } from './parquet-writer.js';
import type { SchemaDoc } from './schema-registry.js';
import { zeroOpCounts } from './control-totals.js';
import { withTempDir } from './temp-dir.js';

/** Source positions are lowercase hex of a fixed width per table, so string order is position order. */
const POSITION = /^[0-9a-f]{1,64}$/;

/**
 * One change event from the source.
 *
 * `position` totally orders the events of one key: the source's position encoded as fixed-width lowercase hex
 * (CDC: 10-byte start_lsn + 10-byte seqval + 4-byte operation ordinal = 48 hex digits; Change Tracking: the
 * 8-byte version; rowversion: 8 bytes; a snapshot/backfill read: the snapshot's position in the same format).
 * All events of a table use the same width, so comparing strings compares positions.
 */
export interface ChangeEvent {
  readonly op: ChangeOp;
  readonly position: string;
  /** When the change entered the source's log (UTC epoch nanoseconds), or null where the source does not know. */
  readonly commitTs: bigint | null;
  /** The table's column values, in the order of the registered schema's `columns`. */
  readonly values: readonly LakeValue[];
}

/**
 * What one attempt staged, as the validate and commit steps need it: a {@link StagedWindow} (the one staged type
 * from capture to lake) satisfies it; {@link stageWindow} returns exactly this.
 */
export type StagedAttempt = Pick<
  StagedWindow,
  'attemptId' | 'schemaVersion' | 'files' | 'rows' | 'opCounts' | 'minPosition' | 'maxPosition' | 'stageMs'
>;

export interface StageWindowInput {
  readonly lake: LakeTable;
  /** The window staged: every row carries its sequence as `_window_id`, and file names contain it. */
  readonly window: WindowRef;
  /** Unique per attempt (e.g. Temporal activity attempt + a random suffix); part of every file name. */
  readonly attemptId: string;
  readonly schema: SchemaDoc;
  readonly events: AsyncIterable<ChangeEvent> | Iterable<ChangeEvent>;
  /** When the extraction read the source (UTC epoch nanoseconds, µs precision). */
  readonly extractedAt: bigint;
  /** Rows per part file (bounded memory); default 500,000. */
  readonly partRows?: number;
  /** Parent of the local scratch directory (the OS temp directory by default); the directory is removed after. */
  readonly scratchDir?: string;
}

/** Stage: writes the window's events to Parquet parts and uploads them under attempt-unique names. */
export async function stageWindow(input: StageWindowInput): Promise<StagedAttempt> {
  const { lake, attemptId, schema } = input;
  assertAttemptId(attemptId);
  return withTempDir('tidemark-stage-', input.scratchDir, async (scratch) => {
    // A tombstone carries its key; its other columns may be NULL (a Change Tracking delete knows only the key),
    // whatever the column's nullability. So the writer accepts NULL in non-key columns, and NOT NULL is checked
    // by the event check for every other event.
    const keys = new Set(schema.keyColumns.map((k) => k.toLowerCase()));
    const writer = await ParquetWriter.create({
      columns: [
        ...EVENT_LAKE_COLUMNS,
        ...schema.columns.map((c) => (keys.has(c.name.toLowerCase()) ? c : { ...c, nullable: true })),
      ],
      dir: scratch,
      partRows: input.partRows,
      fileName: (date, part) => `${date}-${part}.parquet`,
    });
    try {
      const timing = { encode: 0 };
      const counted = await writeEvents(input, writer, eventCheck(schema, keys), timing);
      const t0 = Date.now();
      const parts = await writer.finish();
      const t1 = Date.now();
      const files = await uploadParts(lake, input.window.sequence, attemptId, parts);
      const stageMs = { encode: timing.encode + (t1 - t0), upload: Date.now() - t1 };
      return { attemptId, schemaVersion: schema.version, files, ...counted, stageMs };
    } finally {
      writer.close();
    }
  });
}

type Counted = Pick<StagedAttempt, 'rows' | 'opCounts' | 'minPosition' | 'maxPosition'>;

/** Appends every event to the writer (its `_window_id` and `_extracted_at` set), counting as it goes. */
async function writeEvents(
  input: StageWindowInput,
  writer: ParquetWriter,
  check: (e: ChangeEvent) => void,
  timing: { encode: number },
): Promise<Counted> {
  const opCounts = zeroOpCounts();
  let rows = 0;
  let minPosition: string | null = null;
  let maxPosition: string | null = null;
  const extractedDate = utcDateOfNanos(input.extractedAt);
  const windowId = BigInt(input.window.sequence);
  for await (const e of input.events) {
    check(e);
    if (minPosition === null || e.position < minPosition) minPosition = e.position;
    if (maxPosition === null || e.position > maxPosition) maxPosition = e.position;
    const commitDate = e.commitTs === null ? extractedDate : utcDateOfNanos(e.commitTs);
    const row = [e.op, e.position, e.commitTs, windowId, input.extractedAt, ...e.values];
    const flushing = writer.append(commitDate, row);
    if (flushing) {
      // A part is full: the time it takes to encode and write it is the `encode` stage (metrics).
      const t0 = Date.now();
      await flushing;
      timing.encode += Date.now() - t0;
    }
    opCounts[e.op]++;
    rows++;
  }
  return { rows, opCounts, minPosition, maxPosition };
}

/** Checks each event: a known op, a lowercase hex position of the window's one width, no NULL where none may be. */
function eventCheck(schema: SchemaDoc, keys: ReadonlySet<string>): (e: ChangeEvent) => void {
  const required = schema.columns.flatMap((c, i) => (c.nullable || keys.has(c.name.toLowerCase()) ? [] : [i]));
  let positionWidth = -1;
  return (e) => {
    if (!CHANGE_OPS.includes(e.op)) throw new LakeValueError('_op', 'op must be c, u, d or r');
    if (!POSITION.test(e.position)) throw new LakeValueError('_pos', 'position must be lowercase hex');
    if (positionWidth === -1) positionWidth = e.position.length;
    else if (e.position.length !== positionWidth)
      throw new LakeValueError('_pos', 'positions of one window must have one fixed width');
    if (e.op !== 'd')
      for (const i of required)
        if ((e.values[i] ?? null) === null)
          throw new LakeValueError(schema.columns[i]!.name, 'NULL in a non-nullable column');
  };
}

/** Uploads the written parts under names unique to (window, attempt), with `If-None-Match: *`. */
async function uploadParts(
  lake: LakeTable,
  sequence: number,
  attemptId: string,
  parts: readonly WrittenPart[],
): Promise<StagedFile[]> {
  const files: StagedFile[] = [];
  for (const part of parts) {
    const path = lake.layout.dataFileRelative(part.partition, sequence, attemptId, part.partIndex);
    const up = await lake.store.uploadFileIfAbsent(lake.layout.resolve(path), part.localPath, {
      contentType: 'application/vnd.apache.parquet',
    });
    files.push({ path, commitDate: part.partition, rows: part.rows, bytes: up.bytes, md5: up.md5 });
  }
  return files;
}
