/**
 * Commit: the manifest `_manifests/<seq>.json` is created with `If-None-Match: *` — the commit point. A 409 means
 * the window is already committed: if it is the same window (table, sequence, bounds or chunk) the call is a
 * no-op success returning the committed manifest; a different window there is a {@link WindowConflictError}.
 * The audit entry is then created (idempotently) for the committed manifest.
 */
import { md5OfBytes } from './blob-store.js';
import { allSettledOrThrow } from '../util/settle-all.js';
import { writeAuditEntry } from './audit-ledger.js';
import { BlobAlreadyExistsError, LakeIntegrityError, WindowConflictError } from './errors.js';
import type { LakeTable } from './lake-table.js';
import {
  MANIFEST_FORMAT,
  describeWindow,
  manifestWindowOf,
  parseManifest,
  resumePositionOf,
  sameWindow,
  windowOf,
  type Manifest,
  type WindowRef,
} from './manifest.js';
import type { StagedAttempt } from './stage-window.js';
import type { ValidateWindowOutput } from './validate-window.js';

export interface CommitManifestInput {
  readonly lake: LakeTable;
  readonly window: WindowRef;
  readonly staged: StagedAttempt;
  readonly validated: ValidateWindowOutput;
  /** Who commits (worker identity / workflow id), for the audit ledger. Never a person's data. */
  readonly committedBy: string;
  readonly now?: () => Date;
}

export interface CommitManifestOutput {
  /** `committed`: this call created the manifest; `already-committed`: the same window was committed before. */
  readonly status: 'committed' | 'already-committed';
  readonly sequence: number;
  readonly manifestPath: string;
  /** The attempt whose files the committed manifest references. */
  readonly attemptId: string;
  readonly rows: number;
  readonly files: number;
  /** Where the next window starts, as the committed manifest records it (a no-op retry: the earlier attempt's). */
  readonly resumePosition: string;
}

/**
 * Commit: creates the window's manifest with `If-None-Match: *`. Requires the previous window's manifest.
 * Idempotent: a retry of a committed window returns `already-committed` and changes nothing.
 */
export async function commitManifest(input: CommitManifestInput): Promise<CommitManifestOutput> {
  const { lake, window } = input;
  const { layout } = lake;
  const path = layout.manifestPath(window.sequence);
  const manifest = manifestOf(input);
  // Whether this window is committed already (a retry) and whether the previous one is: both reads at once.
  const previous = manifest.previousManifest;
  const [existing, previousThere] = await allSettledOrThrow([
    lake.store.get(path),
    previous === null ? true : lake.store.exists(previous),
  ]);
  const { committed, md5, status } = existing
    ? { committed: parseManifest(layout, path, existing.body), md5: md5OfBytes(existing.body), status: 'already' }
    : await createManifest(lake, manifest, path, previousThere);
  const recorded = windowOf(committed);
  if (!sameWindow(recorded, window))
    throw new WindowConflictError(
      `Sequence ${window.sequence} of ${layout.id} is already committed for window ${describeWindow(recorded)}, ` +
        `not ${describeWindow(window)}: two planners disagree about window boundaries; stop the table and investigate`,
      layout.id,
      path,
    );
  // Idempotent: also completes the entry of an earlier attempt that crashed right after the manifest.
  await writeAuditEntry(lake, committed, path, md5);
  return {
    status: status === 'created' ? 'committed' : 'already-committed',
    sequence: committed.sequence,
    manifestPath: path,
    attemptId: committed.attemptId,
    rows: committed.controlTotals.rows,
    files: committed.files.length,
    resumePosition: resumePositionOf(committed),
  };
}

/** The manifest this commit would create. */
function manifestOf(input: CommitManifestInput): Manifest {
  const { lake, window, staged } = input;
  return {
    format: MANIFEST_FORMAT,
    table: lake.layout.id,
    sequence: window.sequence,
    window: manifestWindowOf(window),
    positions: { min: staged.minPosition, max: staged.maxPosition },
    attemptId: staged.attemptId,
    schemaVersion: staged.schemaVersion,
    previousManifest: window.sequence > 1 ? lake.layout.manifestPath(window.sequence - 1) : null,
    files: staged.files,
    controlTotals: input.validated.controlTotals,
    committedAt: (input.now ?? (() => new Date()))().toISOString(),
    committedBy: input.committedBy,
  };
}

/**
 * Creates the manifest after its predecessor (`previousThere`: read by the caller); losing a race to another
 * committer returns the winner's.
 */
async function createManifest(
  lake: LakeTable,
  manifest: Manifest,
  path: string,
  previousThere: boolean,
): Promise<{ committed: Manifest; md5: string; status: 'created' | 'already' }> {
  const { layout } = lake;
  const previous = manifest.previousManifest;
  if (previous !== null && !previousThere)
    throw new LakeIntegrityError(
      `Window ${manifest.sequence} cannot commit before window ${manifest.sequence - 1}`,
      layout.id,
      previous,
    );
  try {
    const body = `${JSON.stringify(manifest, null, 2)}\n`;
    const { md5 } = await lake.store.putIfAbsent(path, body, { contentType: 'application/json' });
    return { committed: manifest, md5, status: 'created' };
  } catch (err) {
    if (!(err instanceof BlobAlreadyExistsError)) throw err;
    const raced = await lake.store.get(path);
    if (!raced) throw err;
    return { committed: parseManifest(layout, path, raced.body), md5: md5OfBytes(raced.body), status: 'already' };
  }
}
