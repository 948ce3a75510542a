/** Messages between {@link ThreadedParquetWriter} (parquet-writer-thread.ts) and its thread's entry. */
import type { LakeValue } from '../domain/values.js';
import type { ParquetWriterOptions, WrittenPart } from './parquet-writer.js';

/**
 * One column of a batch. A column whose values are all strings (or NULL) travels as one string and the lengths
 * (−1 for NULL): structured clone copies one string per column instead of tagging thousands of small ones, which
 * made the message about 3× cheaper to build and read for the claim lines' 20 text columns. Any other column
 * travels as its values.
 */
export type PackedColumn = { readonly values: LakeValue[] } | { readonly text: string; readonly lengths: Int32Array };

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
