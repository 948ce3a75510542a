/**
 * The short chaos run (issue 18): `npm run chaos` with a fixed seed and 12 faults of every kind (worker SIGKILL
 * and SIGTERM, SQL connection reset mid-result, statement stall, AG failover, Azurite restart, Temporal restart,
 * CDC cleanup overtaking a paused table, storage connections reset or delayed by a proxy, a dropped capture
 * instance) on its own restartable stack, one table per capture strategy, then quiescence and the checks: lake ==
 * source, no duplicate (key, position), files present with their MD5, manifest chain unbroken, watermark never
 * ahead, no table stopped (except the dropped capture instance's stop, which its table must get over). Any
 * finding fails the test, with the findings and the seed that reproduces the schedule in the message.
 *
 * The runner starts its own Azurite (on disk) and Temporal dev server (on a db file) because it restarts them;
 * the test command's shared in-memory ones are not used here.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runChaos } from '../../scripts/chaos/runner.js';
import { FAULT_KINDS } from '../../scripts/chaos/schedule.js';

const SEED = 18;
const FAULTS = 12;

test(`short chaos run (seed ${SEED}, ${FAULTS} faults): nothing lost, nothing doubled, no table stopped`, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tidemark-chaos-'));
  try {
    const report = await runChaos({
      seed: SEED,
      faults: FAULTS,
      chaosMs: 100_000,
      runDir: join(dir, 'run'),
      reportFile: join(dir, `${SEED}.json`),
      say: (line) => process.stdout.write(`# ${line}\n`),
    });
    assert.deepEqual(new Set(report.schedule.map((f) => f.kind)), new Set(FAULT_KINDS), 'every fault kind scheduled');
    const injected = report.outcomes.filter((o) => o.injected);
    assert.ok(
      injected.length >= 10,
      `at least 10 faults injected: ${JSON.stringify(report.outcomes.filter((o) => !o.injected))}`,
    );
    assert.deepEqual(
      report.findings.filter((f) => !f.ok),
      [],
      `seed ${SEED}: the checks found something (rerun: npm run chaos -- --seed ${SEED} --faults ${FAULTS} --chaos-seconds 100)`,
    );
    assert.equal(report.survived, injected.length);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
