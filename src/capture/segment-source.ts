/**
 * The source end of the stage pipeline (capture/stage-stream.ts): pulls the window's converted events into one
 * segment at a time, each appended to its own Parquet writer, until the stream ends or the window is cancelled.
 * A segment is at most `partRows` events (fewer where the plan's count cuts a small last one: segment-size.ts);
 * an empty stream still yields its one (empty) segment, an empty tail after full segments yields none.
 */
import type { Hash } from 'node:crypto';
import { windowRefOf } from '../lake/manifest.js';
import { openStage, type ChangeEvent, type OpenStage, type WrittenStage } from '../lake/stage-window.js';
import type { SchemaDoc } from '../lake/schema-registry.js';
import type { ChangeOp } from '../domain/values.js';
import type { WindowPlan } from '../domain/window.js';
import type { CaptureDeps } from './deps.js';
import { cancellableWaits, type ProgressSink } from './progress.js';
import { segmentBudget } from './segment-budget.js';
import { nextSegmentRows } from './segment-size.js';
import type { StageClock } from './stage-steps.js';
import type { StageProgress } from './stage-progress.js';
import type { TableContext } from './table-context.js';

/**
 * Events per segment unless `CaptureDeps.partRows` says otherwise. The pipeline holds two segments' Parquet
 * writers at once (one filling, one encoding), at ~1.15 KB of RSS per buffered row: 100K-row segments keep that
 * near 0.25 GiB, where 200K rows took ~0.5 GiB and the worker peaked just over 1 GiB at 2M rows
 * (docs/performance.md, "Memory at 2M rows"). A segment is one file per commit date, so a window of N events
 * writes at least N ÷ 100K files.
 */
export const DEFAULT_SEGMENT_ROWS = 100_000;

/**
 * The stream's events after projection and PHI, skipping those an earlier attempt staged — one array per source
 * batch, not one promise per event (a per-event async iteration cost more than converting the row did).
 */
export interface EventRead {
  readonly events: AsyncIterator<ChangeEvent[]>;
  /** Hash of the positions staged (or skipped as staged) so far; see StageProgress.digest. */
  readonly digest: Hash;
  /** Events seen (after the filter), staged or skipped. */
  seen: number;
  /** The read's refined end (identity), from its last batch. */
  resumePosition?: string;
  /** When (Date.now()) the source yielded its first batch, and when its stream ended. */
  firstBatchAt?: number;
  endedAt?: number;
}

/** One segment's tally while it is pulled. */
export interface SegmentTally {
  count: number;
  lastPos: string | null;
  byOp: Record<ChangeOp, number>;
}

/** A segment filled with its events (read → project → PHI → appended to its Parquet writer). */
export interface FilledSegment {
  readonly stage: OpenStage;
  readonly tally: SegmentTally;
  /** The positions digest after this segment's last event (StageProgress.digest once it is recorded). */
  readonly digest: string;
}

/** A filled segment whose parts are encoded and checked. */
export interface EncodedSegment extends FilledSegment {
  readonly written: WrittenStage;
}

export interface SegmentSourceInput {
  readonly window: WindowPlan;
  readonly schema: SchemaDoc;
  readonly progress: StageProgress;
  readonly read: EventRead;
  /** Counts the waits on the writer thread and on a segment slot (capture/stage-steps.ts). */
  readonly clock?: StageClock | undefined;
}

/** Yields the window's segments one by one (`next`), the events of each pulled lazily from the read. */
export class SegmentSource {
  private readonly segmentRows: number;
  private readonly firstSegment: number;
  private filled = 0;
  private done = false;
  /** Events pulled from the stream and not yet in a segment: `buffer` from index `at`. */
  private buffer: ChangeEvent[] = [];
  private at = 0;
  /** Waits for the next batch unless the window is cancelled (progress.ts: why not Promise.race). */
  private readonly untilCancelled: <T>(p: Promise<T>) => Promise<T>;

  constructor(
    private readonly deps: CaptureDeps,
    private readonly ctx: TableContext,
    private readonly sink: ProgressSink,
    private readonly s: SegmentSourceInput,
  ) {
    this.segmentRows = deps.partRows ?? DEFAULT_SEGMENT_ROWS;
    this.untilCancelled = cancellableWaits(sink);
    this.firstSegment = s.progress.segments;
  }

  /** The next segment, filled; undefined once the stream is exhausted. */
  async next(): Promise<FilledSegment | undefined> {
    if (this.done) return undefined;
    // Cancelled (pause now, or the workflow went away): report it as a cancellation, keeping what is staged.
    if (this.sink.isCancelled()) throw this.sink.cancellationError();
    const index = this.firstSegment + this.filled++;
    const tally: SegmentTally = { count: 0, lastPos: null, byOp: { c: 0, u: 0, d: 0, r: 0 } };
    // Consumed so far (staged, or skipped as an earlier attempt's): the segment's size follows the plan's count.
    const taken = this.s.read.seen - (this.buffer.length - this.at);
    const rows = nextSegmentRows(this.segmentRows, this.s.window.rows, taken);
    const stage = await this.open(index);
    try {
      await this.fill(stage, tally, rows);
      const digest = this.s.read.digest.copy().digest('hex');
      if (!this.done && this.at >= this.buffer.length) await this.peek();
      if (tally.count === 0 && index > 0) {
        await stage.discard();
        return undefined;
      }
      return { stage, tally, digest };
    } catch (err) {
      await stage.discard();
      throw err;
    }
  }

  /**
   * Opens segment `index`'s stage once the process's segment budget has a slot (capture/segment-budget.ts); the
   * slot is given back when the segment is encoded (its writer closed) or discarded.
   */
  private async open(index: number): Promise<OpenStage> {
    const slot = segmentBudget.acquire();
    const release = await (this.s.clock ? this.s.clock.timed('segmentSlot', slot) : slot);
    let stage: OpenStage;
    const opened = performance.now();
    try {
      stage = await openStage({
        lake: this.ctx.lake,
        window: windowRefOf(this.s.window),
        attemptId: `${this.s.progress.attemptId}-s${index}`,
        schema: this.s.schema,
        extractedAt: BigInt(Date.now()) * 1_000_000n,
        partRows: this.segmentRows,
        ...(this.deps.config.sink.parquet ? { compression: this.deps.config.sink.parquet } : {}),
        ...(this.ctx.config.quality?.controlTotals.length
          ? { controlColumns: this.ctx.config.quality.controlTotals }
          : {}),
        ...(this.deps.scratchDir ? { scratchDir: this.deps.scratchDir } : {}),
      });
    } catch (err) {
      release();
      throw err;
    }
    this.s.clock?.waited('stageOpen', performance.now() - opened);
    return {
      add: (e) => stage.add(e),
      get rows() {
        return stage.rows;
      },
      finish: async () => {
        try {
          return await stage.finish();
        } finally {
          release();
        }
      },
      discard: async () => {
        release();
        await stage.discard();
      },
    };
  }

  /**
   * Appends events to `stage` until the segment holds `rows` (capture/segment-size.ts) or the stream ends. The
   * positions digest is updated once per run of events (their positions joined: a hash of the parts in order is the
   * hash of their concatenation), not once per event — a native call per row.
   */
  private async fill(stage: OpenStage, tally: SegmentTally, rows: number): Promise<void> {
    const { read } = this.s;
    let positions: string[] = [];
    const digest = () => {
      if (positions.length > 0) read.digest.update(positions.join(''));
      positions = [];
    };
    try {
      while (tally.count < rows) {
        if (this.at >= this.buffer.length) {
          digest();
          const r = await this.untilCancelled(read.events.next());
          if (r.done) {
            this.done = true;
            return;
          }
          this.buffer = r.value;
          this.at = 0;
          continue;
        }
        const e = this.buffer[this.at++]!;
        tally.count++;
        tally.lastPos = e.position;
        positions.push(e.position);
        tally.byOp[e.op]++;
        const flushing = stage.add(e);
        if (flushing) await (this.s.clock ? this.s.clock.timed('writer', flushing) : flushing);
      }
    } finally {
      digest();
    }
  }

  /** The segment is full with nothing buffered: pull once to learn whether the stream has ended. */
  private async peek(): Promise<void> {
    const r = await this.s.read.events.next();
    if (r.done) this.done = true;
    else {
      this.buffer = r.value;
      this.at = 0;
    }
  }
}
