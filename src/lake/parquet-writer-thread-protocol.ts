/** Messages between {@link ThreadedParquetWriter} (parquet-writer-thread.ts) and its thread's entry. */
import type { LakeValue } from '../domain/values.js';
import type { ParquetWriterOptions, WrittenPart } from './parquet-writer.js';

/**
 * One column of a batch, in the cheapest form its values allow (built by `packColumn`, parquet-writer-thread.ts);
 * every typed array is transferred with the message, not copied:
 * - text: a column whose values are all strings (or NULL) travels as one string and the lengths (−1 for NULL):
 *   structured clone copies one string per column instead of tagging thousands of small ones;
 * - bytes: all Uint8Array (or NULL): their bytes end to end and the lengths (−1 for NULL), instead of one
 *   ArrayBuffer per value;
 * - int64: all bigint within int64 (or NULL): a BigInt64Array, `nulls[k]` = 1 for a NULL (absent: none);
 * - float64: all number (or NULL): a Float64Array (exact for every JS number), `nulls` as for int64;
 * - values: anything else (booleans, instants with an offset, mixed or out-of-range values), as they are.
 * The thread turns each back into the same value before its checks (parquet-writer-vectors.ts, putPacked).
 */
export type PackedColumn =
  | { readonly values: LakeValue[] }
  | { readonly text: string; readonly lengths: Int32Array }
  | { readonly bytes: Uint8Array; readonly lengths: Int32Array }
  | { readonly int64: BigInt64Array; readonly nulls: Uint8Array | undefined }
  | { readonly float64: Float64Array; readonly nulls: Uint8Array | undefined };

/** A batch of rows: row k's partition is `partitions[k]`, its value of column i is row k of `columns[i]`. */
export interface ThreadRows {
  readonly type: 'rows';
  readonly columns: PackedColumn[];
  readonly partitions: string[];
}

/** Main thread → writer thread; handled one at a time, in order. */
export type ThreadRequest =
  | { readonly type: 'open'; readonly options: Omit<ParquetWriterOptions, 'fileName'> }
  | ThreadRows
  | { readonly type: 'finish' }
  /** Close the writer, whatever state it is in (the stage was abandoned or failed). */
  | { readonly type: 'abort' }
  /** Close the port: the thread ends once idle (beyond the idle pool). */
  | { readonly type: 'exit' };

/** Writer thread → main thread: one reply per request (`error` instead, once, after which the writer is closed). */
export type ThreadReply =
  | { readonly type: 'opened' }
  | { readonly type: 'appended' }
  | { readonly type: 'finished'; readonly parts: WrittenPart[] }
  | { readonly type: 'aborted' }
  | {
      readonly type: 'error';
      readonly error: { name: string; message: string; column?: string; reason?: string };
    };
