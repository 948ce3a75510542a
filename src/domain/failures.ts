/**
 * The failure kinds the workflows act on, by name: they cross Temporal as `ApplicationFailure.type`.
 */

/**
 * Failure types (ApplicationFailure.type) the workflows act on. Config and prerequisite errors are shown to the
 * operator and never retried; a gap starts a re-seed; an incompatible schema change stops the table.
 */
export const FailureType = {
  ChangeLogGap: 'ChangeLogGapError',
  IncompatibleSchemaChange: 'IncompatibleSchemaChangeError',
  Config: 'ConfigError',
  Prerequisite: 'PrerequisiteError',
  WindowConflict: 'WindowConflictError',
} as const;

/** Types never retried by Temporal's retry policy: retrying cannot fix them. */
export const NON_RETRYABLE_FAILURE_TYPES: string[] = Object.values(FailureType);
