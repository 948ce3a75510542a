/**
 * The claims workload (sim/workload) driven at a steady rate by several sessions at once, for the sustained-load
 * bench: operation k is due at start + k / opsPerSecond, and whichever session is free takes the next due slot
 * (open loop: a slow statement does not slow the schedule). A schedule more than a second behind skips ahead,
 * and the skipped slots are counted, so "what the simulator actually sustained" is measured, not assumed.
 *
 * Per operation it records the statement latency (send → done, as the application sees it) and, from the
 * workload's own log, how many change events it wrote per table (keys only are logged; no row values).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import sql from 'mssql';
import { SIM_CREDENTIALS } from '../sim/index.js';
import { ClaimsWorkload, type WorkloadMix } from '../sim/workload/index.js';

/**
 * TDS packet size of the workload's connections. tedious leaves Nagle's algorithm on (no TCP_NODELAY), so a
 * request longer than one packet sends its first packet, then waits for the server's ACK of it before the rest
 * — and the server delays that ACK (~40 ms on Linux) because it waits for the rest: every claim insert of 2–5
 * lines (5–9 KB of UTF-16 SQL) stalled ~40 ms at tedious's default 4,096-byte packets, and the workload
 * measured that stall instead of the simulator (bench/sim-workload.ts: 6 KB batches took 65 ms at 4,096 and
 * 17 ms at 32,767 bytes, or with TCP_NODELAY). At 32,767 bytes every request of the mix is one packet.
 */
export const WORKLOAD_PACKET_SIZE = 32_767;

/**
 * The workload's own connection pool (the "application"'s), apart from the bench's admin pool so the raw-read
 * baselines keep the driver's default packet size: `sessions` connections as the simulator's `sa`.
 */
export function workloadPool(host: string, port: number, sessions: number): Promise<sql.ConnectionPool> {
  return new sql.ConnectionPool({
    server: host,
    port,
    user: SIM_CREDENTIALS.admin.user,
    password: SIM_CREDENTIALS.admin.password,
    database: 'Claims',
    pool: { max: sessions, min: 0 },
    requestTimeout: 0,
    options: { encrypt: false, trustServerCertificate: true, packetSize: WORKLOAD_PACKET_SIZE },
  }).connect();
}

/** A mix of only the operations whose change events the log counts exactly (inserts of 1–5 lines, updates). */
export const LOAD_MIX: WorkloadMix = {
  insertClaim: 70,
  updateClaim: 5,
  repriceLine: 25,
  deleteClaim: 0,
  upsertProvider: 0,
  payment: 0,
  note: 0,
  eligibility: 0,
  longTransaction: 0,
};

/**
 * The claims workload bench:load and bench:sim:workload drive ({@link LOAD_MIX}, seed 11, open loop), set up and
 * warmed with the same claims at every batch size (2,000 single-claim operations' worth).
 */
export async function warmLoadWorkload(app: sql.ConnectionPool, claimsPerStatement: number): Promise<ClaimsWorkload> {
  const workload = new ClaimsWorkload(app, {
    seed: 11,
    rate: 0,
    mix: LOAD_MIX,
    addColumnAt: [],
    widenAt: Number.MAX_SAFE_INTEGER,
    enableChangeTracking: false,
    claimsPerStatement,
  });
  await workload.setup();
  await workload.run({ operations: Math.ceil(2000 / claimsPerStatement) });
  return workload;
}

/** ClaimLines change events one operation of {@link LOAD_MIX} writes on average (an insert: 3 lines on average). */
export const CLAIM_LINES_PER_OP =
  (LOAD_MIX.insertClaim * 3 + LOAD_MIX.repriceLine) /
  Object.values(LOAD_MIX).reduce((a: number, b: number) => a + b, 0);

/**
 * ClaimLines change events one operation of {@link LOAD_MIX} writes on average at `claimsPerStatement` claims per
 * statement: {@link CLAIM_LINES_PER_OP} at 1; above 1, each insert and each re-pricing covers that many claims
 * of 3 lines on average (a batched re-pricing changes every line of its claims).
 */
export function claimLinesPerOperation(claimsPerStatement: number): number {
  if (claimsPerStatement <= 1) return CLAIM_LINES_PER_OP;
  const total = Object.values(LOAD_MIX).reduce((a: number, b: number) => a + b, 0) as number;
  return (claimsPerStatement * (LOAD_MIX.insertClaim * 3 + LOAD_MIX.repriceLine * 3)) / total;
}

export interface PhaseCounts {
  operations: number;
  errors: number;
  skippedSlots: number;
  claimLinesEvents: number;
  claimsEvents: number;
  /** Statement latencies of the phase, ms (unsorted). */
  latenciesMs: number[];
  seconds: number;
}

export class SteadyWorkload {
  private stopped = false;
  private sessions: Promise<void>[] = [];
  private t0 = 0;
  private k = 0;
  private phaseStart = 0;
  private counts = this.zero();
  private logRead = 0;
  firstError: string | undefined;

  constructor(
    private readonly workload: ClaimsWorkload,
    private readonly opsPerSecond: number,
    private readonly concurrency: number,
  ) {}

  private zero(): PhaseCounts {
    return {
      operations: 0,
      errors: 0,
      skippedSlots: 0,
      claimLinesEvents: 0,
      claimsEvents: 0,
      latenciesMs: [],
      seconds: 0,
    };
  }

  start(): void {
    this.t0 = performance.now();
    this.phaseStart = this.t0;
    this.logRead = this.workload.log.length; // what the workload did before (setup, warm-up) is not counted
    for (let i = 0; i < this.concurrency; i++) this.sessions.push(this.session());
  }

  private async session(): Promise<void> {
    const interval = 1000 / this.opsPerSecond;
    while (!this.stopped) {
      const now = performance.now();
      let due = this.t0 + this.k * interval;
      if (now - due > 1000) {
        const skip = Math.ceil((now - this.t0) / interval) - this.k;
        this.counts.skippedSlots += skip;
        this.k += skip;
        due = this.t0 + this.k * interval;
      }
      this.k++;
      if (due > now) await sleep(due - now);
      if (this.stopped) break;
      const t = performance.now();
      try {
        await this.workload.step();
        this.counts.latenciesMs.push(performance.now() - t);
        this.counts.operations++;
      } catch (err) {
        this.counts.errors++;
        this.firstError ??= (err as Error).message;
      }
      this.countLog();
    }
  }

  /** Counts the change events the workload logged since the last call, and forgets them (bounded memory). */
  private countLog(): void {
    const log = this.workload.log;
    for (; this.logRead < log.length; this.logRead++) {
      const e = log[this.logRead]!;
      if (e.op === 'insertClaim') {
        this.counts.claimsEvents++;
        this.counts.claimLinesEvents += leadingCount(e.detail);
      } else if (e.op === 'updateClaim') this.counts.claimsEvents++;
      else if (e.op === 'repriceLine') this.counts.claimLinesEvents++;
      // Batched operations (claimsPerStatement > 1) log the rows their UPDATE changed: "N claims …", "N lines".
      else if (e.op === 'updateClaims') this.counts.claimsEvents += leadingCount(e.detail);
      else if (e.op === 'repriceClaims') this.counts.claimLinesEvents += leadingCount(e.detail);
    }
    if (log.length > 10_000) {
      log.splice(0, this.logRead);
      this.logRead = 0;
    }
  }

  /** The counts since the last call (a minute, a phase), and starts counting afresh. */
  take(): PhaseCounts {
    this.countLog();
    const now = performance.now();
    const out = { ...this.counts, seconds: (now - this.phaseStart) / 1000 };
    this.counts = this.zero();
    this.phaseStart = now;
    return out;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.sessions);
    await this.workload.drain();
  }
}

/** The number a workload event's detail starts with ("3 lines, created …", "40 lines", "20 claims PAID"). */
const leadingCount = (detail: string | undefined): number => Number(/^(\d+) /.exec(detail ?? '')?.[1] ?? 0);

export function quantileMs(xs: number[], q: number): number | null {
  if (xs.length === 0) return null;
  const s = Float64Array.from(xs).sort();
  return +s[Math.min(s.length - 1, Math.floor(q * s.length))]!.toFixed(2);
}
