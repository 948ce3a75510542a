/** Runs the commit protocol's steps for tests, optionally stopping after one, and wraps stores with faults. */
import type { ParquetCompression } from '../../src/config/types.js';
import { advanceWatermark } from '../../src/lake/watermark.js';
import { commitManifest, type CommitManifestOutput } from '../../src/lake/commit-manifest.js';
import { type WindowRef } from '../../src/lake/manifest.js';
import { validateWindow } from '../../src/lake/validate-window.js';
import { stageWindow, type ChangeEvent } from '../../src/lake/stage-window.js';
import { type LakeTable } from '../../src/lake/lake-table.js';
import type { BlobListItem, BlobPutOptions, BlobStore, BlobWriteResult } from '../../src/lake/blob-store.js';
import type { SchemaDoc } from '../../src/lake/schema-registry.js';
import { publishTableDelta, type DeltaPublication } from '../../src/capture/delta-publication.js';
import { createLogger } from '../../src/util/logger.js';

export const EXTRACTED_AT = 1_764_000_000_000_000_000n; // 2025-11-24T16:00Z

export type Step = 'stage' | 'validate' | 'commit' | 'publish' | 'advance';

export interface RunWindowOptions {
  readonly stopAfter?: Step;
  readonly partRows?: number;
  /** The part files' compression (config `sink.parquet`); the writer's default when absent. */
  readonly compression?: ParquetCompression;
  /** Publish the Delta log after the commit, as the commit activity does (default: no publication step). */
  readonly delta?: { readonly checkpointInterval?: number; readonly store?: BlobStore };
}

/** Runs stage → validate → commit → (publish, with `delta`) → advance for one window. */
export async function runWindow(
  lake: LakeTable,
  schema: SchemaDoc,
  window: WindowRef,
  attemptId: string,
  events: readonly ChangeEvent[],
  options: RunWindowOptions = {},
): Promise<CommitManifestOutput | undefined> {
  const staged = await stageWindow({
    lake,
    window,
    attemptId,
    schema,
    events,
    extractedAt: EXTRACTED_AT,
    partRows: options.partRows,
    ...(options.compression ? { compression: options.compression } : {}),
  });
  if (options.stopAfter === 'stage') return undefined;
  const validated = await validateWindow({ lake, schema, window, staged });
  if (options.stopAfter === 'validate') return undefined;
  const committed = await commitManifest({ lake, window, staged, validated, committedBy: `test/${attemptId}` });
  if (options.stopAfter === 'commit') return committed;
  if (options.delta)
    await publishStep(options.delta.store ? { ...lake, store: options.delta.store } : lake, options.delta);
  if (options.stopAfter === 'publish') return committed;
  await advanceWatermark({ lake, sequence: window.sequence });
  return committed;
}

/** The pipeline's publication step (src/capture/delta-publication.ts) with a silent logger. */
export function publishStep(
  lake: LakeTable,
  options: { readonly checkpointInterval?: number } = {},
): Promise<DeltaPublication> {
  return publishTableDelta({
    lake,
    logger: createLogger({ name: 'test', level: 'silent' }),
    ...(options.checkpointInterval !== undefined ? { checkpointInterval: options.checkpointInterval } : {}),
  });
}

/** Thrown by {@link FaultyStore}: a simulated crash. */
export class InjectedCrashError extends Error {
  override readonly name = 'InjectedCrashError';
}

/** A store that crashes (throws before doing it) at the n-th write (0-based); reads pass through. */
export class FaultyStore implements BlobStore {
  writes = 0;
  constructor(
    private readonly inner: BlobStore,
    private readonly crashAtWrite: number,
  ) {}
  get location(): string {
    return this.inner.location;
  }
  private gate(): void {
    if (this.writes++ === this.crashAtWrite) throw new InjectedCrashError(`crash at write ${this.crashAtWrite}`);
  }
  putIfAbsent(path: string, body: Uint8Array | string, options?: BlobPutOptions): Promise<BlobWriteResult> {
    this.gate();
    return this.inner.putIfAbsent(path, body, options);
  }
  replaceIfMatch(path: string, body: Uint8Array | string, etag: string, o?: BlobPutOptions): Promise<BlobWriteResult> {
    this.gate();
    return this.inner.replaceIfMatch(path, body, etag, o);
  }
  uploadFileIfAbsent(path: string, localFile: string, options?: BlobPutOptions): Promise<BlobWriteResult> {
    this.gate();
    return this.inner.uploadFileIfAbsent(path, localFile, options);
  }
  get(path: string) {
    return this.inner.get(path);
  }
  exists(path: string) {
    return this.inner.exists(path);
  }
  properties(path: string) {
    return this.inner.properties(path);
  }
  list(prefix: string): AsyncIterable<BlobListItem> {
    return this.inner.list(prefix);
  }
  downloadToFile(path: string, localFile: string) {
    return this.inner.downloadToFile(path, localFile);
  }
}

/**
 * Commits empty windows `from..to` through the real commit step (an empty window's stage and validation
 * produce exactly these records: no file, zero counts), cheaply: for tables with thousands of windows.
 */
export async function commitEmptyWindows(
  lake: LakeTable,
  schema: SchemaDoc,
  from: number,
  to: number,
  position: (n: number) => string,
): Promise<void> {
  const byOp = { c: 0, u: 0, d: 0, r: 0 };
  for (let sequence = from; sequence <= to; sequence++) {
    const attemptId = `e${sequence}`;
    await commitManifest({
      lake,
      window: { sequence, from: position(sequence - 1), to: position(sequence) },
      staged: {
        attemptId,
        schemaVersion: schema.version,
        files: [],
        rows: 0,
        opCounts: byOp,
        minPosition: null,
        maxPosition: null,
      },
      validated: { controlTotals: { rows: 0, rowsByOp: byOp, sums: {} } },
      committedBy: `test/${attemptId}`,
      now: () => new Date(Date.UTC(2025, 10, 24, 16, 0, 0) + sequence * 60_000),
    });
  }
}
