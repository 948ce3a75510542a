/**
 * The application-latency back-off against the simulator (real TDS, real mssql, the probe in its own thread on its
 * own connection): a baseline taken while Tidemark reads nothing, then a read of dbo.ClaimLines under a table cap;
 * when the source gets slower (sim/faults: every SELECT stalled 100 ms — the probe's round trip, as the
 * application's statements, slows), the table's rows/s cap is halved and the connection's throttle counts the
 * back-offs (what tidemark_throttle_backoffs_total reports); when the fault is lifted the cap climbs back.
 * The threshold is 100%, not 5%: this simulator runs in the test's own process, on the event loop that also
 * decodes the read, so on a loaded machine the read alone moves the probe by tens of percent; the test is about
 * the fault, which moves it by far more.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { SIM_CREDENTIALS } from '../../../sim/index.js';
import type { TableConfig } from '../../../src/config/types.js';
import { durationOf } from '../../../src/config/duration.js';
import type { SourceConnection } from '../../../src/source/connection.js';
import { tableRowLimiter } from '../../../src/source/index.js';
import { startSourceSim, type SourceSim } from '../../support/source-sim.js';
import { eventually } from '../../support/eventually.js';

let s: SourceSim;
let conn: SourceConnection;

before(async () => {
  s = await startSourceSim({ seed: 3, seedRows: 60_000 });
  conn = await s.connect();
  conn.useProbeTarget({
    pool: {
      server: s.sim.host,
      port: s.sim.port,
      user: SIM_CREDENTIALS.admin.user,
      password: SIM_CREDENTIALS.admin.password,
      database: 'Claims',
      options: { encrypt: false, trustServerCertificate: true, appName: 'tidemark' },
    },
  });
});
after(() => s?.stop());

/** Waits until `check` stops throwing (15 s at most; then its last error). */
const until = (check: () => void) =>
  eventually(() => {
    check();
    return Promise.resolve();
  }, 15_000);

// Low enough that the read itself hardly loads the in-process simulator: the back-offs come from the fault.
const CAP = 500;
const table = {
  schema: 'dbo',
  table: 'ClaimLines',
  limits: {
    maxRowsPerSecond: CAP,
    latencyBackoff: { maxIncreasePercent: 100, probe: 'SELECT 1', probeInterval: durationOf(100) },
  },
} as unknown as TableConfig;

test('the cap halves when the source slows during a read, is counted, and climbs back when it recovers', async (t) => {
  const limiter = tableRowLimiter(conn, table);
  const monitor = conn.latencyMonitors()[0];
  assert.ok(monitor, 'a table with latencyBackoff starts a monitor on its connection');
  assert.ok(conn.throttle.pacedByApplicationBackoff, "the monitor, not the throttle's own 3x rule, paces the reads");
  const backoffsBefore = conn.throttle.stats.backoffs;
  let rows = 0;
  let stop = false;
  const read = (async () => {
    for await (const b of conn.stream('read ClaimLines', 'SELECT * FROM dbo.ClaimLines', [], {
      rowLimiter: limiter,
      batchRows: 200,
    })) {
      rows += b.rows.length;
      if (stop) break;
    }
  })();
  try {
    // Before the read's rows flow, the monitor holds them for a baseline (no baseline yet).
    await until(() => assert.ok(monitor.baselineMs() !== undefined, 'a baseline'));
    assert.ok(monitor.stats.holds >= 1, 'the reads were held for the baseline');
    const baseline = monitor.baselineMs()!;
    t.diagnostic(`baseline ${baseline.toFixed(2)} ms`);
    // Calm: the source is as fast as at the baseline, the cap stays (the probe's noise on this shared machine may
    // trip a decision now and then; what matters is the contrast with the fault below).
    await new Promise((r) => setTimeout(r, 1_500));
    const calmBackoffs = conn.throttle.stats.backoffs - backoffsBefore;
    const atFault = { backoffs: conn.throttle.stats.backoffs, cap: limiter.stats.currentRowsPerSecond };
    const fault = s.sim.faults.stall({ match: { text: 'SELECT' }, ms: 100, times: 'always' });
    try {
      // Halved at least twice by the fault (from wherever the calm phase left it).
      await until(() => {
        assert.ok(conn.throttle.stats.backoffs - atFault.backoffs >= 2, 'two back-offs under the fault');
        assert.ok(limiter.stats.currentRowsPerSecond <= Math.max(100, atFault.cap / 4), 'the cap halved twice');
      });
    } finally {
      fault.cancel();
    }
    const { law } = conn.tableBackoff(
      'dbo.ClaimLines',
      { statement: 'SELECT 1', intervalMs: 100 },
      { maxRowsPerSecond: CAP, maxIncreasePercent: 100 },
    )!;
    t.diagnostic(
      `calm back-offs ${calmBackoffs}; with the fault: cap ${limiter.stats.currentRowsPerSecond} rows/s, ` +
        `${law.stats.backoffs} back-offs, lowest ${law.stats.lowestRowsPerSecond}`,
    );
    const lowest = limiter.stats.currentRowsPerSecond;
    // Lifted: the cap climbs back (toward the rate that held, then probing above it: src/source/latency-backoff.ts).
    await until(() => assert.ok(limiter.stats.currentRowsPerSecond > lowest, 'climbing back'));
  } finally {
    // Whatever failed, the read ends (it would go on at the floor's rate for minutes and keep the test alive).
    stop = true;
    await read;
  }
  assert.ok(rows > 0);
  assert.ok(conn.throttle.stats.backoffWaitMs > 0, 'the hold for the baseline counts as back-off wait');
});
