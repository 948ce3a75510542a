/**
 * The options bench:load and bench:sim:workload share for the claims workload they drive (same names, defaults
 * and checks in both): `--rate` (ClaimLines change events/s aimed at), `--concurrency` (sessions),
 * `--claims-per-statement` (claims per INSERT/UPDATE, sim/workload's `claimsPerStatement`), and the check that
 * a numeric option is a positive number.
 */
import { MAX_CLAIMS_PER_STATEMENT } from '../sim/workload/index.js';
import { claimLinesPerOperation } from './steady-workload.js';

/**
 * Claims per statement by default, chosen by measurement (docs/performance.md, "Sustained load at ~5K/s"): the
 * simulator's CPU per change event fell 3.8x from 1 to 20 claims per statement and not further at 50, whose
 * statements are 2.5x longer.
 */
export const DEFAULT_CLAIMS_PER_STATEMENT = 20;

/** parseArgs option definitions of the workload's shape, to spread into a bench's own. */
export const WORKLOAD_ARG_OPTIONS = {
  rate: { type: 'string', default: '5000' },
  concurrency: { type: 'string', default: '8' },
  'claims-per-statement': { type: 'string', default: String(DEFAULT_CLAIMS_PER_STATEMENT) },
} as const;

/** A positive number from option `--name`, or an error that says which option and what it got. */
export function positiveNumber(name: string, v: string | undefined): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number (got ${String(v)})`);
  return n;
}

export interface WorkloadArgs {
  /** ClaimLines change events/s aimed at. */
  rate: number;
  concurrency: number;
  claimsPerStatement: number;
  /** Operations/s that aim needs (each operation covers `claimsPerStatement` claims). */
  opsPerSecond: number;
}

export function workloadArgs(values: { rate?: string; concurrency?: string; 'claims-per-statement'?: string }) {
  const rate = positiveNumber('rate', values.rate);
  const concurrency = Math.round(positiveNumber('concurrency', values.concurrency));
  const claimsPerStatement = positiveNumber('claims-per-statement', values['claims-per-statement']);
  if (!Number.isInteger(claimsPerStatement) || claimsPerStatement > MAX_CLAIMS_PER_STATEMENT)
    throw new Error(
      `--claims-per-statement must be a whole number from 1 to ${MAX_CLAIMS_PER_STATEMENT} (got ${String(values['claims-per-statement'])})`,
    );
  return {
    rate,
    concurrency,
    claimsPerStatement,
    opsPerSecond: rate / claimLinesPerOperation(claimsPerStatement),
  } satisfies WorkloadArgs;
}
