/**
 * The state of one table's sync, kept apart from Temporal's signal/query wiring so it can be unit-tested and
 * carried through continue-as-new as plain data. Pure: no I/O, no clocks (times come in as arguments).
 */
import type { ReseedOutput, TableRef, WindowPlan } from '../activities/contracts.js';

export type TableSyncMode = 'running' | 'paused' | 'stopped' | 'reseeding';

/** The last window that became visible in the lake. */
export interface CommittedWindow {
  seq: number;
  from: string | null;
  to: string;
  rows: number;
  manifestPath: string;
  committedAt: string;
  /** Rows per second of extract → commit for this window. */
  rowsPerSecond: number;
}

/** Serializable snapshot: the workflow's input on (re)start and continue-as-new. */
export interface TableSyncSnapshot {
  table: TableRef;
  mode: TableSyncMode;
  /** The watermark: the last committed position, null before the first snapshot. */
  position: string | null;
  /** The next window's sequence number. */
  nextSeq: number;
  /** A planned window that has not committed yet: retried with the same bounds, never re-planned. */
  pendingWindow: WindowPlan | null;
  /** Extraction attempts made for the pending window (file names are unique per attempt). */
  pendingAttempts: number;
  lastCommitted: CommittedWindow | null;
  lagSeconds: number | null;
  /** Why the table is stopped, or the last error met (without row values). */
  lastError: string | null;
  stoppedReason: string | null;
  windowsCommitted: number;
  rowsCommitted: number;
}

export function initialSnapshot(table: TableRef, position: string | null = null, nextSeq = 1): TableSyncSnapshot {
  return {
    table,
    mode: 'running',
    position,
    nextSeq,
    pendingWindow: null,
    pendingAttempts: 0,
    lastCommitted: null,
    lagSeconds: null,
    lastError: null,
    stoppedReason: null,
    windowsCommitted: 0,
    rowsCommitted: 0,
  };
}

/** What the `status` query returns. */
export interface TableSyncStatus {
  table: string;
  strategy: string;
  mode: TableSyncMode;
  paused: boolean;
  position: string | null;
  lastCommitted: CommittedWindow | null;
  lagSeconds: number | null;
  rowsPerSecond: number | null;
  lastError: string | null;
  stoppedReason: string | null;
  windowsCommitted: number;
  rowsCommitted: number;
}

export class TableSyncState {
  private s: TableSyncSnapshot;
  /** Set by the pause signal; the mode changes at the next window boundary (or at once when `now`). */
  pauseRequested = false;

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

  /** On a fresh start: the lake's last committed position and manifest sequence. */
  restored(position: string | null, lastSeq: number): void {
    this.s.position = position;
    this.s.nextSeq = lastSeq + 1;
  }

  /** Fixes the bounds of the next window; they stay fixed until it commits. */
  planned(window: WindowPlan, lagSeconds: number | null): void {
    if (window.seq !== this.s.nextSeq)
      throw new Error(`planned window ${window.seq} but the next sequence is ${this.s.nextSeq}`);
    this.s.pendingWindow = window;
    this.s.pendingAttempts = 0;
    this.s.lagSeconds = lagSeconds;
  }

  observedLag(lagSeconds: number | null): void {
    this.s.lagSeconds = lagSeconds;
  }

  /** Returns the attempt number for the next extraction of the pending window. */
  nextAttempt(): number {
    this.s.pendingAttempts += 1;
    return this.s.pendingAttempts;
  }

  committed(window: WindowPlan, rows: number, manifestPath: string, committedAt: string, durationMs: number): void {
    this.s.lastCommitted = {
      seq: window.seq,
      from: window.from,
      to: window.to,
      rows,
      manifestPath,
      committedAt,
      rowsPerSecond: durationMs > 0 ? Math.round((rows * 1000) / durationMs) : rows,
    };
    this.s.position = window.to;
    this.s.nextSeq = window.seq + 1;
    this.s.pendingWindow = null;
    this.s.pendingAttempts = 0;
    this.s.windowsCommitted += 1;
    this.s.rowsCommitted += rows;
    this.s.lastError = null;
  }

  /** A re-seed committed snapshot windows up to `lastSeq` and read at `position`: incremental sync resumes there. */
  reseeded(result: ReseedOutput, committedAt: string, durationMs: number): void {
    const { position, lastSeq } = result;
    this.s.lastCommitted = {
      seq: lastSeq,
      from: null,
      to: position,
      rows: result.rows,
      manifestPath: result.lastManifestPath,
      committedAt,
      rowsPerSecond: durationMs > 0 ? Math.round((result.rows * 1000) / durationMs) : result.rows,
    };
    this.s.windowsCommitted += result.windows;
    this.s.rowsCommitted += result.rows;
    this.s.position = position;
    this.s.nextSeq = lastSeq + 1;
    this.s.pendingWindow = null;
    this.s.pendingAttempts = 0;
    this.s.mode = 'running';
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
      rowsPerSecond: this.s.lastCommitted?.rowsPerSecond ?? null,
      lastError: this.s.lastError,
      stoppedReason: this.s.stoppedReason,
      windowsCommitted: this.s.windowsCommitted,
      rowsCommitted: this.s.rowsCommitted,
    };
  }
}

/** The snapshot is plain JSON; structuredClone is not available in Temporal's workflow sandbox. */
function clone<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}
