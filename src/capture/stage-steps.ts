/**
 * The clock of one staging (domain/stage-steps.ts says what it records): stage-stream.ts and segment-source.ts mark
 * the steps as they happen.
 */
import { performance } from 'node:perf_hooks';
import type { ReadSteps, StageSteps } from '../domain/stage-steps.js';

export type { StageSteps } from '../domain/stage-steps.js';

/** The source stream's waits a read recorded in its stats' `extra` (null: it recorded none). */
export function streamWaits(extra: Readonly<Record<string, number>> | undefined): ReadSteps['source'] {
  return extra?.streamPausedMs === undefined
    ? null
    : { pausedMs: extra.streamPausedMs, waitedMs: extra.streamWaitedMs ?? 0 };
}

type Elu = ReturnType<typeof performance.eventLoopUtilization>;

/** Records a staging's steps as they happen; {@link StageClock.steps} gives them as plain JSON. */
export class StageClock {
  private stageStart = 0;
  private readRequested: number | null = null;
  private firstEvent: number | null = null;
  private readEnd: number | null = null;
  private readonly segments: { rows: number; filledMs: number; encodedMs: number | null; uploadedMs: number | null }[] =
    [];
  private readonly wait = { writer: 0, encodeStage: 0, segmentSlot: 0, stageOpen: 0 };
  private eluAtFirst: Elu | undefined;
  private readIdle: number | null = null;

  /** `origin`: epoch ms the offsets count from. */
  constructor(private readonly origin: number = Date.now()) {}

  private now(): number {
    return Date.now() - this.origin;
  }

  /** Ms since the origin. */
  elapsed(): number {
    return this.now();
  }

  stageStarted(): void {
    this.stageStart = this.now();
  }

  /** The staging asked the read for its first rows. */
  readStarted(): void {
    this.readRequested ??= this.now();
  }

  /** A batch of events arrived from the read. */
  eventsArrived(): void {
    if (this.firstEvent !== null) return;
    this.firstEvent = this.now();
    this.eluAtFirst = performance.eventLoopUtilization();
  }

  /** The read has no more events. */
  readEnded(): void {
    if (this.readEnd !== null) return;
    this.readEnd = this.now();
    if (this.eluAtFirst) this.readIdle = Math.round(performance.eventLoopUtilization(this.eluAtFirst).idle);
  }

  /** Segment `k` (0-based within this staging) was filled with `rows` events; returns its index. */
  segmentFilled(rows: number): number {
    this.segments.push({ rows, filledMs: this.now(), encodedMs: null, uploadedMs: null });
    return this.segments.length - 1;
  }

  segmentEncoded(k: number): void {
    const s = this.segments[k];
    if (s) s.encodedMs = this.now();
  }

  segmentUploaded(k: number): void {
    const s = this.segments[k];
    if (s) s.uploadedMs = this.now();
  }

  /** Adds `ms` waited on `what`. */
  waited(what: keyof StageClock['wait'], ms: number): void {
    this.wait[what] += ms;
  }

  /** Awaits `p`, counting the time as waited on `what`. */
  async timed<T>(what: keyof StageClock['wait'], p: Promise<T>): Promise<T> {
    const t0 = performance.now();
    try {
      return await p;
    } finally {
      this.wait[what] += performance.now() - t0;
    }
  }

  steps(): StageSteps {
    const r = Math.round;
    return {
      stageStartMs: this.stageStart,
      readRequestedMs: this.readRequested,
      firstEventMs: this.firstEvent,
      readEndMs: this.readEnd,
      segments: this.segments.map((s) => ({ ...s })),
      endMs: this.now(),
      waitMs: {
        writer: r(this.wait.writer),
        encodeStage: r(this.wait.encodeStage),
        segmentSlot: r(this.wait.segmentSlot),
        stageOpen: r(this.wait.stageOpen),
      },
      readIdleMs: this.readIdle,
    };
  }
}
