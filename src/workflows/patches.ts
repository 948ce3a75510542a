/**
 * The `patched()` ids of the workflows, in one place. Each marks a change of the commands a workflow issues:
 * runs recorded before it replay the old branch (test/replay/histories), new runs take the new one. An id stays
 * until no run recorded before its change can still be open (a 0.x project keeps them all: histories are kept).
 */

/** After a committed window that was not capped, wait for the cadence instead of going straight on. */
export const WAIT_AFTER_UNCAPPED_WINDOW_PATCH = 'wait-after-uncapped-window';

/** Every failure of a window step, or of reading the watermark, stops the table with its reason. */
export const STOP_ON_FAILURE_PATCH = 'stop-table-on-every-failure';

/**
 * A job that fails, or is terminated or cancelled (Web UI), ends `failed` and the table goes on (a snapshot's
 * failure stops the table) — instead of failing the sync workflow. Before it, the failure reached the sync's loop.
 */
export const JOB_FAILURE_PATCH = 'job-failure-ends-the-job';

/** The nightly workflow compacts the table's closed Delta days after requesting its jobs (issue 15). */
export const NIGHTLY_COMPACTION_PATCH = 'nightly-compaction';

/**
 * The cadence runs from the start of a window's turn (its plan), not from its end: windows start every cadence,
 * and a window that took longer than the cadence is followed at once. Before it, the wait was a full cadence
 * after each window, so a change waited cadence + the window's own duration to be planned.
 */
export const CADENCE_FROM_TURN_START_PATCH = 'cadence-from-turn-start';

/**
 * The commit step also advances the watermark (commitManifest with `advanceWatermark`), instead of a separate
 * advanceWatermark activity after it: one activity, one schedule-to-start and one workflow task less per window.
 */
export const COMMIT_ADVANCES_WATERMARK_PATCH = 'commit-advances-watermark';

/**
 * A chunked job continues as new when Temporal suggests it or after `maxChunksPerRun` chunks, carrying the chunks
 * not yet taken and its counts (issue 14: a 2.8B-row snapshot would pass the history limit in one run).
 */
export const CHUNKED_JOB_CONTINUE_AS_NEW_PATCH = 'chunked-job-continue-as-new';

/**
 * A window's sub-ranges are read by the `extractSubRange` activity, which only workers of this version or later
 * register, instead of `extractWindow` with `subRange` (rolling upgrades: an older worker read a sub-range as a
 * window of its own; the new type name makes it fail the task as not registered, and a newer worker retries it).
 */
export const SUB_RANGE_ACTIVITY_PATCH = 'sub-range-activity';
