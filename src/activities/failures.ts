/**
 * The activity boundary's error translation: known errors become `ApplicationFailure`s with the contract's
 * {@link FailureType} names (non-retryable: the workflow acts on them), everything else stays retryable.
 * Messages pass through {@link maskSecretsInText}; the error classes of src/source and src/lake carry positions,
 * names and counts, never row values.
 */
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { ConfigError } from '../config/config-error.js';
import { IncompatibleSchemaChangeError, LakeIntegrityError } from '../lake/errors.js';
import { LakeValueError } from '../lake/lake-types.js';
import { CaptureInstanceDroppedError, ChangeLogGapError, PrerequisiteError } from '../source/index.js';
import { maskSecretsInText } from '../util/logger.js';
import { FailureType } from './contracts.js';

/** The failure type of an error the workflows act on, or undefined for a retryable one. */
export function failureTypeOf(err: unknown): string | undefined {
  if (err instanceof ChangeLogGapError || err instanceof CaptureInstanceDroppedError) return FailureType.ChangeLogGap;
  if (err instanceof IncompatibleSchemaChangeError) return FailureType.IncompatibleSchemaChange;
  // A value the lake column cannot hold exactly (e.g. a datetime2(7) sentinel beyond 2262) fails the same way on
  // every retry: the table stops, visibly, instead of retrying forever.
  if (err instanceof LakeValueError) return FailureType.IncompatibleSchemaChange;
  if (err instanceof ConfigError) return FailureType.Config;
  if (err instanceof PrerequisiteError) return FailureType.Prerequisite;
  if (err instanceof LakeIntegrityError && /already committed for window/.test(err.message))
    return FailureType.WindowConflict;
  const retryable = (err as { retryable?: unknown } | null)?.retryable;
  if (retryable === false && err instanceof Error && (Object.values(FailureType) as string[]).includes(err.name))
    return err.name;
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
