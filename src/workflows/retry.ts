import type { RetryPolicy } from '@temporalio/workflow';
import { NON_RETRYABLE_FAILURE_TYPES } from '../domain/failures.js';

/**
 * Every activity's retry policy: transient source/sink faults are retried forever with capped backoff (an
 * OLTP incident or a VPN drop must not need an operator), while config, prerequisite, gap and schema failures
 * are never retried — the workflow acts on them instead.
 */
export const ACTIVITY_RETRY: RetryPolicy = {
  initialInterval: '2s',
  backoffCoefficient: 2,
  maximumInterval: '5m',
  nonRetryableErrorTypes: NON_RETRYABLE_FAILURE_TYPES,
};
