/**
 * `npm run bench:observability [-- --rows 20000 --rounds 3]`: what metrics and data-quality receipts cost one
 * window, as a ratio measured in one process on the same window. The simulator's dbo.Claims (CDC) gets one
 * transaction updating `--rows` rows; its window is planned once, then extracted and validated repeatedly,
 * alternating (ABAB…) between
 *   - plain: the activities as tests run them (no metrics, no control totals);
 *   - metered: the same activities metered into a worker's registry (src/activities/metered.ts), nothing else;
 *   - observed: metered, plus the manifest's
 *     control totals over TotalBilled and TotalPaid, and the source check on every window (`sourceCheckEvery: 1`,
 *     the most expensive setting: the window's change rows are read a second time).
 * Nothing is committed (the same window is staged again under new attempt ids). Figures, not assertions; the
 * machine may be shared, so only the ratio means something. Results on stdout.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { activityMeter, buildDependencies, createActivities, type ActivityDeps } from '../src/activities/index.js';
import type { TableRef } from '../src/domain/table.js';
import { createLogger } from '../src/util/logger.js';
import { workerMetricsOf } from '../src/worker.js';
import { azuriteForTests } from '../test/support/stack.js';
import { runJob } from '../test/support/activity-sync.js';
import { pipelineConfig, startClaimsSource } from '../scripts/demo/harness.js';

const { values } = parseArgs({
  options: { rows: { type: 'string', default: '20000' }, rounds: { type: 'string', default: '3' } },
});
const ROWS = Number(values.rows);
const ROUNDS = Number(values.rounds);
const say = (l: string) => process.stdout.write(`${l}\n`);
const TABLE: TableRef = { id: 'Claims.dbo.Claims', strategy: 'cdc' };

async function depsFor(port: number, quality: string | undefined): Promise<ActivityDeps> {
  const { config } = pipelineConfig({
    sourcePort: port,
    azuriteConnectionString: await azuriteForTests(),
    temporalAddress: '127.0.0.1:1',
    taskQueue: 'bench-observability',
    container: `bench-obs-${randomBytes(4).toString('hex')}`,
    tables: [{ name: 'dbo.Claims', capture: '{ strategy: cdc }', ...(quality ? { quality } : {}) }],
  });
  return buildDependencies(config, createLogger({ name: 'bench', level: 'warn' }));
}

async function main(): Promise<void> {
  const source = await startClaimsSource({
    cdcPollMs: 200,
    workload: { rate: 0, longTransactionMs: 50, addColumnAt: [], widenAt: 1_000_000 },
  });
  try {
    say(`seeding ${ROWS} claims …`);
    await source.workload.run({ operations: Math.ceil(ROWS / 2) });
    await source.workload.drain();
    const plainDeps = await depsFor(source.sim.port, undefined);
    const observedDeps = await depsFor(
      source.sim.port,
      '{ controlTotals: [TotalBilled, TotalPaid], sourceCheckEvery: 1 }',
    );
    const metrics = workerMetricsOf(observedDeps.config, 'bench');
    const plain = createActivities(plainDeps);
    const metered = createActivities(
      plainDeps,
      activityMeter(workerMetricsOf(plainDeps.config, 'bench'), () => plainDeps.source.throttle.stats),
    );
    const observed = createActivities(
      observedDeps,
      activityMeter(metrics, () => observedDeps.source.throttle.stats),
    );
    // Both lakes get the snapshot; the window after it is the one measured.
    await runJob(plain, TABLE, { kind: 'snapshot', reason: 'bench' }, 100_000);
    await runJob(observed, TABLE, { kind: 'snapshot', reason: 'bench' }, 100_000);
    await source.admin.request().batch(`UPDATE TOP (${ROWS}) dbo.Claims SET ClaimStatus = 'repriced'`);
    await sleep(3000); // the capture job harvests the burst
    const mark = await plain.readWatermark({ table: TABLE });
    const plan = await plain.planWindow({ table: TABLE, lastPosition: mark.position, seq: mark.lastSeq + 1 });
    if (!plan.window) throw new Error('no window planned after the burst');
    const window = plan.window;
    const times: Record<'plain' | 'metered' | 'observed', number[]> = { plain: [], metered: [], observed: [] };
    let rows = 0;
    let receiptRows = 0;
    for (let round = 1; round <= ROUNDS; round++)
      for (const variant of ['plain', 'metered', 'observed'] as const) {
        const acts = variant === 'plain' ? plain : variant === 'metered' ? metered : observed;
        const t0 = performance.now();
        const extract = await acts.extractWindow({ table: TABLE, window, attempt: round });
        const v = await acts.validateWindow({ table: TABLE, window, extract });
        times[variant].push(performance.now() - t0);
        rows = extract.rows;
        if (v.sourceRowsRead !== undefined) receiptRows = v.sourceRowsRead;
        say(`  round ${round} ${variant}: ${rows} events in ${(times[variant].at(-1)! / 1000).toFixed(2)}s`);
      }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const p = median(times.plain);
    const o = median(times.observed);
    const m = median(times.metered);
    say('');
    say(`window of ${rows} events (extract + validate), median of ${ROUNDS} alternating rounds:`);
    say(`  plain:    ${(p / 1000).toFixed(2)}s`);
    say(`  metered:  ${(m / 1000).toFixed(2)}s  (metrics only)  ratio ${(m / p).toFixed(2)}`);
    say(
      `  observed: ${(o / 1000).toFixed(2)}s  (metrics + receipt, source check on every window)  ratio ${(o / p).toFixed(2)}`,
    );
    say(`  source rows read by the receipt: ${receiptRows} (the window's ${rows} events read a second time)`);
    await plainDeps.close();
    await observedDeps.close();
  } finally {
    await source.stop();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
