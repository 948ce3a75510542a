/**
 * The step after every commit (a sync window or a job's chunk): publish the table's Delta log from its
 * manifests (lake/delta/publish.ts), so each lake table is also a Delta Lake table whose version N is manifest N.
 *
 * The manifest stays the commit point (docs/raw-layer.md, "Delta Lake"): this step only derives. It writes every
 * missing version in order with `If-None-Match: *`, so whatever crashed before — between the manifest and its
 * version, between two versions, between a version and its checkpoint — the next call (the commit's retry, the
 * next window or chunk) completes the log with no gap and no duplicate.
 *
 * A Delta-specific refusal never stops the lake from landing data: a schema version that has no Delta schema
 * (DeltaSchemaError) or a log someone else wrote into (LakeIntegrityError) is logged with what to do
 * (docs/operations.md, "Delta Lake publication") and the window counts as committed; the log stays at the last
 * good version and resumes by itself once the cause is gone. Transient storage errors are thrown, so the commit
 * activity is retried (its retry is a no-op for the manifest and publishes again).
 */
import { DeltaSchemaError } from '../lake/delta/delta-schema.js';
import { publishDelta } from '../lake/delta/publish.js';
import { LakeIntegrityError } from '../lake/errors.js';
import type { LakeTable } from '../lake/lake-table.js';
import type { Logger } from '../util/logger.js';

/** Versions one call publishes at most: the first publication of an existing lake spreads over several commits. */
export const DELTA_VERSIONS_PER_CALL = 500;

/** What the publication did (counts and versions only). */
export interface DeltaPublication {
  /** The log's highest version after the call (-1: no log yet, or the publication was refused). */
  readonly version: number;
  /** How many versions this call wrote. */
  readonly written: number;
  /** Checkpoints this call wrote (their versions). */
  readonly checkpoints: readonly number[];
  /** Why the log stopped (a refusal, see the module comment); absent when it is complete. */
  readonly refused?: string;
}

export interface PublishTableDeltaInput {
  readonly lake: LakeTable;
  readonly logger: Logger;
  readonly scratchDir?: string;
  /** A checkpoint every this many versions (default: the publisher's, 100). */
  readonly checkpointInterval?: number;
}

/** Publishes the missing Delta versions of a table; refusals are logged and returned, never thrown. */
export async function publishTableDelta(input: PublishTableDeltaInput): Promise<DeltaPublication> {
  const { lake, logger } = input;
  try {
    const out = await publishDelta({
      lake,
      maxVersions: DELTA_VERSIONS_PER_CALL,
      ...(input.scratchDir !== undefined ? { scratchDir: input.scratchDir } : {}),
      ...(input.checkpointInterval !== undefined ? { checkpointInterval: input.checkpointInterval } : {}),
    });
    if (out.lastCheckpointRefused !== undefined) logLastCheckpointRefused(logger, out.lastCheckpointRefused);
    if (out.written.length > 0)
      logger.debug(
        { deltaVersion: out.version, written: out.written.length, checkpoints: out.checkpoints, behind: out.behind },
        'delta log published',
      );
    return { version: out.version, written: out.written.length, checkpoints: out.checkpoints };
  } catch (err) {
    if (!(err instanceof DeltaSchemaError) && (!(err instanceof LakeIntegrityError) || isCommitConflict(err)))
      throw err;
    logger.error({ err: { name: err.name, message: err.message } }, 'delta log publication refused');
    return { version: -1, written: 0, checkpoints: [], refused: err.message };
  }
}

/**
 * `_last_checkpoint` could not be moved (an immutability policy refused the overwrite): info, not a warning —
 * the table is complete and readable, only a reader's listing hint lags (docs/operations.md). The lake layer
 * reports it once per table and process, so this logs once.
 */
export function logLastCheckpointRefused(logger: Logger, message: string): void {
  logger.info({ reason: message }, 'delta _last_checkpoint left as it is (immutability policy)');
}

/** A WindowConflictError is the manifest chain's own problem, not the Delta log's: it keeps stopping the table. */
function isCommitConflict(err: LakeIntegrityError): boolean {
  return err.name === 'WindowConflictError';
}
