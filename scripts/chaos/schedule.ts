/**
 * The chaos run's schedule: which faults, of which kind, at which moment, with which parameters. A pure function
 * of the seed (a seeded PRNG, no clock, no I/O), so the same `--seed` always gives the same schedule; what the
 * stack does in between (timing, retries) is real and is not replayed.
 */
import { prng } from '../../sim/seed.js';

/** The kinds of fault the runner can inject (drivers in faults.ts). */
export const FAULT_KINDS = [
  'worker-sigkill',
  'worker-sigterm',
  'sql-reset-connection',
  'sql-stall',
  'ag-failover',
  'azurite-restart',
  'temporal-restart',
  'cdc-cleanup-overtakes',
  'storage-drop',
  'storage-delay',
  'capture-instance-drop',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/**
 * Relative weights: process and connection faults are cheap and are what production sees most; restarts of the
 * storage emulator and the Temporal server take tens of seconds each on a small machine, so they are rarer.
 */
const WEIGHTS: Record<FaultKind, number> = {
  'worker-sigkill': 5,
  'worker-sigterm': 2,
  'sql-reset-connection': 5,
  'sql-stall': 3,
  'ag-failover': 2,
  'azurite-restart': 2,
  'temporal-restart': 1,
  'cdc-cleanup-overtakes': 1,
  'storage-drop': 2,
  'storage-delay': 2,
  'capture-instance-drop': 1,
};

export interface ScheduledFault {
  /** 1-based, in firing order. */
  n: number;
  kind: FaultKind;
  /** Milliseconds after the chaos phase starts. */
  atMs: number;
  /** Which worker (index into the live workers, modulo their count): worker faults. */
  worker?: number;
  /** Rows of a result after which the connection is reset (sql-reset-connection). */
  afterRows?: number;
  /**
   * How long the fault lasts: a stalled statement, storage or Temporal down, the AG resolving, storage connections
   * reset or delayed, a capture instance missing until the operator re-creates it.
   */
  durationMs?: number;
  /** Latency added to every chunk through the storage proxy (storage-delay). */
  delayMs?: number;
}

export interface ScheduleOptions {
  seed: number;
  faults: number;
  /** Length of the chaos phase; faults fall at random moments within it. */
  durationMs: number;
  /** Kinds to draw from (default: all). */
  kinds?: readonly FaultKind[];
}

/**
 * The schedule for a seed. Every kind in `kinds` occurs at least once when `faults` ≥ the number of kinds (so a
 * short run still covers each); the rest are drawn by weight. Moments are uniform over the phase, sorted.
 */
export function planSchedule(options: ScheduleOptions): ScheduledFault[] {
  const kinds = options.kinds ?? FAULT_KINDS;
  if (kinds.length === 0) throw new Error('no fault kinds to draw from');
  if (!Number.isInteger(options.faults) || options.faults < 0) throw new Error('--faults must be a whole number ≥ 0');
  const rnd = prng(options.seed); // mulberry32, the simulator's seeded PRNG: same seed, same schedule
  const drawn: FaultKind[] = options.faults >= kinds.length ? [...kinds] : [];
  const total = kinds.reduce((s, k) => s + WEIGHTS[k], 0);
  while (drawn.length < options.faults) {
    let pick = rnd() * total;
    const kind = kinds.find((k) => (pick -= WEIGHTS[k]) < 0) ?? kinds[kinds.length - 1]!;
    drawn.push(kind);
  }
  // Shuffle (Fisher-Yates) so the guaranteed kinds do not all come first.
  for (let i = drawn.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [drawn[i], drawn[j]] = [drawn[j]!, drawn[i]!];
  }
  const moments = drawn.map(() => Math.floor(rnd() * options.durationMs)).sort((a, b) => a - b);
  return drawn.map((kind, i) => {
    const f: ScheduledFault = { n: i + 1, kind, atMs: moments[i]! };
    const between = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));
    switch (kind) {
      case 'worker-sigkill':
      case 'worker-sigterm':
        f.worker = between(0, 7);
        break;
      case 'sql-reset-connection':
        f.afterRows = between(1, 30);
        break;
      case 'sql-stall':
        f.durationMs = between(1_000, 8_000);
        break;
      case 'ag-failover':
        f.durationMs = between(0, 3_000);
        break;
      case 'azurite-restart':
        f.durationMs = between(500, 5_000);
        break;
      case 'temporal-restart':
        f.durationMs = between(500, 3_000);
        break;
      case 'cdc-cleanup-overtakes':
        f.durationMs = between(2_000, 6_000);
        break;
      case 'storage-drop':
        f.durationMs = between(500, 5_000);
        break;
      case 'storage-delay':
        f.durationMs = between(3_000, 10_000);
        f.delayMs = between(200, 2_000);
        break;
      case 'capture-instance-drop':
        f.durationMs = between(2_000, 6_000);
        break;
    }
    return f;
  });
}

/** One line per fault, for the printed schedule. */
export function describeFault(f: ScheduledFault): string {
  const extra = [
    f.worker !== undefined ? `worker #${f.worker}` : '',
    f.afterRows !== undefined ? `after ${f.afterRows} rows` : '',
    f.durationMs !== undefined ? `${f.durationMs} ms` : '',
    f.delayMs !== undefined ? `+${f.delayMs} ms per chunk` : '',
  ].filter(Boolean);
  return `#${String(f.n).padStart(3)} at ${(f.atMs / 1000).toFixed(1).padStart(6)} s  ${f.kind}${extra.length ? ` (${extra.join(', ')})` : ''}`;
}
