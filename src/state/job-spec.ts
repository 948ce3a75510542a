/**
 * What makes a job's arguments valid. One module for every place a job is asked for or run: the CLI refuses a
 * wrong argument before anything starts (exit 2), the table's sync refuses a request that still carries one
 * (any client can send the signal), and the job's planning refuses it again, so a wrong argument can never
 * reach SQL Server — where `CAST('2026-02-30' AS date)` fails the same way on every retry (error 241).
 *
 * Pure: no I/O, no clock; safe in workflow code.
 */
import type { JobSpec } from '../domain/jobs.js';

/** The most days a sweep looks back (ten years). */
export const MAX_SWEEP_DAYS = 3660;

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** True for a real calendar date written `YYYY-MM-DD` (years 0001–9999, as SQL Server's `date`). */
export function isCalendarDate(text: string): boolean {
  const m = DATE.exec(text);
  if (!m) return false;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (year < 1 || month < 1 || month > 12 || day < 1) return false;
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1] ?? 0;
  return day <= days;
}

/** The day after `date` (`YYYY-MM-DD`, a calendar date). */
export function nextDay(date: string): string {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  const t = new Date(0);
  t.setUTCFullYear(y, m - 1, d + 1); // (Date.UTC would read years below 100 as 19xx)
  const pad = (n: number, width: number) => String(n).padStart(width, '0');
  return `${pad(t.getUTCFullYear(), 4)}-${pad(t.getUTCMonth() + 1, 2)}-${pad(t.getUTCDate(), 2)}`;
}

/** A problem with a backfill's business-date range `[from, to)`, or undefined when it is valid. */
export function backfillRangeProblem(from: string, to: string): string | undefined {
  const bad = [from, to].filter((d) => !isCalendarDate(d));
  if (bad.length > 0)
    return `${bad.map((d) => `'${d}'`).join(' and ')} ${bad.length === 1 ? 'is not a calendar date' : 'are not calendar dates'}: give --from and --to as YYYY-MM-DD, a day that exists (2026-02-28, not 2026-02-30)`;
  if (from >= to)
    return `--from ${from} is not before --to ${to}: the range is [from, to), --to excluded; to backfill one day D give --from D --to the day after (for ${from}: --to ${nextDay(from)})`;
  return undefined;
}

/**
 * A problem with a sweep's period, or undefined when it is valid. A job may sweep 0 days (nothing landed in the
 * last 0 days: a no-op the activity tests use); the CLI asks for at least 1 (`min`), since 0 there is a mistake.
 */
export function sweepDaysProblem(days: number, min = 0): string | undefined {
  if (!Number.isInteger(days) || days < min || days > MAX_SWEEP_DAYS)
    return `--days must be a whole number of days from ${min} to ${MAX_SWEEP_DAYS}`;
  return undefined;
}

/** Why `job` cannot run, or undefined when its arguments are valid. */
export function jobSpecProblem(job: JobSpec): string | undefined {
  switch (job.kind) {
    case 'backfill':
      return typeof job.from === 'string' && typeof job.to === 'string'
        ? backfillRangeProblem(job.from, job.to)
        : 'a backfill needs from and to (YYYY-MM-DD)';
    case 'sweep':
      return sweepDaysProblem(job.days);
    case 'snapshot':
    case 'reconcile':
      return undefined;
    default:
      return `unknown job kind '${String((job as { kind?: unknown }).kind)}'`;
  }
}

/** A job whose arguments are wrong: never retried (the same arguments fail the same way). */
export class JobArgumentError extends Error {
  override readonly name = 'JobArgumentError';
  readonly retryable = false;
  constructor(
    readonly kind: string,
    readonly problem: string,
  ) {
    super(`${kind} job refused: ${problem}`);
  }
}
