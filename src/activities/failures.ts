/**
 * The activity boundary's error translation: what crosses Temporal when an activity throws.
 *
 * Policy (one rule, so no permanent failure is retried forever):
 * - errors the workflows act on by type get the contract's {@link FailureType} names (a gap re-seeds; schema,
 *   config, prerequisite and window conflicts stop the table);
 * - every other error that says it cannot be fixed by retrying (`retryable: false`: a SQL Server error outside
 *   the transient list such as 241 "conversion failed", an unsupported type, a missing container, a checksum
 *   mismatch …) crosses as **non-retryable**, with its class name as the type: the table-sync workflow stops the
 *   table with the message (a job: the job fails and the table goes on);
 * - the blob store's two concurrency conflicts (`BlobAlreadyExistsError`, `ConditionNotMetError`) are the one
 *   exception: they say "someone else wrote first", and a retry re-reads what the other writer left;
 * - anything else (a plain `Error`, a dropped socket, a transient source error) stays retryable.
 *
 * Messages pass through {@link maskSecretsInText}; the error classes of src/source and src/lake carry positions,
 * names and counts, never row values.
 */
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { ConfigError } from '../config/config-error.js';
import {
  BlobAlreadyExistsError,
  ConditionNotMetError,
  IncompatibleSchemaChangeError,
  WindowConflictError,
} from '../lake/errors.js';
import { LakeValueError } from '../lake/lake-types.js';
import { CaptureInstanceDroppedError, ChangeLogGapError, PrerequisiteError } from '../source/index.js';
import { maskSecretsInText } from '../util/logger.js';
import { FailureType } from '../domain/failures.js';

/** The failure type of an error that must not be retried, or undefined for a retryable one. */
export function failureTypeOf(err: unknown): string | undefined {
  if (err instanceof ChangeLogGapError || err instanceof CaptureInstanceDroppedError) return FailureType.ChangeLogGap;
  if (err instanceof IncompatibleSchemaChangeError) return FailureType.IncompatibleSchemaChange;
  // A value the lake column cannot hold exactly (e.g. a datetime2(7) sentinel beyond 2262) fails the same way on
  // every retry: the table stops, visibly, instead of retrying forever.
  if (err instanceof LakeValueError) return FailureType.IncompatibleSchemaChange;
  if (err instanceof ConfigError) return FailureType.Config;
  if (err instanceof PrerequisiteError) return FailureType.Prerequisite;
  if (err instanceof WindowConflictError) return FailureType.WindowConflict;
  if (err instanceof BlobAlreadyExistsError || err instanceof ConditionNotMetError) return undefined;
  if (err instanceof Error && (err as { retryable?: unknown }).retryable === false) return err.name;
  return undefined;
}

/** Converts an error thrown inside an activity into what crosses Temporal. */
export function toActivityFailure(err: unknown): unknown {
  if (err instanceof ApplicationFailure || err instanceof CancelledFailure) return err;
  const type = failureTypeOf(err);
  const name = err instanceof Error ? err.name : 'Error';
  const message = maskSecretsInText(err instanceof Error ? err.message : String(err));
  if (type) return ApplicationFailure.create({ type, message, nonRetryable: true });
  return ApplicationFailure.create({ type: name, message, nonRetryable: false });
}

/** Wraps an activity so every thrown error is translated at the boundary. */
export function atBoundary<I, O>(fn: (input: I) => Promise<O>): (input: I) => Promise<O> {
  return async (input: I) => {
    try {
      return await fn(input);
    } catch (err) {
      throw toActivityFailure(err);
    }
  };
}
