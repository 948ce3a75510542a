/**
 * Where the driver's ASCII varchar shortcut (src/source/varchar-decode.ts) — and its datetime2/date shortcut
 * (src/source/date-decode.ts) — is installed: once, when a worker
 * starts (src/worker.ts, test/integration/worker/worker-messages.test.ts checks it there), not when a source
 * connection opens — a process that only opens connections (a CLI verb, a benchmark whose raw baseline must be
 * the plain driver) keeps tedious's own decode. Against the simulator over TCP; this file runs in its own process.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startSimulator, type Simulator } from '../../../sim/index.js';
import { simSourceConfig } from '../../support/source-sim.js';
import { createSecretProvider } from '../../../src/config/secret-provider.js';
import { SourceConnection, fastDateDecodeInstalled, fastVarcharDecodeInstalled } from '../../../src/source/index.js';

let sim: Simulator;
before(async () => {
  sim = await startSimulator({ port: 0 });
});
after(() => sim?.stop());

test('opening a source connection and reading varchar values leaves the driver unpatched', async () => {
  const conn = await SourceConnection.open(simSourceConfig(sim), { secrets: createSecretProvider() });
  try {
    const rows = await conn.query<{ v: string }>('test.varchar', "SELECT CAST('E11.9' AS varchar(10)) AS v");
    assert.equal(rows[0]?.v, 'E11.9');
    // Before: SourceConnection.open installed the shortcut for the whole process.
    assert.equal(fastVarcharDecodeInstalled(), false, "the driver's decode is its own");
    assert.equal(fastDateDecodeInstalled(), false, "the driver's datetime2/date reader is its own");
  } finally {
    await conn.close();
  }
});
