/**
 * The state of one table's sync, kept apart from Temporal's signal/query wiring so it can be unit-tested and
 * carried through continue-as-new as plain data. Pure: no I/O, no clocks (times come in as arguments). The data
 * itself (snapshot, status) is table-sync-snapshot.ts.
 */
import type { JobKind, JobOutput, JobRequest } from '../domain/jobs.js';
import type { WindowPlan } from '../domain/window.js';
import type { TableRef } from '../domain/table.js';
import { jobSpecProblem } from './job-spec.js';
import type { JobRecord, TableSyncMode, TableSyncSnapshot, TableSyncStatus } from './table-sync-snapshot.js';

// The data types, for modules that use them with the state (the CLI, the workflows, tests).
export { initialSnapshot } from './table-sync-snapshot.js';
export type {
  CommittedWindow,
  JobRecord,
  TableSyncMode,
  TableSyncSnapshot,
  TableSyncStatus,
} from './table-sync-snapshot.js';

export class TableSyncState {
  private s: TableSyncSnapshot;
  /** Set by the pause signal; the mode changes at the next window boundary (or at once when `now`). */
  pauseRequested = false;
  /** Set by the sync-now signal: end the current cadence wait and plan a window at once. */
  wakeRequested = false;

  constructor(snapshot: TableSyncSnapshot) {
    this.s = clone(snapshot);
  }

  get snapshot(): TableSyncSnapshot {
    return clone(this.s);
  }
  get mode(): TableSyncMode {
    return this.s.mode;
  }
  get position(): string | null {
    return this.s.position;
  }
  get nextSeq(): number {
    return this.s.nextSeq;
  }
  get pendingWindow(): WindowPlan | null {
    return this.s.pendingWindow;
  }
  get table(): TableRef {
    return this.s.table;
  }

  get mustReadWatermark(): boolean {
    return this.s.mustReadWatermark === true;
  }

  /** The lake's last committed position and manifest sequence, read at `at` (a fresh start, or after a job). */
  restored(position: string | null, lastSeq: number, at?: string): void {
    this.s.position = position;
    this.s.nextSeq = lastSeq + 1;
    this.s.mustReadWatermark = false;
    if (at !== undefined && !this.s.positionCommittedAt) this.s.positionCommittedAt = at;
  }

  /**
   * An idle window (the source's position moved, this table has no change in it): commit it now only when the
   * position was last committed `intervalMs` or longer ago — often enough that change-log cleanup never passes
   * it, rarely enough that an idle table does not fill the lake with empty manifests.
   */
  idleWindowDue(nowMs: number, intervalMs: number): boolean {
    const since = this.s.positionCommittedAt ?? this.s.lastCommitted?.committedAt;
    return since === undefined || since === null || nowMs - Date.parse(since) >= intervalMs;
  }

  /**
   * The table is idle and current up to `to`; its window was not committed (see {@link idleWindowDue}). Its lag
   * is what the plan says of `to` (CDC: the capture latency; 0 when capture keeps up).
   */
  caughtUp(to: string, lagSeconds: number | null, captureLatencySeconds: number | null = null): void {
    this.s.caughtUpTo = to;
    this.observedLag(lagSeconds, captureLatencySeconds);
  }

  /** Fixes the bounds of the next window; they stay fixed until it commits. */
  planned(window: WindowPlan, lagSeconds: number | null, captureLatencySeconds: number | null = null): void {
    if (window.seq !== this.s.nextSeq)
      throw new Error(`planned window ${window.seq} but the next sequence is ${this.s.nextSeq}`);
    this.s.pendingWindow = window;
    this.s.pendingAttempts = 0;
    this.observedLag(lagSeconds, captureLatencySeconds);
  }

  observedLag(lagSeconds: number | null, captureLatencySeconds: number | null = null): void {
    this.s.lagSeconds = lagSeconds;
    this.s.captureLatencySeconds = captureLatencySeconds;
  }

  /** The pause signal: the mode changes at the next window boundary; the reason is shown until resumed. */
  requestPause(reason: string | undefined): void {
    this.pauseRequested = true;
    this.s.pauseReason = reason ?? null;
  }

  /** The resume signal: clears a requested pause and its reason; a paused or stopped table runs again. */
  resume(): void {
    this.pauseRequested = false;
    this.s.pauseReason = null;
    if (this.held) this.setMode('running');
  }

  /** At a window boundary a requested pause takes effect. */
  pauseAtBoundary(): void {
    if (this.pauseRequested && this.s.mode === 'running') this.setMode('paused');
  }

  /** Paused or stopped: the table waits for the operator's resume. */
  get held(): boolean {
    return this.s.mode === 'paused' || this.s.mode === 'stopped';
  }

  /** Returns the attempt number for the next extraction of the pending window. */
  nextAttempt(): number {
    this.s.pendingAttempts += 1;
    return this.s.pendingAttempts;
  }

  /** A window committed; the watermark moves to `position` (the read's refined end, default `window.to`). */
  committed(
    window: WindowPlan,
    rows: number,
    manifestPath: string,
    committedAt: string,
    durationMs: number,
    position: string = window.to,
  ): void {
    this.s.lastCommitted = {
      seq: window.seq,
      from: window.from,
      to: window.to,
      rows,
      manifestPath,
      committedAt,
      rowsPerSecond: rowsPerSecond(rows, durationMs),
    };
    this.s.position = position;
    this.s.nextSeq = window.seq + 1;
    this.s.pendingWindow = null;
    this.s.pendingAttempts = 0;
    this.s.windowsCommitted += 1;
    this.s.rowsCommitted += rows;
    this.s.lastError = null;
    this.s.positionCommittedAt = committedAt;
    this.s.caughtUpTo = null;
  }

  /**
   * Queues a job (ignored when a job with that id is queued, running, done or failed already: signals may
   * repeat). A job whose arguments are wrong is recorded as failed at once, with the reason, and never runs.
   */
  requestJob(request: JobRequest): void {
    if (this.s.jobs.some((j) => j.id === request.id)) return;
    const problem = jobSpecProblem(request.job);
    if (problem !== undefined) {
      this.record({ id: request.id, kind: String(request.job.kind), state: 'failed', reason: problem });
      return;
    }
    this.s.queuedJobs.push(request);
    this.record({ id: request.id, kind: request.job.kind, state: 'queued' });
  }

  /**
   * `id`, or `id-2`, `id-3` … when a job with that id is known already (a re-seed whose snapshot failed before it
   * committed a window is asked again at the same sequence number).
   */
  newJobId(id: string): string {
    const taken = (candidate: string) => this.s.jobs.some((j) => j.id === candidate);
    if (!taken(id)) return id;
    let n = 2;
    while (taken(`${id}-${n}`)) n++;
    return `${id}-${n}`;
  }

  get queuedJobs(): readonly JobRequest[] {
    return this.s.queuedJobs;
  }

  /** Takes the first queued job of this kind (a re-seed jumps the queue). */
  private startNextJobOfKind(kind: string): JobRequest | undefined {
    const i = this.s.queuedJobs.findIndex((j) => j.job.kind === kind);
    if (i < 0) return undefined;
    const [request] = this.s.queuedJobs.splice(i, 1);
    if (request) this.record({ id: request.id, kind: request.job.kind, state: 'running' });
    return request;
  }

  /**
   * A re-seed starts (the initial load, or after a change-log gap): the pending window will never commit (its
   * sequence number is free again), and the snapshot job jumps the queue. Returns the job to run now.
   */
  beginReseed(reason: string): JobRequest | undefined {
    this.setMode('reseeding');
    this.s.pendingWindow = null;
    this.s.pendingAttempts = 0;
    this.requestJob({ id: this.newJobId(`reseed-${this.s.nextSeq}`), job: { kind: 'snapshot', reason } });
    return this.startNextJobOfKind('snapshot');
  }

  /** Takes the next queued job and marks it running. */
  startNextJob(): JobRequest | undefined {
    const next = this.s.queuedJobs.shift();
    if (next) this.record({ id: next.id, kind: next.job.kind, state: 'running' });
    return next;
  }

  /**
   * A job committed windows `nextSeq … result.lastSeq`. A snapshot moves the position to where it read
   * (incremental sync resumes after it); other jobs leave the position alone.
   */
  jobDone(id: string, result: JobOutput, finishedAt: string, durationMs: number): void {
    if (result.windows > 0 && result.lastManifestPath) {
      this.s.lastCommitted = {
        seq: result.lastSeq,
        from: null,
        to: result.position,
        rows: result.rows,
        manifestPath: result.lastManifestPath,
        committedAt: finishedAt,
        rowsPerSecond: rowsPerSecond(result.rows, durationMs),
      };
    }
    this.s.windowsCommitted += result.windows;
    this.s.rowsCommitted += result.rows;
    this.s.nextSeq = result.lastSeq + 1;
    if (result.kind === 'snapshot') {
      this.s.position = result.position;
      this.s.pendingWindow = null;
      this.s.pendingAttempts = 0;
      this.s.positionCommittedAt = finishedAt;
      this.s.caughtUpTo = null;
      if (this.s.mode === 'reseeding') this.s.mode = 'running';
    }
    this.record({
      id,
      kind: result.kind,
      state: 'done',
      windows: result.windows,
      rows: result.rows,
      sourceRowsRead: result.sourceRowsRead,
      finishedAt,
    });
  }

  /**
   * A job failed for good, or was terminated or cancelled. Its windows committed before it ended stay (each is
   * complete and valid), so the sync reads the lake's watermark before going on: the sequence continues after
   * the last window the lake holds, and a snapshot that did not finish leaves no position to sync from.
   */
  jobFailed(id: string, kind: JobKind, reason: string, finishedAt: string): void {
    this.s.mustReadWatermark = true;
    this.s.lastError = `${kind} job ${id} failed: ${reason}`;
    this.record({ id, kind, state: 'failed', reason, finishedAt });
  }

  private record(job: JobRecord): void {
    const i = this.s.jobs.findIndex((j) => j.id === job.id);
    if (i >= 0) this.s.jobs.splice(i, 1);
    this.s.jobs.push(job);
    if (this.s.jobs.length > 20) this.s.jobs.splice(0, this.s.jobs.length - 20);
  }

  setMode(mode: TableSyncMode): void {
    this.s.mode = mode;
    if (mode !== 'stopped') this.s.stoppedReason = null;
  }

  stop(reason: string): void {
    this.s.mode = 'stopped';
    this.s.stoppedReason = reason;
    this.s.lastError = reason;
  }

  failed(message: string): void {
    this.s.lastError = message;
  }

  status(): TableSyncStatus {
    return {
      table: this.s.table.id,
      strategy: this.s.table.strategy,
      mode: this.s.mode,
      paused: this.s.mode === 'paused',
      position: this.s.position,
      lastCommitted: this.s.lastCommitted,
      lagSeconds: this.s.lagSeconds,
      captureLatencySeconds: this.s.captureLatencySeconds ?? null,
      pauseReason: this.s.pauseReason ?? null,
      rowsPerSecond: this.s.lastCommitted?.rowsPerSecond ?? null,
      lastError: this.s.lastError,
      stoppedReason: this.s.stoppedReason,
      windowsCommitted: this.s.windowsCommitted,
      rowsCommitted: this.s.rowsCommitted,
      jobs: this.s.jobs,
      caughtUpTo: this.s.caughtUpTo ?? null,
    };
  }
}

/** Rows per second of a window or job that took `durationMs` (all of them when it took no measurable time). */
function rowsPerSecond(rows: number, durationMs: number): number {
  return durationMs > 0 ? Math.round((rows * 1000) / durationMs) : rows;
}

/** The snapshot is plain JSON; structuredClone is not available in Temporal's workflow sandbox. */
function clone<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}
