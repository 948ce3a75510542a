/**
 * What the Temporal SDK's own log entries become in the worker's log (installRuntimeLogger, src/worker.ts): the
 * level pino writes them at, their fields and message.
 *
 * One entry is known noise: during a rolling upgrade a worker of an older version polls an activity that only newer
 * versions register (since the patch `sub-range-activity`, a split window's `extractSubRange`). The SDK fails the
 * task with a retryable `NotFoundError` and logs it at ERROR with the whole task (`task`, and `taskEncoded`: the
 * protobuf task in base64 — the activity's input, positions and table names, no row values). That is expected
 * while workers are replaced, and Temporal retries the activity until a worker that has it takes it. So it is
 * written at WARN, as one line that names the upgrade and says what to do (docs/operations.md, "Rolling upgrades
 * and sub-range reads"), with the activity's attributes but without the task. The line is written by the worker
 * that lacks the activity, so it reads this way from the version after the one that adds the activity.
 * Every other entry keeps its level and fields.
 */
import { withSerializedErrors } from './util/logger.js';

/** A log entry of the SDK, as its DefaultLogger hands it over. */
export interface RuntimeLogEntry {
  readonly level: string;
  readonly message: string;
  readonly meta?: Readonly<Record<string, unknown>>;
}

/** What the worker's log writes for an SDK entry. */
export interface RuntimeLogLine {
  readonly level: 'error' | 'warn' | 'debug';
  readonly fields: Record<string, unknown>;
  readonly message: string;
}

const NOT_REGISTERED =
  /^Error while processing ActivityTask\.start: Activity function (\S+) is not registered on this Worker/;

/** The operator's line for an activity this worker does not register (see the module comment). */
export function notRegisteredMessage(activityType: string): string {
  return (
    `Activity ${activityType} is not registered on this worker: a newer Tidemark version scheduled it (a rolling ` +
    'upgrade). Temporal retries it until a worker of that version takes it; if this persists, start one on this ' +
    'task queue (docs/operations.md, "Rolling upgrades and sub-range reads").'
  );
}

export function runtimeLogLine(entry: RuntimeLogEntry): RuntimeLogLine {
  const notRegistered = entry.level === 'ERROR' ? NOT_REGISTERED.exec(entry.message) : null;
  if (notRegistered) {
    const { task: _task, taskEncoded: _encoded, error: _error, ...rest } = entry.meta ?? {};
    return {
      level: 'warn',
      fields: { ...rest, activityType: notRegistered[1], errorType: 'NotFoundError', rollingUpgrade: true },
      message: notRegisteredMessage(notRegistered[1]!),
    };
  }
  // "Activity failed" carries the error under `error`: log its message (masked), not only its type.
  const fields = withSerializedErrors(entry.meta);
  if (entry.level === 'ERROR') return { level: 'error', fields, message: entry.message };
  if (entry.level === 'WARN') return { level: 'warn', fields, message: entry.message };
  return { level: 'debug', fields, message: entry.message };
}
