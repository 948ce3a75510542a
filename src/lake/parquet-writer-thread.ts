/**
 * A {@link ParquetWriter} that runs on a worker thread (`node:worker_threads`), so that Parquet encoding — the
 * DuckDB appends (one native call per string value), the conversions and their garbage — runs on a second core
 * while the main thread reads and decodes the source (the driver's TDS parsing). Before, both ran one after
 * the other on the worker's main thread, which was busy ~100% of an initial load (docs/performance.md).
 *
 * Same contract as {@link ParquetWriter}: rows are appended in order, partitioned by a caller-given key; `finish`
 * returns the part files in the order written. What differs:
 * - Rows are copied at `append` (the caller may reuse its array) and sent to the thread in batches of
 *   {@link BATCH_ROWS}; at most {@link MAX_BATCHES_IN_FLIGHT} batches wait for the thread, so memory stays bounded:
 *   `append` returns a promise (await it) when the thread is that far behind, else undefined.
 * - A value the writer refuses ({@link LakeValueError}) is reported by a later `append` or by `finish` (the
 *   thread's error, rebuilt with its column and reason), not by the append of that row. Either way the stage
 *   fails and nothing of it is uploaded: no caller recovers a refused row.
 *
 * Threads are kept in a small pool ({@link IDLE_THREADS} idle at most, unref'd so they never hold the process
 * open): a thread loads its modules once, and a window of a few rows does not pay a thread start.
 */
import type { Worker } from 'node:worker_threads';
import { startModuleThread } from '../util/module-thread.js';
import type { LakeValue } from '../domain/values.js';
import { LakeValueError } from './lake-types.js';
import type { ParquetWriterOptions, WrittenPart } from './parquet-writer.js';
import type { PackedColumn, ThreadReply, ThreadRequest, ThreadRows } from './parquet-writer-thread-protocol.js';

/**
 * Rows per message to the thread: large enough that the per-message cost is negligible, small enough that the
 * batch being filled on the main thread (its values, and the column arrays holding them) is posted before V8's
 * next scavenge or two — the main isolate allocates ~16 KB per row during a load, a scavenge every ~1,000 rows, and
 * 2,048-row batches were promoted to the old generation (docs/performance.md, "What survives the worker's
 * scavenges"). Once posted, a batch is bytes outside the heap.
 */
const BATCH_ROWS = 512;
/** Batches posted and not yet appended by the thread before `append` waits (bounded memory, ~16K rows). */
const MAX_BATCHES_IN_FLIGHT = 32;
/** Idle threads kept for the next writer. */
const IDLE_THREADS = 2;
/**
 * A batch is also posted once its text reaches this many characters, so that rows with large (max) values do not
 * make a batch, and the 32 in flight, hold gigabytes (32 × 1M characters in flight at most: as 8 × 4M before).
 */
const BATCH_TEXT_CHARS = 1024 * 1024;
/**
 * A writer thread's young generation is capped: it holds one batch of rows and the current DuckDB chunk's
 * wrappers, the rest is short-lived garbage, and a default-sized young generation per thread added RSS. The old
 * generation is not capped (a row with a large value must not exhaust the thread's heap: that would fail every
 * retry of its window); DuckDB's own memory (the buffered part) is outside V8's heap either way.
 */
const THREAD_LIMITS = { maxYoungGenerationSizeMb: 16 };

/** One worker thread running the writer's entry; handles one writer at a time. */
class WriterThread {
  private readonly worker: Worker;
  private onReply: ((r: ThreadReply) => void) | undefined;
  /** Set once the thread failed or exited: it takes no more writers. */
  dead: Error | undefined;
  /** Resolves when the thread has ended. */
  readonly exited: Promise<void>;

  constructor() {
    started++;
    this.worker = startModuleThread(import.meta.url, 'parquet-writer-thread-entry', { resourceLimits: THREAD_LIMITS });
    live.add(this);
    this.exited = new Promise((r) => this.worker.once('exit', () => r()));
    void this.exited.then(() => live.delete(this));
    this.worker.on('message', (r: ThreadReply) => this.onReply?.(r));
    const die = (err: Error) => {
      this.dead ??= err;
      this.onReply?.({ type: 'error', error: { name: 'Error', message: err.message } });
    };
    this.worker.on('error', die);
    this.worker.on('exit', (code) => die(new Error(`Parquet writer thread exited (code ${code})`)));
  }

  attach(onReply: (r: ThreadReply) => void): void {
    this.onReply = onReply;
    this.worker.ref();
  }

  detach(): void {
    this.onReply = undefined;
    this.worker.unref();
  }

  post(req: ThreadRequest, transfer?: ArrayBuffer[]): void {
    this.worker.postMessage(req, transfer);
  }

  /** Closes the thread's writer (whatever it was doing), then returns the thread to the pool. */
  abandon(): void {
    this.attach((r) => {
      if (r.type === 'aborted' || this.dead) releaseThread(this);
    });
    this.post({ type: 'abort' });
  }
}

const idle: WriterThread[] = [];
/** Every thread not yet ended (in use, idle, or closing its writer). */
const live = new Set<WriterThread>();
/** Threads started by {@link prewarmWriterThreads} whose modules are still loading (not idle yet). */
let warming = 0;
/** Threads started by this process. */
let started = 0;

/**
 * Ends every writer thread of this process and waits for them, at most `timeoutMs`; true when all ended. For a
 * process about to exit (the worker, after its activities stopped): `process.exit()` while a thread is inside
 * DuckDB (a part's COPY, the close of an abandoned writer) aborts the process with a native error ("terminate
 * called after throwing an instance of 'Napi::Error'", exit 134; provoked in 4 of 6 runs of an exit during a
 * part's COPY). Each thread is asked to exit after what it is doing (its queue is in order: a COPY in progress
 * completes, a writer still open is closed), so none is terminated inside DuckDB. A thread still busy after
 * `timeoutMs` is left to the exit.
 */
export async function closeWriterThreads(timeoutMs = 30_000): Promise<boolean> {
  idle.length = 0;
  const ending = [...live];
  for (const t of ending) t.post({ type: 'exit' });
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<false>((r) => (timer = setTimeout(() => r(false), timeoutMs)));
  try {
    return await Promise.race([Promise.all(ending.map((t) => t.exited)).then(() => true), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

function acquireThread(): WriterThread {
  for (;;) {
    const t = idle.pop();
    if (!t) return new WriterThread();
    if (!t.dead) return t;
  }
}

/**
 * Fills the idle pool ({@link IDLE_THREADS}) with threads that load their modules now, so that the first stages
 * of a fresh process do not wait for them: a thread's start (an isolate, its modules, DuckDB's) took 1.2–1.9 s of
 * wall time on the loaded 2-core machine, and an initial load waited for two — before its first row (the first
 * segment's writer) and in the middle of its read (the second segment's, while the first one encodes): 3.6 s of a
 * 52.7 s load (docs/performance.md, "The initial load's timeline"). Resolves once every thread started here has
 * its modules loaded (the worker does not wait for it); a thread holds the process open while it loads, not once idle.
 */
export async function prewarmWriterThreads(): Promise<void> {
  const ready: Promise<void>[] = [];
  for (let n = idle.length + warming; n < IDLE_THREADS; n++) {
    const t = new WriterThread();
    warming++;
    ready.push(
      new Promise<void>((resolve) => {
        // 'abort' with no writer open is answered as soon as the thread's module runs; then the thread is idle.
        let loaded = false;
        t.attach((r) => {
          if (loaded || (r.type !== 'aborted' && !t.dead)) return;
          loaded = true;
          warming--;
          releaseThread(t);
          resolve();
        });
        t.post({ type: 'abort' });
      }),
    );
  }
  await Promise.all(ready);
}
/** Writer threads this process started so far (tests: whether a writer waited for a new thread). */
export function writerThreadsStarted(): number {
  return started;
}

/**
 * Takes a thread back once its writer is closed. A thread is never terminated from here: `Worker.terminate()`
 * while DuckDB has an operation in flight aborts the whole process (a native error thrown into a torn-down
 * environment, seen in this module's tests), so a thread beyond the idle pool is asked to close its port and ends
 * on its own, with nothing of DuckDB open.
 */
function releaseThread(t: WriterThread): void {
  t.detach();
  if (t.dead) return;
  if (idle.length < IDLE_THREADS) idle.push(t);
  else t.post({ type: 'exit' });
}

/** Rebuilds the thread's error on this side (a {@link LakeValueError} keeps its class, column and reason). */
function rebuildError(e: Extract<ThreadReply, { type: 'error' }>['error']): Error {
  if (e.name === 'LakeValueError' && e.column !== undefined && e.reason !== undefined)
    return new LakeValueError(e.column, e.reason);
  const err = new Error(e.message);
  if (e.name !== 'Error') err.name = e.name;
  return err;
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * A column of a batch as it travels (parquet-writer-thread-protocol.ts, PackedColumn): the form is chosen by the
 * first non-NULL value, and a column with any value that form cannot hold exactly travels as its values.
 * Exported for the bench.
 */
export function packColumn(values: LakeValue[]): PackedColumn {
  let first: LakeValue = null;
  for (let k = 0; k < values.length && first === null; k++) first = values[k] ?? null;
  if (first === null || typeof first === 'string') return packText(values);
  if (typeof first === 'bigint') return packInt64(values);
  if (typeof first === 'number') return packFloat64(values);
  if (first instanceof Uint8Array) return packBytes(values);
  return { values };
}

function packText(values: LakeValue[]): PackedColumn {
  const lengths = new Int32Array(values.length);
  const texts: string[] = [];
  for (let k = 0; k < values.length; k++) {
    const v = values[k] ?? null;
    if (v === null) lengths[k] = -1;
    else if (typeof v === 'string') {
      lengths[k] = v.length;
      texts.push(v);
    } else return { values };
  }
  return { text: texts.join(''), lengths };
}

function packInt64(values: LakeValue[]): PackedColumn {
  const int64 = new BigInt64Array(values.length);
  let nulls: Uint8Array | undefined;
  for (let k = 0; k < values.length; k++) {
    const v = values[k] ?? null;
    if (v === null) (nulls ??= new Uint8Array(values.length))[k] = 1;
    else if (typeof v === 'bigint' && v >= INT64_MIN && v <= INT64_MAX) int64[k] = v;
    else return { values };
  }
  return { int64, nulls };
}

function packFloat64(values: LakeValue[]): PackedColumn {
  const float64 = new Float64Array(values.length);
  let nulls: Uint8Array | undefined;
  for (let k = 0; k < values.length; k++) {
    const v = values[k] ?? null;
    if (v === null) (nulls ??= new Uint8Array(values.length))[k] = 1;
    else if (typeof v === 'number') float64[k] = v;
    else return { values };
  }
  return { float64, nulls };
}

function packBytes(values: LakeValue[]): PackedColumn {
  const lengths = new Int32Array(values.length);
  let total = 0;
  for (let k = 0; k < values.length; k++) {
    const v = values[k] ?? null;
    if (v === null) lengths[k] = -1;
    else if (v instanceof Uint8Array) {
      lengths[k] = v.byteLength;
      total += v.byteLength;
    } else return { values };
  }
  const bytes = new Uint8Array(total);
  for (let k = 0, at = 0; k < values.length; k++) {
    if (lengths[k]! < 0) continue;
    const v = values[k] as Uint8Array;
    bytes.set(v, at);
    at += v.byteLength;
  }
  return { bytes, lengths };
}

/** The buffers of a packed batch's typed arrays: transferred with the message (each array owns its buffer). */
function transferList(columns: readonly PackedColumn[]): ArrayBuffer[] {
  const out: ArrayBuffer[] = [];
  for (const c of columns) {
    if ('lengths' in c) out.push(c.lengths.buffer as ArrayBuffer);
    if ('bytes' in c) out.push(c.bytes.buffer as ArrayBuffer);
    if ('int64' in c) out.push(c.int64.buffer as ArrayBuffer);
    if ('float64' in c) out.push(c.float64.buffer as ArrayBuffer);
    if (('int64' in c || 'float64' in c) && c.nulls) out.push(c.nulls.buffer as ArrayBuffer);
  }
  return out;
}

/** {@link ParquetWriter} on a worker thread: see the module comment for how it differs. */
export class ThreadedParquetWriter {
  /** The batch being filled, one array per column (built by push: a packed array clones fastest). */
  private columns: LakeValue[][];
  private partitions: string[] = [];
  private rowsInBatch = 0;
  /** Characters of text (and bytes of binary) in the batch being filled. */
  private textChars = 0;
  private inFlight = 0;
  private failure: Error | undefined;
  /** The one wait in progress: the thread opened the writer, caught up with the batches, or finished. */
  private waiter:
    { for: 'opened' | 'appended' | 'finished'; resolve: () => void; reject: (e: Error) => void } | undefined;
  private finished: WrittenPart[] | undefined;
  private closed = false;
  private rowsAppended = 0;

  private constructor(
    private readonly thread: WriterThread,
    private readonly width: number,
  ) {
    this.columns = this.newBatch();
  }

  private newBatch(): LakeValue[][] {
    return Array.from({ length: this.width }, () => []);
  }

  /** Starts a writer on a pooled thread; resolves once its DuckDB instance is open. */
  static async create(options: ParquetWriterOptions): Promise<ThreadedParquetWriter> {
    const thread = acquireThread();
    const w = new ThreadedParquetWriter(thread, options.columns.length);
    thread.attach((r) => w.reply(r));
    const { fileName, ...rest } = options;
    if (fileName) throw new Error('ThreadedParquetWriter: fileName is not supported (functions do not cross threads)');
    try {
      await w.wait('opened', () => thread.post({ type: 'open', options: rest }));
    } catch (err) {
      w.close();
      throw err;
    }
    return w;
  }

  /** Rows appended so far (sent to the thread or waiting to be sent). */
  get rowsWritten(): number {
    return this.rowsAppended;
  }

  /** Rows appended and not posted yet: held on this thread's heap, in the batch being filled. */
  get rowsNotPosted(): number {
    return this.rowsInBatch;
  }

  private reply(r: ThreadReply): void {
    switch (r.type) {
      case 'opened':
        this.settle('opened');
        return;
      case 'appended':
        this.inFlight--;
        if (this.inFlight < MAX_BATCHES_IN_FLIGHT) this.settle('appended');
        return;
      case 'finished':
        this.finished = r.parts;
        this.settle('finished');
        return;
      case 'error': {
        this.failure ??= rebuildError(r.error);
        const w = this.waiter;
        this.waiter = undefined;
        w?.reject(this.failure);
      }
    }
  }

  private settle(what: 'opened' | 'appended' | 'finished'): void {
    const w = this.waiter;
    if (w?.for !== what) return;
    this.waiter = undefined;
    w.resolve();
  }

  private wait(what: 'opened' | 'appended' | 'finished', start?: () => void): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<void>((resolve, reject) => {
      this.waiter = { for: what, resolve, reject };
      start?.();
    });
  }

  /**
   * Appends one row (values in column order) to a partition; copies it at once. Returns a promise only when the
   * thread is {@link MAX_BATCHES_IN_FLIGHT} batches behind (await it). Throws the thread's first error, if any.
   */
  append(partition: string, row: readonly LakeValue[]): Promise<void> | undefined {
    if (this.closed) throw new Error('ParquetWriter is closed');
    if (this.failure) throw this.failure;
    if (row.length !== this.width)
      throw new LakeValueError('(row)', `expected ${this.width} values, got ${row.length}`);
    const columns = this.columns;
    for (let i = 0; i < row.length; i++) {
      const v = row[i] ?? null;
      // A binary value (often a view of the driver's larger buffer) is copied into its column's bytes when the
      // batch is packed (packColumn), a few hundred rows later at most.
      if (typeof v === 'string') this.textChars += v.length;
      else if (v instanceof Uint8Array) this.textChars += v.byteLength;
      columns[i]!.push(v);
    }
    this.partitions.push(partition);
    this.rowsInBatch++;
    this.rowsAppended++;
    if (this.rowsInBatch < BATCH_ROWS && this.textChars < BATCH_TEXT_CHARS) return undefined;
    this.send();
    return this.inFlight >= MAX_BATCHES_IN_FLIGHT ? this.wait('appended') : undefined;
  }

  private send(): void {
    if (this.rowsInBatch === 0) return;
    const columns = this.columns.map(packColumn);
    const batch: ThreadRows = { type: 'rows', columns, partitions: this.partitions };
    this.columns = this.newBatch();
    this.textChars = 0;
    this.partitions = [];
    this.rowsInBatch = 0;
    this.inFlight++;
    this.thread.post(batch, transferList(columns));
  }

  /** Sends the last rows, waits for every part file, and returns them in the order written. Closes the writer. */
  async finish(): Promise<WrittenPart[]> {
    if (this.closed) throw new Error('ParquetWriter is closed');
    try {
      this.send();
      await this.wait('finished', () => this.thread.post({ type: 'finish' }));
      return this.finished ?? [];
    } finally {
      this.close();
    }
  }

  /** Releases the thread's DuckDB and returns the thread to the pool (idempotent). Part files stay on disk. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    // Abandoned mid-way or failed: the thread may still be appending; it closes the writer after what it holds.
    if (this.finished === undefined) this.thread.abandon();
    else releaseThread(this.thread);
  }
}
