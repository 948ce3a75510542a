/**
 * The rows of a streaming driver request gathered into batches, with backpressure on the request: it is paused
 * while `maxBuffered` batches wait for the consumer and resumed only once the consumer is down to a quarter of
 * that (hysteresis, so the socket is not toggled on every batch).
 */

/**
 * How a read whose rows are converted and staged on this thread batches them (snapshot chunks; docs/performance.md,
 * "What survives the worker's scavenges"): small batches, at most one waiting, so a row is decoded, converted and
 * handed to the Parquet writer within a few hundred rows of arriving — while its objects are still in V8's young
 * generation. The driver allocates ~11 KB per row and the worker ~16 KB, so a 16 MB semi-space fills every ~1,000
 * rows: with 5,000-row batches and 4 waiting, every row outlived two scavenges and was copied twice and promoted
 * (~2.5–3.6 KB per row), which the old generation's marking and sweeping then had to collect. The socket and the
 * server keep what the paused request does not take yet, so the small buffer costs the read no overlap.
 */
export const STAGED_READ_BATCHES = { batchRows: 256, maxBuffered: 1 } as const;

/**
 * The stream options of a staged read (snapshot chunks, every strategy's window reads): `STAGED_READ_BATCHES`,
 * with `batchRows` (tests) overriding the batch size.
 */
export function stagedReadBatches(batchRows?: number): { batchRows: number; maxBufferedBatches: number } {
  return {
    batchRows: batchRows ?? STAGED_READ_BATCHES.batchRows,
    maxBufferedBatches: STAGED_READ_BATCHES.maxBuffered,
  };
}

/** Columns of a streamed result as `mssql` describes them (arrayRowMode). */
export interface ResultColumn {
  readonly name: string;
  readonly index: number;
}

/** One batch of rows of a streamed query: values in SELECT-list order. */
export interface RowBatch {
  readonly columns: readonly ResultColumn[];
  readonly rows: unknown[][];
}

/** What the buffer needs of the driver's request. */
export interface PausableRequest {
  pause(): void;
  resume(): void;
}

export class RowBatches {
  private readonly queue: RowBatch[] = [];
  private readonly resumeAt: number;
  private columns: ResultColumn[] = [];
  private current: unknown[][] = [];
  private wake: (() => void) | undefined;
  /** The request ended (all its rows are queued). */
  done = false;
  /** The first error the request reported. */
  failure: unknown;
  /** Whether the buffer paused the request. */
  paused = false;
  /** Time the request spent paused by this buffer, and the consumer spent waiting for rows, ms (so far). */
  pausedMs = 0;
  waitedMs = 0;
  private pausedAt = 0;

  constructor(
    private readonly req: PausableRequest,
    private readonly batchRows: number,
    private readonly maxBuffered: number,
  ) {
    this.resumeAt = Math.max(0, Math.floor(maxBuffered / 4));
  }

  /** A new result set starts: the rows before it form their own batch. */
  columnsChanged(cols: readonly { name: string; index: number }[]): void {
    this.flush();
    this.columns = cols.map((c) => ({ name: c.name, index: c.index }));
  }

  row(row: unknown[]): void {
    this.current.push(row);
    if (this.current.length >= this.batchRows) this.flush();
  }

  fail(err: unknown): void {
    this.failure ??= err;
  }

  end(): void {
    this.flush();
    this.done = true;
    this.signal();
  }

  /** The next queued batch (resuming the request once the queue is short again), or undefined. */
  take(): RowBatch | undefined {
    const next = this.queue.shift();
    if (next && this.paused && this.queue.length <= this.resumeAt) {
      this.paused = false;
      this.pausedMs += performance.now() - this.pausedAt;
      this.req.resume();
    }
    return next;
  }

  /** Resolves when a batch is queued or the request ends. */
  waitForMore(): Promise<void> {
    const t0 = performance.now();
    return new Promise<void>((r) => (this.wake = r)).then(() => void (this.waitedMs += performance.now() - t0));
  }

  private flush(): void {
    if (this.current.length === 0) return;
    this.queue.push({ columns: this.columns, rows: this.current });
    this.current = [];
    if (this.queue.length >= this.maxBuffered && !this.paused) {
      this.paused = true;
      this.pausedAt = performance.now();
      this.req.pause();
    }
    this.signal();
  }

  private signal(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }
}
