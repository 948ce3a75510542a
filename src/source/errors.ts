/**
 * Errors of the source layer. Each is a small class with typed readonly context: table names, positions,
 * SQL Server error numbers, counts — never a row value, never a secret. The message says what was wrong and
 * what to do; `cause` (when set) keeps the driver's diagnostic error for logs, apart from the user-facing text.
 *
 * `name` equals the activity failure type where one exists (`FailureType` in src/activities/contracts.ts), so
 * the activity boundary can pass `err.name` as the `ApplicationFailure` type unchanged.
 */
import { FailureType } from '../domain/failures.js';

/** Base class: every source error says whether retrying the same step can help. */
export abstract class SourceError extends Error {
  abstract readonly retryable: boolean;
}

/**
 * The change log no longer holds the changes after the watermark: CDC cleanup passed it, Change Tracking
 * retention passed it, or a capture instance was dropped. Never skipped: the table must be re-seeded.
 */
export class ChangeLogGapError extends SourceError {
  override readonly name = FailureType.ChangeLogGap;
  readonly retryable = false;
  constructor(
    readonly table: string,
    readonly strategy: 'cdc' | 'change_tracking',
    /** The position the next window had to start from. */
    readonly lastPosition: string,
    /** The oldest position the source still holds (CDC min LSN, CT min valid version). */
    readonly minAvailable: string,
    readonly detail: string,
  ) {
    super(
      `${table}: the ${strategy === 'cdc' ? 'CDC change table' : 'Change Tracking history'} no longer holds the ` +
        `changes after the watermark (${lastPosition} is older than the oldest available ${minAvailable}; ${detail}). ` +
        'Changes may have been lost: re-seed the table (a snapshot), and lengthen retention or poll more often.',
    );
  }
}

/** The capture instance being read has been dropped (error 208 on its function). */
export class CaptureInstanceDroppedError extends SourceError {
  override readonly name = 'CaptureInstanceDroppedError';
  readonly retryable = false;
  constructor(
    readonly table: string,
    readonly captureInstance: string,
  ) {
    super(
      `${table}: CDC capture instance '${captureInstance}' no longer exists (dropped or CDC disabled). ` +
        'Changes after the watermark cannot be read from it: enable a capture instance and re-seed the table.',
    );
  }
}

/** One problem found by the prerequisite check. */
export interface PrerequisiteProblem {
  /** Stable identifier, e.g. `cdc.db_not_enabled`. */
  readonly code: string;
  readonly severity: 'error' | 'warning';
  /** What is wrong, for the operator. */
  readonly message: string;
  /** T-SQL a DBA can run to fix it (empty when there is nothing to run). */
  readonly fixSql: string;
}

/** The source is not set up for the table's capture strategy. Lists every problem at once. */
export class PrerequisiteError extends SourceError {
  override readonly name = FailureType.Prerequisite;
  readonly retryable = false;
  constructor(
    readonly table: string,
    readonly problems: readonly PrerequisiteProblem[],
  ) {
    super(
      `${table}: ${problems.length} prerequisite problem(s):\n` +
        problems
          .map((p) => `- [${p.severity}] ${p.code}: ${p.message}${p.fixSql ? `\n  fix: ${p.fixSql}` : ''}`)
          .join('\n'),
    );
  }
}

/** A column type the lake cannot hold exactly (e.g. sql_variant). */
export class UnsupportedTypeError extends SourceError {
  override readonly name = 'UnsupportedTypeError';
  readonly retryable = false;
  constructor(
    readonly table: string,
    readonly column: string,
    readonly sqlType: string,
  ) {
    super(
      `${table}.${column}: SQL type ${sqlType} has no exact lake mapping. Exclude the column from capture ` +
        '(CDC @captured_column_list, or a view) or CAST it to a supported type.',
    );
  }
}

/** The table (or a configured column) does not exist or is not visible to the login. */
export class TableNotFoundError extends SourceError {
  override readonly name = FailureType.Config;
  readonly retryable = false;
  constructor(
    readonly table: string,
    readonly detail: string,
    /** The GRANT that makes the table visible, when the login may be what hides it. */
    readonly fixSql?: string,
  ) {
    super(
      `${table}: ${detail}. Check the table name in the config and that the login can see it (SELECT permission)` +
        (fixSql ? `; if the table exists, a DBA grants it: ${fixSql}` : '.'),
    );
  }
}

/** A stored position does not parse for the table's strategy (config changed strategy, or corruption). */
export class PositionFormatError extends SourceError {
  override readonly name = FailureType.Config;
  readonly retryable = false;
  constructor(
    readonly strategy: string,
    readonly position: string,
  ) {
    super(`A ${strategy} position must be ${describeFormat(strategy)}; got '${position.slice(0, 80)}'.`);
  }
}

function describeFormat(strategy: string): string {
  switch (strategy) {
    case 'cdc':
      return '40 hex digits (start_lsn + seqval)';
    case 'change_tracking':
      return '20 decimal digits (a CT version)';
    case 'rowversion':
      return '16 hex digits';
    case 'updated_at':
      return '20 decimal digits (nanoseconds), optionally "." and 16 hex digits';
    default:
      return '20 decimal digits (an identity value), optionally with gaps';
  }
}

/** Change Tracking was read on a readable secondary (22117): CT can only be read on the primary. */
export class ReadableSecondaryError extends SourceError {
  override readonly name = FailureType.Config;
  readonly retryable = false;
  constructor(readonly table: string) {
    super(
      `${table}: Change Tracking cannot be read on a readable secondary (SQL Server error 22117). ` +
        'Set source.readOnlyIntent: false for this source (or a separate source entry) so CT reads go to the primary.',
    );
  }
}

/**
 * The login may not do what a read needs (SQL Server 229/230/262/297/300/916, a CDC instance it cannot read,
 * missing VIEW CHANGE TRACKING): a {@link PrerequisiteError} with one problem, naming the object (never data) and
 * the exact statement a DBA runs to fix it. Never retried: a GRANT, not time, fixes it.
 */
export class SourcePermissionError extends PrerequisiteError {
  constructor(
    /** The object the permission is missing on, e.g. `dbo.Claims` or `cdc.change_tables`. */
    readonly object: string,
    /** The SQL Server error number (0 when the source signalled it otherwise, e.g. a NULL from a metadata function). */
    readonly sqlErrorNumber: number,
    /** Stable problem code, e.g. `permission.select`. */
    readonly code: string,
    /** What is missing, for the operator. */
    readonly detail: string,
    /** The T-SQL that grants it. */
    readonly fixSql: string,
  ) {
    super(object, [
      {
        code,
        severity: 'error',
        message: `permission denied${sqlErrorNumber ? ` (SQL Server error ${sqlErrorNumber})` : ''}: ${detail}`,
        fixSql,
      },
    ]);
  }
}

/**
 * CDC refused a range (error 313) that starts at or above the instance's min LSN: nothing was cleaned up, the
 * capture process simply has not harvested the range for this instance yet — its capture job is behind, or is
 * failing for this table while it captures others (the change table cannot hold a value; `sys.dm_cdc_errors`
 * says why). Not a gap: the window is retried with the same bounds until the capture catches up.
 */
export class CaptureBehindError extends SourceError {
  override readonly name = 'CaptureBehindError';
  readonly retryable = true;
  constructor(
    readonly table: string,
    readonly captureInstance: string,
    readonly fromLsn: string,
    readonly minLsn: string,
  ) {
    super(
      `${table}: CDC capture instance '${captureInstance}' has not harvested the window's range yet (SQL Server ` +
        `error 313 for a range from ${fromLsn}, at or above its min LSN ${minLsn}: no change was cleaned up). ` +
        'Its capture is behind or failing for this table: check `SELECT * FROM sys.dm_cdc_errors` and ' +
        '`EXEC sys.sp_cdc_help_jobs` on the source. The window is retried with the same bounds.',
    );
  }
}

/** A source failure classified as transient after the retries ran out; retrying the activity later may help. */
export class TransientSourceError extends SourceError {
  override readonly name = 'TransientSourceError';
  readonly retryable = true;
  constructor(
    readonly operation: string,
    /** Why it counts as transient (see transient.ts), e.g. `deadlock victim (1205)`. */
    readonly reason: string,
    readonly attempts: number,
  ) {
    super(
      `Source query '${operation}' failed transiently (${reason}) after ${attempts} attempt(s); the step will be retried.`,
    );
  }
}

/**
 * A non-transient SQL Server failure. The driver's text is kept (as `diagnostic`) only for error numbers
 * whose text names objects, never values (see `SAFE_DIAGNOSTIC_NUMBERS`): conversion and constraint
 * messages quote row values, so they are reduced to their number.
 */
export class SourceQueryError extends SourceError {
  override readonly name = 'SourceQueryError';
  readonly retryable = false;
  constructor(
    readonly operation: string,
    readonly sqlErrorNumber: number | undefined,
    readonly code: string | undefined,
    readonly diagnostic: string | undefined,
  ) {
    super(
      `Source query '${operation}' failed (SQL Server error ${sqlErrorNumber ?? 'n/a'}${code ? `, ${code}` : ''})` +
        (diagnostic ? `: ${diagnostic}` : '.'),
    );
  }
}

/** SQL Server errors whose text quotes object names or settings only, never row values. */
export const SAFE_DIAGNOSTIC_NUMBERS: ReadonlySet<number> = new Set([
  102, 156, 195, 207, 208, 229, 230, 262, 297, 300, 313, 916, 978, 979, 3952, 4060, 18456, 22105, 22117, 40517,
]);
