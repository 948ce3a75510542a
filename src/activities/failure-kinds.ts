/**
 * The failure kinds the worker's metrics label retries and stops with (docs/metrics.md), by error class — never by
 * message — and the per-table state the metering shares with the status refresher.
 */
import { FailureType } from '../domain/failures.js';
import { BlobStoreError } from '../lake/errors.js';
import { TransientSourceError } from '../source/errors.js';
import { failureTypeOf } from './failures.js';

/** The `failure_kind` of a stopping failure type (docs/metrics.md). */
const STOP_KINDS: Record<string, string> = {
  [FailureType.ChangeLogGap]: 'change_log_gap',
  [FailureType.IncompatibleSchemaChange]: 'incompatible_schema_change',
  [FailureType.Config]: 'config',
  [FailureType.Prerequisite]: 'prerequisite',
  [FailureType.WindowConflict]: 'window_conflict',
  DataQualityError: 'data_quality',
};

/** The `failure_kind` of a retryable error, by its class (never by its message). */
export function retryKindOf(err: unknown): string {
  if (err instanceof TransientSourceError) return 'source_transient';
  if (err instanceof BlobStoreError)
    return err.statusCode === 429 || err.statusCode === 503 ? 'sink_throttled' : 'sink_transient';
  return 'other';
}

/** The `failure_kind` of a stopping error, or undefined for a retryable one. */
export function stopKindOf(err: unknown): string | undefined {
  const type = failureTypeOf(err);
  return type === undefined ? undefined : (STOP_KINDS[type] ?? 'other');
}

/** A table's stop reason as last observed on this worker (exported while the table is `stopped`). */
export type StopKinds = Map<string, string>;

/** The source connection's throttle counters (cumulative), read around each read to attribute them to its table. */
export interface ThrottleCounters {
  readonly backoffs: number;
  readonly slotWaitMs: number;
  readonly rateWaitMs: number;
  readonly backoffWaitMs: number;
}
