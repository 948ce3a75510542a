/**
 * The worker thread of {@link ThreadedParquetWriter} (parquet-writer-thread.ts): runs one {@link ParquetWriter}
 * at a time for the main thread, handling its requests strictly in order. After an error it reports the error
 * once, closes the writer and ignores the rest of that writer's requests (the main thread then retires it).
 */
import { writeFileSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import type { LakeValue } from '../domain/values.js';
import { LakeValueError } from './lake-types.js';
import { ParquetWriter } from './parquet-writer.js';
import type { PackedColumn, ThreadReply, ThreadRequest } from './parquet-writer-thread-protocol.js';

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

/** A column's values from its packed form (parquet-writer-thread-protocol.ts). */
function unpack(c: PackedColumn): LakeValue[] {
  if ('values' in c) return c.values;
  const out = new Array<LakeValue>(c.lengths.length);
  for (let k = 0, at = 0; k < c.lengths.length; k++) {
    const n = c.lengths[k]!;
    if (n < 0) out[k] = null;
    else {
      out[k] = c.text.slice(at, at + n);
      at += n;
    }
  }
  return out;
}

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
    const row = new Array<LakeValue>(width);
    const { partitions } = req;
    const columns = req.columns.map(unpack);
    for (let k = 0; k < partitions.length; k++) {
      for (let i = 0; i < width; i++) row[i] = columns[i]![k] ?? null;
      const flushing = writer.append(partitions[k]!, row);
      if (flushing) await flushing;
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
