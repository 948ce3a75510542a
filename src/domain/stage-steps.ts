/**
 * Where one staging's wall time went (bench:e2e's load timeline, docs/performance.md): when its rows began and
 * stopped arriving, when each segment was filled, encoded and uploaded, and what the reading side waited on
 * meanwhile. Offsets in milliseconds from an origin the caller picks (a chunk: its activity's start), and counts —
 * never a row value: it travels in runChunk's result through Temporal. Recorded by capture/stage-steps.ts.
 */

/** One segment of a staging, offsets in ms. */
export interface SegmentSteps {
  readonly rows: number;
  /** Its last event added (handed to the encode stage). */
  readonly filledMs: number;
  /** Its parts written and checked (null: not reached). */
  readonly encodedMs: number | null;
  /** Its files uploaded (null: not reached). */
  readonly uploadedMs: number | null;
}

/** What a staging recorded of its time (plain JSON). */
export interface StageSteps {
  /** The staging began (schema registered, pipeline started). */
  readonly stageStartMs: number;
  /** The staging asked the read for its first rows (after opening its first segment's writer). */
  readonly readRequestedMs: number | null;
  /** The first and the last batch of events arrived from the read (null: none). */
  readonly firstEventMs: number | null;
  readonly readEndMs: number | null;
  readonly segments: readonly SegmentSteps[];
  /** The staging returned (every segment uploaded). */
  readonly endMs: number;
  /**
   * Time the reading side waited, ms: `writer` on the Parquet writer thread's back-pressure (batches in flight),
   * `encodeStage` for the encode stage to take the filled segment (the pipeline's hand-off), `segmentSlot` for a
   * process segment slot (capture/segment-budget.ts), `stageOpen` for a segment's writer to open (its thread).
   */
  readonly waitMs: {
    readonly writer: number;
    readonly encodeStage: number;
    readonly segmentSlot: number;
    readonly stageOpen: number;
  };
  /** The main thread's event loop idle between the first batch and the read's end (nothing to run: waiting). */
  readonly readIdleMs: number | null;
}

/**
 * A staging's steps and the source stream's waits — `pausedMs` the driver's request paused because the reader was
 * behind, `waitedMs` the reader waiting for rows (null: no read, e.g. a compared chunk staged empty, or a strategy
 * that does not count them). A change window's extraction records them (ms from the staging's start).
 */
export type ReadSteps = StageSteps & {
  readonly source: { readonly pausedMs: number; readonly waitedMs: number } | null;
};

/** Where a chunk's time went (ms from its activity's start; timings only): also the table's context ready. */
export type ChunkSteps = ReadSteps & {
  readonly setupMs: number;
};
