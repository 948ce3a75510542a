/**
 * Sends lineage events without ever holding up a window: `submit` queues a job (build the event(s), then send
 * them) and returns at once; one pump works the queue in order. The queue is bounded — when the endpoint is
 * slower than the windows, the newest jobs are dropped and counted rather than held in memory. Each POST has a
 * short timeout. Failures (HTTP status, timeout, refused connection, a lake write) are counted and logged at most
 * once a minute per destination, with the count and the reason only — never the event (docs/lineage.md).
 */
import type { Logger } from '../util/logger.js';
import { BlobAlreadyExistsError } from '../lake/errors.js';
import type { BlobStore } from '../lake/blob-store.js';

/** A built event and where the lake copy goes (the table's `_lineage/` object path). */
export interface LineageEvent {
  readonly event: Record<string, unknown>;
  readonly lakePath: string;
}

export interface LineageEmitterOptions {
  /** `<endpoint>/api/v1/lineage` receives each event as JSON (Marquez's path, accepted by others). */
  readonly endpoint?: string;
  readonly apiKey?: string;
  /** The lake store to write each event to (`lakePath`), If-None-Match: a retried event is written once. */
  readonly lake?: BlobStore;
  readonly logger: Logger;
  /** Per-POST timeout; default 2 s. */
  readonly timeoutMs?: number;
  /** Jobs waiting at most; default 1000. */
  readonly maxQueued?: number;
  /**
   * Called on every failure with where it happened (`endpoint`, `lake`, `queue`: dropped, `build`), e.g. to count it
   * in `tidemark_lineage_delivery_failures_total`: the log says so once a minute, the counter every time.
   */
  readonly onFailure?: (destination: 'endpoint' | 'lake' | 'queue' | 'build') => void;
}

/** Counters, for tests and the worker's log. */
export interface LineageCounters {
  sent: number;
  failed: number;
  dropped: number;
  written: number;
}

type Job = () => Promise<readonly LineageEvent[]>;

export class LineageEmitter {
  readonly counters: LineageCounters = { sent: 0, failed: 0, dropped: 0, written: 0 };
  private readonly queue: Job[] = [];
  private pumping: Promise<void> | undefined;
  private readonly lastLogged = new Map<string, number>();
  private readonly unlogged = new Map<string, number>();

  constructor(private readonly o: LineageEmitterOptions) {}

  /** Queues a job; never throws, never waits. */
  submit(job: Job): void {
    if (this.queue.length >= (this.o.maxQueued ?? 1000)) {
      this.counters.dropped++;
      this.failure('queue', 'the lineage queue is full (the endpoint is slower than the windows): events dropped');
      return;
    }
    this.queue.push(job);
    this.pumping ??= this.pump().finally(() => (this.pumping = undefined));
  }

  /** Resolves when every queued job has been tried (tests, worker shutdown). */
  async drain(): Promise<void> {
    while (this.pumping) await this.pumping;
  }

  private async pump(): Promise<void> {
    for (let job = this.queue.shift(); job; job = this.queue.shift()) {
      let events: readonly LineageEvent[];
      try {
        events = await job();
      } catch (err) {
        this.failure('build', `a lineage event could not be built: ${reason(err)}`);
        continue;
      }
      for (const e of events) await Promise.all([this.post(e), this.write(e)]);
    }
  }

  private async post(e: LineageEvent): Promise<void> {
    if (!this.o.endpoint) return;
    try {
      const res = await fetch(`${this.o.endpoint}/api/v1/lineage`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(this.o.apiKey ? { authorization: `Bearer ${this.o.apiKey}` } : {}),
        },
        body: JSON.stringify(e.event),
        signal: AbortSignal.timeout(this.o.timeoutMs ?? 2000),
      });
      await res.body?.cancel();
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      this.counters.sent++;
    } catch (err) {
      this.counters.failed++;
      this.failure('endpoint', `lineage events could not be sent to ${this.o.endpoint}: ${reason(err)}`);
    }
  }

  private async write(e: LineageEvent): Promise<void> {
    if (!this.o.lake) return;
    try {
      await this.o.lake.putIfAbsent(e.lakePath, JSON.stringify(e.event) + '\n', {
        contentType: 'application/json',
      });
      this.counters.written++;
    } catch (err) {
      if (err instanceof BlobAlreadyExistsError) return; // the same event of a retried activity
      this.counters.failed++;
      this.failure('lake', `lineage events could not be written to the lake: ${reason(err)}`);
    }
  }

  /** Logs a destination's failure at most once a minute, with how many happened since the last line. */
  private failure(where: 'endpoint' | 'lake' | 'queue' | 'build', message: string): void {
    try {
      this.o.onFailure?.(where);
    } catch {
      // Counting never changes what the emitter does.
    }
    const n = (this.unlogged.get(where) ?? 0) + 1;
    const now = Date.now();
    if (now - (this.lastLogged.get(where) ?? 0) < 60_000) {
      this.unlogged.set(where, n);
      return;
    }
    this.lastLogged.set(where, now);
    this.unlogged.set(where, 0);
    this.o.logger.warn({ failures: n }, message);
  }
}

/** An error's name and message, without its cause chain or any payload (fetch errors carry none). */
function reason(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause instanceof Error ? ` (${err.cause.message})` : '';
  return err.name === 'TimeoutError' ? 'timed out' : `${err.message}${cause}`;
}
