/**
 * Stage: a window's events → Parquet parts (bounded memory) → uploaded with `If-None-Match: *` under names
 * unique to (window, attempt). A retry or a zombie attempt writes different names, which no manifest
 * references, so readers never see them.
 */
import type { ParquetCompression } from '../config/types.js';
import type { StagedFile, StagedWindow } from '../domain/staged.js';
import { CHANGE_OPS, type ChangeOp, type LakeValue } from '../domain/values.js';
import type { LakeTable } from './lake-table.js';
import type { WindowRef } from './manifest.js';
import { EVENT_LAKE_COLUMNS, LakeValueError } from './lake-types.js';
import { assertAttemptId, utcDateOfNanos } from './layout.js';
import { ParquetWriter, type WrittenPart } from './parquet-writer.js';
import { ThreadedParquetWriter } from './parquet-writer-thread.js';
import type { SchemaDoc } from './schema-registry.js';
import { zeroOpCounts } from './control-totals.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkParts } from './check-parts.js';
import { WindowValidationError } from './errors.js';

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
  | 'attemptId'
  | 'schemaVersion'
  | 'files'
  | 'rows'
  | 'opCounts'
  | 'minPosition'
  | 'maxPosition'
  | 'stageMs'
  | 'controlSums'
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
  /** The part files' compression (config `sink.parquet`); default zstd level 3. */
  readonly compression?: ParquetCompression;
  /** Parent of the local scratch directory (the OS temp directory by default); the directory is removed after. */
  readonly scratchDir?: string;
  /**
   * Encode on a worker thread (lake/parquet-writer-thread.ts), so that encoding overlaps the read on another core;
   * default true. False encodes on the calling thread (same files).
   */
  readonly encodeOnThread?: boolean;
  /**
   * Control-total columns (`tables[].quality.controlTotals`): their sums over the parts are computed with the
   * parts' check, before upload, and recorded as the attempt's `controlSums` (validation then downloads nothing).
   */
  readonly controlColumns?: readonly string[];
}

/**
 * Stage: writes the window's events to Parquet parts, checks the parts (lake/check-parts.ts; a problem is a
 * {@link WindowValidationError} and nothing is uploaded), and uploads them under attempt-unique names.
 */
export async function stageWindow(input: StageWindowInput): Promise<StagedAttempt> {
  const stage = await openStage(input);
  try {
    for await (const e of input.events) {
      const flushing = stage.add(e);
      if (flushing) await flushing;
    }
    const written = await stage.finish();
    return await written.upload();
  } finally {
    await stage.discard();
  }
}

/** The counts a stage keeps while events are added. */
type Counted = Pick<StagedAttempt, 'rows' | 'opCounts' | 'minPosition' | 'maxPosition'>;

/**
 * One stage being written: events are added one at a time (read → convert → append), then {@link OpenStage.finish}
 * encodes and checks the Parquet parts, and {@link WrittenStage.upload} uploads them. The steps of one stage run in
 * that order, but stages are independent (each its own scratch directory and writer), so a caller can upload one
 * while encoding the next and filling a third (capture/stage-stream.ts). `discard` removes the local files
 * whatever happened (idempotent); call it once the stage is uploaded or abandoned.
 */
export interface OpenStage {
  /** Adds one event; returns a promise only when a part is being written (then await it). */
  add(e: ChangeEvent): Promise<void> | undefined;
  /** Events added so far. */
  readonly rows: number;
  /** Encodes the remaining rows and checks every part; throws {@link WindowValidationError} on a problem. */
  finish(): Promise<WrittenStage>;
  discard(): Promise<void>;
}

/** A stage whose parts are written and checked, ready to upload. */
export interface WrittenStage {
  readonly counted: Counted;
  /** Uploads the parts under attempt-unique names (`If-None-Match: *`). */
  upload(): Promise<StagedAttempt>;
}

/** Opens a stage: a scratch directory and a Parquet writer of the schema's event columns. */
export async function openStage(input: Omit<StageWindowInput, 'events'>): Promise<OpenStage> {
  const { lake, attemptId, schema } = input;
  assertAttemptId(attemptId);
  const scratch = await mkdtemp(join(input.scratchDir ?? tmpdir(), 'tidemark-stage-'));
  let writer: ParquetWriter | ThreadedParquetWriter | undefined;
  let discarded = false;
  const discard = async () => {
    if (discarded) return;
    discarded = true;
    writer?.close();
    await rm(scratch, { recursive: true, force: true });
  };
  try {
    // A tombstone carries its key; its other columns may be NULL (a Change Tracking delete knows only the key),
    // whatever the column's nullability. So the writer accepts NULL in non-key columns, and NOT NULL is checked
    // by the event check for every other event.
    const keys = new Set(schema.keyColumns.map((k) => k.toLowerCase()));
    const options = {
      columns: [
        ...EVENT_LAKE_COLUMNS,
        ...schema.columns.map((c) => (keys.has(c.name.toLowerCase()) ? c : { ...c, nullable: true })),
      ],
      dir: scratch,
      partRows: input.partRows,
      ...(input.compression ? { compression: input.compression } : {}),
    };
    // Part files are named `<commit date>-<part>.parquet` (the writer's default name: a date needs no escaping).
    writer = await (input.encodeOnThread === false
      ? ParquetWriter.create(options)
      : ThreadedParquetWriter.create(options));
    const w = writer;
    const check = eventCheck(schema, keys);
    const counted = {
      rows: 0,
      opCounts: zeroOpCounts(),
      minPosition: null as string | null,
      maxPosition: null as string | null,
    };
    const extractedDate = utcDateOfNanos(input.extractedAt);
    const windowId = BigInt(input.window.sequence);
    const row: LakeValue[] = [null, null, null, windowId, input.extractedAt];
    // Metrics: time spent encoding (parts flushed while adding, then the rest at finish, with its checks) and
    // uploading. With stages overlapping (capture/stage-stream.ts) these overlap the read too.
    const ms = { encode: 0, upload: 0 };
    return {
      add(e) {
        check(e);
        if (counted.minPosition === null || e.position < counted.minPosition) counted.minPosition = e.position;
        if (counted.maxPosition === null || e.position > counted.maxPosition) counted.maxPosition = e.position;
        const commitDate = e.commitTs === null ? extractedDate : utcDateOfNanos(e.commitTs);
        // One row array for the whole stage: the writer copies each row into its chunk at once.
        row[0] = e.op;
        row[1] = e.position;
        row[2] = e.commitTs;
        for (let i = 0; i < e.values.length; i++) row[EVENT_LAKE_COLUMNS.length + i] = e.values[i] ?? null;
        row.length = EVENT_LAKE_COLUMNS.length + e.values.length;
        const flushing = w.append(commitDate, row);
        counted.opCounts[e.op]++;
        counted.rows++;
        return flushing && encodeTimed(ms, flushing);
      },
      get rows() {
        return counted.rows;
      },
      async finish() {
        const t0 = Date.now();
        const parts = await w.finish();
        // The parts' contents are checked (and the control totals summed) here, on the local files, so validation
        // need not download them.
        const { problems, sums } = await checkParts({
          schema,
          windowSequence: input.window.sequence,
          parts,
          ...counted,
          ...(input.controlColumns ? { sumColumns: input.controlColumns } : {}),
        });
        if (problems.length) throw new WindowValidationError(lake.layout.id, input.window.sequence, problems);
        ms.encode += Date.now() - t0;
        return {
          counted,
          upload: async () => {
            const t1 = Date.now();
            const files = await uploadParts(lake, input.window.sequence, attemptId, parts);
            ms.upload += Date.now() - t1;
            return {
              attemptId,
              schemaVersion: schema.version,
              files,
              ...counted,
              stageMs: { ...ms },
              ...(sums ? { controlSums: sums } : {}),
            };
          },
        };
      },
      discard,
    };
  } catch (err) {
    await discard();
    throw err;
  }
}

/** `flushing`, adding the time it takes to `ms.encode`. */
function encodeTimed(ms: { encode: number }, flushing: Promise<void>): Promise<void> {
  const t0 = Date.now();
  return flushing.then(() => void (ms.encode += Date.now() - t0));
}

/** Checks each event: a known op, a lowercase hex position of the window's one width, no NULL where none may be. */
function eventCheck(schema: SchemaDoc, keys: ReadonlySet<string>): (e: ChangeEvent) => void {
  const required = schema.columns.flatMap((c, i) => (c.nullable || keys.has(c.name.toLowerCase()) ? [] : [i]));
  let positionWidth = -1;
  // The last position found well-formed: a snapshot chunk's rows share one, so the pattern runs once per chunk.
  let checked = '';
  return (e) => {
    if (!CHANGE_OPS.includes(e.op)) throw new LakeValueError('_op', 'op must be c, u, d or r');
    if (e.position !== checked) {
      if (!POSITION.test(e.position)) throw new LakeValueError('_pos', 'position must be lowercase hex');
      checked = e.position;
    }
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
