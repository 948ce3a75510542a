/**
 * Manifests: `_manifests/<seq>.json`, one per committed window, the lake's truth. What a manifest holds, how a
 * planned window is recorded in it (a change window's bounds, or a job chunk's identity as explicit fields), and
 * reading manifests back — including manifests written by earlier versions (they are data, not code).
 */
import type { JobKind } from '../domain/jobs.js';
import type { StagedFile } from '../domain/staged.js';
import type { WindowPlan } from '../domain/window.js';
import type { ControlTotals } from './control-totals.js';
import { LakeIntegrityError } from './errors.js';
import type { LakeTable } from './lake-table.js';
import type { TableLayout } from './layout.js';

export const MANIFEST_FORMAT = 'tidemark.manifest/1';

/** Which chunk of a chunked job (snapshot, backfill, sweep, reconcile) a window is. */
export interface ChunkRef {
  readonly kind: JobKind;
  /** 0-based; the job's first window is this window's sequence − `index`. */
  readonly index: number;
  readonly count: number;
}

/** A window: its sequence number (1, 2, …) and its source bounds. */
export interface WindowRef {
  readonly sequence: number;
  /** Lower bound (exclusive) as planned before reading; null for a job chunk (read at one position, `to`). */
  readonly from: string | null;
  /** Upper bound (inclusive); a job chunk: the position it was read at. */
  readonly to: string;
  /** A job chunk: which one. Absent: a change window. */
  readonly chunk?: ChunkRef;
  /**
   * Where the next window starts when the read refined the planned end (identity: the high-water it saw and
   * the gaps still open), recorded in the manifest with the files of the attempt that read it. Absent: `to`.
   * Not part of the window's identity: a retry may see more, and the first committed attempt's value wins.
   */
  readonly resume?: string;
}

/** The lake's view of a planned window (with the read's refined end, when committing). */
export function windowRefOf(plan: WindowPlan, resume?: string): WindowRef {
  const chunk =
    plan.kind === 'changes'
      ? undefined
      : { kind: plan.kind, index: plan.keyRange?.index ?? 0, count: plan.keyRange?.count ?? 0 };
  return {
    sequence: plan.seq,
    from: plan.from,
    to: plan.to,
    ...(chunk ? { chunk } : {}),
    ...(resume !== undefined ? { resume } : {}),
  };
}

/** A manifest's `window`. */
export interface ManifestWindow {
  /**
   * A change window's exclusive lower bound; null for a job chunk. Manifests written before `chunk` existed
   * record a chunk here as `<kind>:<index>/<count>` (read by {@link windowOf}, the one place that knows).
   */
  readonly from: string | null;
  readonly to: string;
  /** A job chunk's identity (absent: a change window, or a chunk of a manifest written before it existed). */
  readonly chunk?: ChunkRef;
  /** Optional (manifests of older versions lack it): see {@link WindowRef.resume}. */
  readonly resume?: string;
}

/** A committed manifest as stored. */
export interface Manifest {
  readonly format: typeof MANIFEST_FORMAT;
  readonly table: string;
  readonly sequence: number;
  readonly window: ManifestWindow;
  /** Lowest/highest event position in the files (null for an empty window). */
  readonly positions: { readonly min: string | null; readonly max: string | null };
  readonly attemptId: string;
  readonly schemaVersion: number;
  readonly previousManifest: string | null;
  readonly files: readonly StagedFile[];
  readonly controlTotals: ControlTotals;
  readonly committedAt: string;
  readonly committedBy: string;
}

/** How a manifest records a window (its `resume` only when the read refined the end). */
export function manifestWindowOf(window: WindowRef): ManifestWindow {
  return {
    from: window.from,
    to: window.to,
    ...(window.chunk ? { chunk: window.chunk } : {}),
    ...(window.resume !== undefined && window.resume !== window.to ? { resume: window.resume } : {}),
  };
}

/** The legacy form of a chunk's identity in `window.from` (manifests written before `window.chunk`). */
const LEGACY_CHUNK_FROM = /^([a-z_]+):(\d+)\/(\d+)$/;

/** A committed manifest's window as a {@link WindowRef}, whichever version wrote it. */
export function windowOf(m: Manifest): WindowRef {
  const { from, to, chunk, resume } = m.window;
  const legacy = chunk === undefined && from !== null ? LEGACY_CHUNK_FROM.exec(from) : null;
  const identity = legacy
    ? { from: null, chunk: { kind: legacy[1] as JobKind, index: Number(legacy[2]), count: Number(legacy[3]) } }
    : { from, ...(chunk ? { chunk } : {}) };
  return { sequence: m.sequence, to, ...identity, ...(resume !== undefined ? { resume } : {}) };
}

/** Whether two refs name the same window (sequence, bounds, chunk); `resume` is not part of the identity. */
export function sameWindow(a: WindowRef, b: WindowRef): boolean {
  const ca = a.chunk;
  const cb = b.chunk;
  const sameChunk =
    ca === undefined || cb === undefined
      ? ca === cb
      : ca.kind === cb.kind && ca.index === cb.index && ca.count === cb.count;
  return a.sequence === b.sequence && a.from === b.from && a.to === b.to && sameChunk;
}

/** A window for messages: `(from, to]`, or `<kind> chunk <index>/<count> at <to>`. Positions only. */
export function describeWindow(w: WindowRef): string {
  return w.chunk ? `${w.chunk.kind} chunk ${w.chunk.index}/${w.chunk.count} at ${w.to}` : `(${w.from}, ${w.to}]`;
}

/** Where the window after `m` starts: the refined end its read recorded, else its planned `to` (older manifests). */
export function resumePositionOf(m: Manifest): string {
  return m.window.resume ?? m.window.to;
}

/** Parses a manifest's bytes; a file of another format or table is a {@link LakeIntegrityError}. */
export function parseManifest(layout: TableLayout, path: string, body: Buffer): Manifest {
  const m = JSON.parse(body.toString('utf8')) as Manifest;
  if (m.format !== MANIFEST_FORMAT || m.table !== layout.id)
    throw new LakeIntegrityError(`${path} is not a ${MANIFEST_FORMAT} manifest of ${layout.id}`, layout.id, path);
  return m;
}

/** Reads a committed manifest, or undefined. */
export async function readManifest(lake: LakeTable, sequence: number): Promise<Manifest | undefined> {
  const path = lake.layout.manifestPath(sequence);
  const got = await lake.store.get(path);
  return got ? parseManifest(lake.layout, path, got.body) : undefined;
}

/**
 * The committed windows: manifests 1..n without a gap (a gap cannot happen through `commitManifest`, which
 * requires the previous manifest). Lists `_manifests/` — never data directories.
 */
export async function committedSequences(lake: LakeTable): Promise<number[]> {
  const seqs: number[] = [];
  for await (const item of lake.store.list(lake.layout.manifestsPrefix)) {
    const s = lake.layout.sequenceOfManifest(item.path);
    if (s !== undefined) seqs.push(s);
  }
  seqs.sort((a, b) => a - b);
  const chain: number[] = [];
  for (const s of seqs) {
    if (s !== chain.length + 1) break;
    chain.push(s);
  }
  return chain;
}
