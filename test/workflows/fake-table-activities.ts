/**
 * In-memory stand-ins for the table-sync and snapshot activities, for workflow tests on the time-skipping
 * server. They model what matters to the workflow — positions, window bounds, commit-once manifests, a
 * watermark — and can inject the failures the workflow must act on. Real activities are tested against the
 * simulator and Azurite elsewhere.
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { ChunkedJobActivities, TableSyncActivities } from '../../src/activities/contracts.js';
import type { WindowPlan } from '../../src/domain/window.js';
import { FailureType } from '../../src/domain/failures.js';

const pos = (n: number) => n.toString(16).padStart(20, '0');
const num = (p: string | null) => (p === null ? 0 : parseInt(p, 16));

export interface FakeLake {
  /** Committed manifests by sequence: the window bounds that became visible. */
  manifests: Map<
    number,
    { kind: WindowPlan['kind']; from: string | null; to: string; resume?: string; rows: number; keyRange?: string }
  >;
  watermark: string | null;
  extractAttempts: { seq: number; attempt: number; chunk?: number; subRange?: number }[];
}

export interface FakeSource {
  /** The source's newest position; tests move it to simulate changes. */
  maxPosition: number;
  /** Positions below this are gone (CDC cleanup): a window starting below it is a gap. */
  minPosition: number;
  /** When set, the next extraction fails with this failure type once. */
  failNextExtract?: string;
  /** When set, readWatermark fails with this (non-retryable) failure type until cleared (a table not there). */
  failReadWatermark?: string;
  /**
   * When set, the chunk of this index of the next job of this kind fails with this failure type (once), after the
   * chunks before it committed.
   */
  failChunk?: { kind: string; index: number; type: string };
  /** Chunks of jobs (not snapshots) block until this resolves (to hold a job running). */
  jobGate?: Promise<void>;
  /**
   * The newest position holding a change of this table (default: every position is one). Positions above it
   * moved without this table (other tables' changes, CDC placeholders): such a window is planned `idle`.
   */
  tableChangedUpTo?: number;
  /** Extractions block until this resolves (to hold a window in flight). */
  extractGate?: Promise<void>;
  /** Planning blocks until this resolves (to hold a turn in its plan), heartbeating meanwhile. */
  planGate?: Promise<void>;
  snapshotRows: number;
  snapshotChunks: number;
  /** Chunks of a backfill, sweep or reconciliation (default 3). */
  jobChunks?: number;
  /** Sweep/reconcile chunks that find nothing to commit (checksums match, no key gone). */
  unchangedChunks?: Set<number>;
  /** Most positions per window (maxRowsPerWindow): a longer window is capped and planned with `more`. */
  windowCap?: number;
  /** The read refines the window's end: it resumes this many positions before `to` (identity's open gaps). */
  resumeShortBy?: number;
  /**
   * A window of more positions than this is planned with sub-ranges of at most this many positions each, when the
   * workflow asks for a split (`subRangeActivity`, patch 'sub-range-activity').
   */
  subRangeSize?: number;
}

export function fakeActivities(source: FakeSource, lake: FakeLake): TableSyncActivities & ChunkedJobActivities {
  const acts = windowAndJobActivities(source, lake);
  // A sub-range is read as the old `extractWindow` with `subRange` reads it: the fake models bounds, not types.
  return { ...acts, extractSubRange: (input) => acts.extractWindow(input) };
}

function windowAndJobActivities(
  source: FakeSource,
  lake: FakeLake,
): Omit<TableSyncActivities, 'extractSubRange'> & ChunkedJobActivities {
  const commit = (window: WindowPlan, rows: number, resume?: string) => {
    const existing = lake.manifests.get(window.seq);
    if (existing) {
      if (existing.from !== window.from || existing.to !== window.to) {
        throw ApplicationFailure.nonRetryable(
          `window ${window.seq} already committed with other bounds`,
          FailureType.WindowConflict,
        );
      }
      return {
        manifestPath: `_manifests/${window.seq}.json`,
        alreadyCommitted: true,
        resumePosition: existing.resume ?? existing.to,
      };
    }
    lake.manifests.set(window.seq, {
      kind: window.kind,
      from: window.from,
      to: window.to,
      ...(resume !== undefined ? { resume } : {}),
      rows,
      keyRange: window.keyRange ? `${window.keyRange.after}..${window.keyRange.upTo}` : undefined,
    });
    return {
      manifestPath: `_manifests/${window.seq}.json`,
      alreadyCommitted: false,
      resumePosition: resume ?? window.to,
    };
  };
  return {
    readWatermark() {
      if (source.failReadWatermark)
        return Promise.reject(ApplicationFailure.nonRetryable('injected: no such table', source.failReadWatermark));
      const seqs = [...lake.manifests.keys()];
      return Promise.resolve({ position: lake.watermark, lastSeq: seqs.length ? Math.max(...seqs) : 0 });
    },
    async planWindow({ lastPosition, seq, subRangeActivity }) {
      if (source.planGate) {
        const gate = source.planGate;
        const ctx = Context.current();
        const beat = setInterval(() => ctx.heartbeat(), 100);
        try {
          await Promise.race([gate, ctx.cancelled]);
        } finally {
          clearInterval(beat);
        }
      }
      const last = num(lastPosition);
      if (last < source.minPosition - 1) {
        return Promise.reject(
          ApplicationFailure.nonRetryable(
            `position ${last} is below the source's minimum ${source.minPosition}`,
            FailureType.ChangeLogGap,
          ),
        );
      }
      if (source.maxPosition <= last) return Promise.resolve({ window: null, lagSeconds: 0 });
      const idle = source.tableChangedUpTo !== undefined && source.tableChangedUpTo <= last;
      const capped = source.windowCap !== undefined && source.maxPosition - last > source.windowCap;
      const to = capped ? last + source.windowCap! : source.maxPosition;
      const size = source.subRangeSize;
      const subRanges =
        size !== undefined && subRangeActivity === true && to - last > size
          ? Array.from({ length: Math.ceil((to - last) / size) }, (_v, k) => ({
              from: k === 0 ? lastPosition : pos(last + k * size),
              to: pos(Math.min(to, last + (k + 1) * size)),
            }))
          : undefined;
      return Promise.resolve({
        window: {
          seq,
          kind: 'changes',
          from: lastPosition,
          to: pos(to),
          plannedAt: new Date().toISOString(),
          ...(capped ? { more: true } : {}),
          ...(idle ? { idle: true } : {}),
          ...(subRanges ? { subRanges } : {}),
        },
        lagSeconds: idle ? 0 : 1,
      });
    },
    async extractWindow({ window, attempt, subRange }) {
      lake.extractAttempts.push({ seq: window.seq, attempt, ...(subRange !== undefined ? { subRange } : {}) });
      if (source.extractGate) {
        const gate = source.extractGate;
        const ctx = Context.current();
        const beat = setInterval(() => ctx.heartbeat({ seq: window.seq }), 100);
        try {
          await Promise.race([gate, ctx.cancelled]);
        } finally {
          clearInterval(beat);
        }
      }
      if (source.failNextExtract) {
        const type = source.failNextExtract;
        source.failNextExtract = undefined;
        throw ApplicationFailure.nonRetryable(`injected ${type}`, type);
      }
      const bounds = subRange === undefined ? window : window.subRanges?.[subRange];
      if (!bounds) throw ApplicationFailure.nonRetryable(`window ${window.seq} has no sub-range ${subRange}`);
      const changedTo = Math.min(num(bounds.to), source.tableChangedUpTo ?? Infinity);
      const rows = Math.max(0, changedTo - num(bounds.from));
      const part = subRange === undefined ? '' : `-r${subRange}`;
      return {
        files: [
          { path: `data/${window.seq}-${attempt}${part}.parquet`, commitDate: DAY, rows, bytes: rows * 10, md5: 'x' },
        ],
        rows,
        opCounts: { ...NO_OPS, c: rows },
        attemptId: String(attempt),
        minPosition: null,
        maxPosition: null,
        schemaVersion: 1,
        durationMs: 5,
        ...(source.resumeShortBy ? { resumePosition: pos(num(window.to) - source.resumeShortBy) } : {}),
      };
    },
    validateWindow: ({ extract }) => Promise.resolve({ controlTotals: { rows: String(extract.rows) } }),
    commitManifest({ window, extract, advanceWatermark }) {
      const out = commit(window, extract.rows, extract.resumePosition);
      // As the real step: after the manifest, to where the committed manifest says the next window starts.
      if (advanceWatermark) lake.watermark = out.resumePosition ?? window.to;
      return Promise.resolve(out);
    },
    advanceWatermark({ position }) {
      lake.watermark = position;
      return Promise.resolve({ position });
    },
    planChunks({ job }) {
      const n = job.kind === 'snapshot' ? source.snapshotChunks : (source.jobChunks ?? 3);
      const chunks = Array.from({ length: n }, (_, i) => ({
        index: i,
        after: i === 0 ? null : String(i),
        upTo: i === n - 1 ? null : String(i + 1),
      }));
      return Promise.resolve({ position: pos(source.maxPosition), chunks });
    },
    async runChunk({ job, chunk, attempt, firstSeq }) {
      lake.extractAttempts.push({ seq: -1, attempt, chunk: chunk.index });
      if (source.jobGate && job.kind !== 'snapshot') {
        const ctx = Context.current();
        const beat = setInterval(() => ctx.heartbeat(), 100);
        try {
          await Promise.race([source.jobGate, ctx.cancelled]);
        } finally {
          clearInterval(beat);
        }
      }
      const fail = source.failChunk;
      if (fail && fail.kind === job.kind && fail.index === chunk.index) {
        source.failChunk = undefined;
        // Fail only once the chunks before this one committed (the job's lanes run in parallel).
        while (chunk.index > 0 && !lake.manifests.has(firstSeq + chunk.index - 1))
          await new Promise((r) => setTimeout(r, 20));
        throw ApplicationFailure.nonRetryable(`injected ${fail.type} in chunk ${chunk.index}`, fail.type);
      }
      const n = job.kind === 'snapshot' ? source.snapshotChunks : (source.jobChunks ?? 3);
      const rows = Math.floor(source.snapshotRows / n);
      const unchanged = source.unchangedChunks?.has(chunk.index) ?? false;
      const compared =
        job.kind === 'sweep' || job.kind === 'backfill'
          ? { compared: { differs: !unchanged, sourceRows: rows, lakeRows: rows } }
          : {};
      if ((job.kind === 'sweep' || job.kind === 'reconcile') && unchanged) {
        return { sourceRowsRead: rows, staged: null, ...compared };
      }
      const op = job.kind === 'reconcile' ? 'd' : 'r';
      return {
        ...compared,
        sourceRowsRead: rows,
        staged: {
          files: [
            {
              path: `jobs/${firstSeq}/c${chunk.index}/a${attempt}.parquet`,
              commitDate: DAY,
              rows,
              bytes: rows,
              md5: 'x',
            },
          ],
          rows,
          opCounts: { ...NO_OPS, [op]: rows },
          attemptId: String(attempt),
          minPosition: null,
          maxPosition: null,
          schemaVersion: 1,
          durationMs: 5,
          readAt: pos(source.maxPosition),
        },
      };
    },
  };
}

export const positionOf = pos;

/** The fake's staged files all lie in one partition; no event of any op unless a fake stages some. */
const DAY = '2025-11-24';
const NO_OPS = { c: 0, u: 0, d: 0, r: 0 };
