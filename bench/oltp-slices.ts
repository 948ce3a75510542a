/**
 * One OLTP-impact phase of `bench:load`, measured so that it compares on a shared machine: the workload runs for
 * the whole phase while Tidemark alternates between paused and active slices (paused, active, paused, …, paused),
 * so whatever else loads the machine drifts across both kinds alike. The first `settleMs` of each slice are not
 * counted (a resume plans a new window; a pause needs the source's connections to go quiet). An active slice
 * lasts until its pause is in effect (at the window boundary: the window in flight finishes and counts). Reported: the statement p50/p95 of the
 * paused slices pooled against the active ones, and — closer to "against the paused slices around it" — the
 * median over active slices of (active p95 ÷ mean of the two paused p95s beside it − 1); events landed per
 * second of active slice; and, when a worker metrics endpoint is given, the table's throttle gauge and counters
 * sampled at the end of each active slice (what `tidemark_throttle_*` showed).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ClaimsWorkload } from '../sim/workload/index.js';
import { quantileMs, SteadyWorkload } from './steady-workload.js';

export interface SliceFigures {
  kind: 'paused' | 'active';
  seconds: number;
  operations: number;
  statementP50Ms: number | null;
  statementP95Ms: number | null;
  landedEvents: number;
}

export interface ThrottleSample {
  rowsPerSecond: number | null;
  backoffs: number | null;
  backoffWaitSeconds: number | null;
  rateWaitSeconds: number | null;
}

export interface SlicedPhase {
  slices: SliceFigures[];
  pausedP50Ms: number | null;
  pausedP95Ms: number | null;
  activeP50Ms: number | null;
  activeP95Ms: number | null;
  activeVsPausedP95Percent: number | null;
  medianSliceVsAroundPercent: number | null;
  landedPerActiveSecond: number;
  errors: number;
  skippedSlots: number;
  throttle?: { capsRowsPerSecond: (number | null)[]; backoffs: number | null; samples: ThrottleSample[] };
}

export interface SlicedPhaseOptions {
  workload: ClaimsWorkload;
  opsPerSecond: number;
  concurrency: number;
  phaseMs: number;
  sliceMs: number;
  settleMs: number;
  /** Events committed so far, both tables. */
  committed: () => Promise<number>;
  /** Pauses the tables and resolves once the pause is in effect (the windows in flight finished). */
  pause: () => Promise<void>;
  resume: () => Promise<void>;
  /** Called every second of an active slice (windows back to back). */
  wake: () => Promise<void>;
  /** The worker's throttle metrics of ClaimLines, sampled at each active slice's end. */
  metrics?: () => Promise<ThrottleSample>;
}

const pct = (a: number | null, b: number | null) => (a === null || !b ? null : +((a / b - 1) * 100).toFixed(1));

export async function slicedPhase(o: SlicedPhaseOptions): Promise<SlicedPhase> {
  // Paused first and last: an odd number of slices, at least three.
  const pairs = Math.max(1, Math.floor((Math.floor(o.phaseMs / o.sliceMs) - 1) / 2));
  const driver = new SteadyWorkload(o.workload, o.opsPerSecond, o.concurrency);
  await o.pause();
  driver.start();
  const slices: SliceFigures[] = [];
  const lat = { paused: [] as number[], active: [] as number[] };
  const samples: ThrottleSample[] = [];
  let errors = 0;
  let skipped = 0;
  try {
    for (let i = 0; i < 2 * pairs + 1; i++) {
      const kind = i % 2 === 0 ? 'paused' : 'active';
      if (kind === 'active') await o.resume();
      let stop = false;
      const waking =
        kind === 'active'
          ? (async () => {
              while (!stop) {
                await o.wake();
                await sleep(1000);
              }
            })()
          : Promise.resolve();
      await sleep(o.settleMs);
      driver.take();
      const before = await o.committed();
      await sleep(o.sliceMs - o.settleMs);
      if (kind === 'active') {
        // The pause takes effect at the window boundary: the window in flight finishes (no work is thrown away)
        // and its tail counts as active.
        stop = true;
        await waking;
        await o.pause();
      }
      const c = driver.take();
      const landed = (await o.committed()) - before;
      if (kind === 'active' && o.metrics) samples.push(await o.metrics().catch(() => emptySample()));
      for (const x of c.latenciesMs) lat[kind].push(x);
      errors += c.errors;
      skipped += c.skippedSlots;
      slices.push({
        kind,
        seconds: +c.seconds.toFixed(1),
        operations: c.operations,
        statementP50Ms: quantileMs(c.latenciesMs, 0.5),
        statementP95Ms: quantileMs(c.latenciesMs, 0.95),
        landedEvents: landed,
      });
    }
  } finally {
    await driver.stop();
    await o.resume();
  }
  const around: number[] = [];
  for (let i = 1; i < slices.length - 1; i += 2) {
    const a = slices[i - 1]!.statementP95Ms;
    const b = slices[i + 1]!.statementP95Ms;
    const x = slices[i]!.statementP95Ms;
    if (a !== null && b !== null && x !== null) around.push((x / ((a + b) / 2) - 1) * 100);
  }
  around.sort((a, b) => a - b);
  const active = slices.filter((s) => s.kind === 'active');
  const activeSeconds = active.reduce((n, s) => n + s.seconds, 0);
  const pausedP95Ms = quantileMs(lat.paused, 0.95);
  const activeP95Ms = quantileMs(lat.active, 0.95);
  return {
    slices,
    pausedP50Ms: quantileMs(lat.paused, 0.5),
    pausedP95Ms,
    activeP50Ms: quantileMs(lat.active, 0.5),
    activeP95Ms,
    activeVsPausedP95Percent: pct(activeP95Ms, pausedP95Ms),
    medianSliceVsAroundPercent: around.length ? +around[Math.floor(around.length / 2)]!.toFixed(1) : null,
    landedPerActiveSecond: activeSeconds
      ? Math.round(active.reduce((n, s) => n + s.landedEvents, 0) / activeSeconds)
      : 0,
    errors,
    skippedSlots: skipped,
    ...(o.metrics
      ? {
          throttle: {
            capsRowsPerSecond: samples.map((s) => s.rowsPerSecond),
            backoffs: samples.at(-1)?.backoffs ?? null,
            samples,
          },
        }
      : {}),
  };
}

function emptySample(): ThrottleSample {
  return { rowsPerSecond: null, backoffs: null, backoffWaitSeconds: null, rateWaitSeconds: null };
}

/** Reads ClaimLines' throttle series from a worker's `/metrics` (Prometheus text). */
export function throttleMetricsOf(port: number, table = 'Claims.dbo.ClaimLines'): () => Promise<ThrottleSample> {
  return async () => {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const value = (name: string, extra = '') => {
      for (const line of text.split('\n')) {
        if (!line.startsWith(`${name}{`) || !line.includes(`table="${table}"`) || !line.includes(extra)) continue;
        const v = Number(line.slice(line.lastIndexOf(' ') + 1));
        if (Number.isFinite(v)) return v;
      }
      return null;
    };
    return {
      rowsPerSecond: value('tidemark_throttle_rows_per_second', 'reads="window"'),
      backoffs: value('tidemark_throttle_backoffs_total'),
      backoffWaitSeconds: value('tidemark_throttle_wait_seconds_total', 'reason="backoff"'),
      rateWaitSeconds: value('tidemark_throttle_wait_seconds_total', 'reason="rate"'),
    };
  };
}

/** One decision of a table's latency back-off, as the worker logs it at debug level (src/worker.ts). */
export interface BackoffDecisionLine {
  at: string;
  table: string;
  decision: string;
  fromRowsPerSecond: number;
  toRowsPerSecond: number;
  medianMs: number;
  limitMs: number;
  baselineMs: number;
}

/** Per rate band (the cap in force, by powers of two): how often a decision found the probe over its limit. */
export interface BackoffBand {
  rowsPerSecondFrom: number;
  rowsPerSecondTo: number;
  decisions: number;
  overLimit: number;
  /** Decisions whose probe median was under half the baseline (the law reads a baseline taken in a stall). */
  farBelow: number;
  /** Median over the band's decisions of (probe median ÷ baseline − 1), percent. */
  medianIncreasePercent: number;
}

/** The back-off decisions of `table` in a worker's log file, and their summary by rate band. */
export function backoffDecisionsOf(
  logText: string,
  table = 'dbo.ClaimLines',
): { decisions: BackoffDecisionLine[]; bands: BackoffBand[] } {
  const decisions: BackoffDecisionLine[] = [];
  for (const line of logText.split('\n')) {
    if (!line.includes('latency back-off decision')) continue;
    try {
      const j = JSON.parse(line) as Record<string, unknown>;
      if (j.backoffTable !== table) continue;
      decisions.push({
        at: String(j.time),
        table,
        decision: String(j.decision),
        fromRowsPerSecond: Number(j.fromRowsPerSecond),
        toRowsPerSecond: Number(j.toRowsPerSecond),
        medianMs: Number(j.medianMs),
        limitMs: Number(j.limitMs),
        baselineMs: Number(j.baselineMs),
      });
    } catch {
      // not a JSON line
    }
  }
  const byBand = new Map<number, BackoffDecisionLine[]>();
  for (const d of decisions) {
    const band = 2 ** Math.floor(Math.log2(Math.max(1, d.fromRowsPerSecond)));
    byBand.set(band, [...(byBand.get(band) ?? []), d]);
  }
  const bands = [...byBand.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([band, ds]) => {
      const inc = ds.map((d) => (d.medianMs / d.baselineMs - 1) * 100).sort((a, b) => a - b);
      return {
        rowsPerSecondFrom: band,
        rowsPerSecondTo: band * 2 - 1,
        decisions: ds.length,
        overLimit: ds.filter((d) => d.medianMs > d.limitMs).length,
        farBelow: ds.filter((d) => d.medianMs < d.baselineMs / 2).length,
        medianIncreasePercent: +inc[Math.floor(inc.length / 2)]!.toFixed(1),
      };
    });
  return { decisions, bands };
}
