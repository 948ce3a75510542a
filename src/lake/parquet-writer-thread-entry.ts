/**
 * The worker thread of {@link ThreadedParquetWriter} (parquet-writer-thread.ts): runs one {@link ParquetWriter}
 * at a time for the main thread, handling its requests strictly in order. After an error it reports the error
 * once, closes the writer and ignores the rest of that writer's requests (the main thread then retires it).
 */
import { writeFileSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { LakeValueError } from './lake-types.js';
import { ParquetWriter } from './parquet-writer.js';
import type { ThreadReply, ThreadRequest } from './parquet-writer-thread-protocol.js';

const port = parentPort;
if (!port) throw new Error('parquet-writer-thread-entry runs only as a worker thread');

/**
 * The thread's name in /proc (Linux; elsewhere nothing happens). Node names all its threads `node`, so without it
 * per-thread CPU (`top -H`, `ps -L`, bench:e2e's CPU table) cannot tell the Parquet writers from V8's GC and
 * compiler threads. A thread started by this one (none today) would inherit the name.
 */
export const WRITER_THREAD_NAME = 'tm-parquet';
try {
  writeFileSync('/proc/thread-self/comm', WRITER_THREAD_NAME);
} catch {
  // not Linux, or /proc not mounted: the name is only for diagnostics
}

let writer: ParquetWriter | undefined;
let failed = false;
let width = 0;
let queue: Promise<void> = Promise.resolve();

function reply(r: ThreadReply): void {
  port!.postMessage(r);
}

async function handle(req: ThreadRequest): Promise<void> {
  if (req.type === 'open') {
    writer?.close();
    failed = false;
    width = req.options.columns.length;
    writer = await ParquetWriter.create(req.options);
    reply({ type: 'opened' });
    return;
  }
  if (req.type === 'abort') {
    writer?.close();
    writer = undefined;
    failed = false;
    reply({ type: 'aborted' });
    return;
  }
  if (req.type === 'exit') {
    writer?.close();
    writer = undefined;
    port!.close();
    return;
  }
  if (failed || !writer) return;
  if (req.type === 'rows') {
    // Column by column, one run of rows of the same partition at a time (parquet-writer-vectors.ts): no row
    // arrays, and no strings for short text.
    const { partitions, columns } = req;
    if (columns.length !== width) throw new LakeValueError('(row)', `expected ${width} values, got ${columns.length}`);
    const textAt = new Int32Array(width);
    for (let k = 0; k < partitions.length;) {
      const partition = partitions[k]!;
      let end = k + 1;
      while (end < partitions.length && partitions[end] === partition) end++;
      await writer.appendPacked(partition, columns, textAt, k, end - k);
      k = end;
    }
    reply({ type: 'appended' });
    return;
  }
  const parts = await writer.finish();
  writer = undefined;
  reply({ type: 'finished', parts });
}

port.on('message', (req: ThreadRequest) => {
  queue = queue
    .then(() => handle(req))
    .catch((err: unknown) => {
      failed = true;
      writer?.close();
      writer = undefined;
      const e = err instanceof Error ? err : new Error(String(err));
      reply({
        type: 'error',
        error: {
          name: e.name,
          message: e.message,
          ...(e instanceof LakeValueError ? { column: e.column, reason: e.reason } : {}),
        },
      });
    });
});
