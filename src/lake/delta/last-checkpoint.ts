/**
 * `_delta_log/_last_checkpoint`: the hint that points readers at a recent checkpoint (PROTOCOL.md, "Last
 * Checkpoint File"), so they need not list the whole `_delta_log/` ("Listing such a large directory can be
 * prohibitively expensive").
 *
 * It is the one object of a Delta log that is rewritten in place, and the data container may be WORM, so it is
 * written **best effort**, never as part of a commit:
 * - written only after the checkpoint it names exists (it never points ahead of a checkpoint);
 * - read first, then created with `If-None-Match: *` or moved forward with `If-Match: <etag>`; if it already
 *   names the same or a newer version it is left alone (it never moves backwards, even against a concurrent
 *   writer);
 * - an overwrite refused by an immutability policy (HTTP 409 `BlobImmutableDueToPolicy`, or
 *   `BlobImmutableDueToLegalHold`: Azure's codes for a time-based policy or a legal hold) is reported once per
 *   table and process and not tried again for that table in this process. The hint already there stays: the
 *   protocol lets it lag ("it points to near the end of the log"; readers "enumerate any delta files or newer
 *   checkpoints" after it). Any other failure (a 403 included: a real permission problem) is thrown as usual.
 *
 * Under container-level WORM the first hint is created and then stays; under version-level WORM (blob
 * versioning) each overwrite succeeds and the old states are kept as immutable versions; with no policy it
 * simply follows the newest checkpoint.
 */
import type { DeltaLogPaths } from './log-paths.js';
import { BlobAlreadyExistsError, BlobStoreError, ConditionNotMetError, type LakeTable } from './lake-port.js';

/** The hint's fields Tidemark writes (PROTOCOL.md, "Last Checkpoint File Schema"; `checksum` left out). */
export interface LastCheckpointStats {
  /** Number of actions stored in the checkpoint. */
  readonly size: number;
  /** Bytes of the checkpoint file. */
  readonly sizeInBytes: number;
  /** Number of `add` actions in the checkpoint. */
  readonly numOfAddFiles: number;
}

/** What happened to the hint. */
export type LastCheckpointResult =
  | { readonly status: 'written' }
  /** It already named this version or a newer one. */
  | { readonly status: 'current' }
  /** First refusal by an immutability policy for this table in this process: the caller logs it once. */
  | { readonly status: 'refused'; readonly message: string }
  /** Refused earlier in this process: not tried again. */
  | { readonly status: 'skipped' };

/** Azure's error codes for an overwrite an immutability policy or legal hold refuses (HTTP 409). */
export const IMMUTABLE_ERROR_CODES: ReadonlySet<string> = new Set([
  'BlobImmutableDueToPolicy',
  'BlobImmutableDueToLegalHold',
]);

/** Per table (store location + log prefix): the highest version the hint is known to name, or refused. */
const known = new Map<string, number | 'refused'>();

export interface PointLastCheckpointInput {
  readonly lake: LakeTable;
  readonly paths: DeltaLogPaths;
  /** A version whose checkpoint exists. */
  readonly version: number;
  /** The checkpoint's figures; called only when the hint is actually written. */
  readonly stats: () => Promise<LastCheckpointStats>;
}

/** Points `_last_checkpoint` at `version` unless it names the same or a newer one. Best effort (module comment). */
export async function pointLastCheckpoint(input: PointLastCheckpointInput): Promise<LastCheckpointResult> {
  const { lake, paths, version } = input;
  const key = `${lake.store.location}\u0000${paths.prefix}`;
  const before = known.get(key);
  if (before === 'refused') return { status: 'skipped' };
  if (before !== undefined && before >= version) return { status: 'current' };
  let stats: LastCheckpointStats | undefined;
  // A concurrent writer can win the create or the swap: re-read and decide again (a few times, then give up).
  for (let attempt = 0; attempt < 3; attempt++) {
    const existing = await lake.store.get(paths.lastCheckpoint);
    const named = existing ? versionNamed(existing.body) : undefined;
    if (named !== undefined && named >= version) {
      known.set(key, named);
      return { status: 'current' };
    }
    stats ??= await input.stats();
    const body = JSON.stringify({ version, ...stats });
    try {
      if (existing) await lake.store.replaceIfMatch(paths.lastCheckpoint, body, existing.etag, JSON_TYPE);
      else await lake.store.putIfAbsent(paths.lastCheckpoint, body, JSON_TYPE);
      known.set(key, version);
      return { status: 'written' };
    } catch (err) {
      if (err instanceof BlobAlreadyExistsError || err instanceof ConditionNotMetError) continue;
      if (isImmutabilityRefusal(err)) {
        known.set(key, 'refused');
        return {
          status: 'refused',
          message:
            `${paths.lastCheckpoint} stays at ${named === undefined ? 'its current content' : `version ${named}`}: ` +
            `the container's immutability policy refuses to overwrite it (${err.statusCode} ${err.errorCode}). ` +
            'Delta readers still open the table correctly (they list the log after the hint); not retried for ' +
            'this table until the worker restarts',
        };
      }
      throw err;
    }
  }
  return { status: 'current' }; // other writers keep moving it; theirs is at least as new as what we read
}

const JSON_TYPE = { contentType: 'application/json' };

function isImmutabilityRefusal(err: unknown): err is BlobStoreError {
  return (
    err instanceof BlobStoreError &&
    err.statusCode === 409 &&
    err.errorCode !== undefined &&
    IMMUTABLE_ERROR_CODES.has(err.errorCode)
  );
}

/** The version a stored hint names, or undefined when it is not one (then it is replaced). */
function versionNamed(body: Buffer): number | undefined {
  try {
    const v = (JSON.parse(body.toString('utf8')) as { version?: unknown }).version;
    return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : undefined;
  } catch {
    return undefined;
  }
}

/** Forgets what this process learned about every table's hint (tests that simulate a restart). */
export function forgetLastCheckpoints(): void {
  known.clear();
}
