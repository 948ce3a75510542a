/** Messages between {@link ThreadedParquetWriter} (parquet-writer-thread.ts) and its thread's entry. */
import type { LakeValue } from '../domain/values.js';
import type { ParquetWriterOptions, WrittenPart } from './parquet-writer.js';

/** A batch of rows: `partitions[k]` is row k's partition, its values `values[k × width … (k + 1) × width)`. */
export interface ThreadRows {
  readonly type: 'rows';
  readonly values: LakeValue[];
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
