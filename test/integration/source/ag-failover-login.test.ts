/**
 * A login during an availability-group failover (both replicas RESOLVING) fails with error 983, which tedious
 * hands over as a login failure (code ELOGIN) without the error number. It is transient: the failover settles in
 * seconds. Found by the chaos run (seed 42): classified as a permanent "login failed: check source.auth", it
 * stopped dbo.Claims after an AG failover. Real simulator, real driver.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import sql from 'mssql';
import { SIM_CREDENTIALS, startSimulator, type Simulator } from '../../../sim/index.js';
import { transientReason, withTransientRetry } from '../../../src/source/transient.js';

let sim: Simulator;

before(async () => {
  sim = await startSimulator({ port: 0, secondary: { redoLagMs: 0 } });
});

after(async () => {
  await sim?.stop();
});

const pool = () =>
  new sql.ConnectionPool({
    server: sim.host,
    port: sim.port,
    user: SIM_CREDENTIALS.extractor.user,
    password: SIM_CREDENTIALS.extractor.password,
    database: 'Claims',
    options: { encrypt: false },
  });

test('a login refused with 983 during a failover is transient, and a retried connect succeeds once it settles', async () => {
  const settled = sim.faults.failover({ resolvingMs: 2500 });
  const refused = await pool()
    .connect()
    .then(
      (p) => p.close().then(() => undefined),
      (err: unknown) => err,
    );
  assert.ok(refused, 'the login during RESOLVING was refused');
  assert.match(String(transientReason(refused)), /983/);

  const p = await withTransientRetry('connect', () => pool().connect(), {
    attempts: 8,
    initialDelayMs: 500,
    maxDelayMs: 2000,
  });
  await p.close();
  await settled;
});

test('a login refused for a wrong password stays permanent', async () => {
  const err = await new sql.ConnectionPool({
    server: sim.host,
    port: sim.port,
    user: SIM_CREDENTIALS.extractor.user,
    password: 'not-the-password',
    database: 'Claims',
    options: { encrypt: false },
  })
    .connect()
    .then(
      () => undefined,
      (e: unknown) => e,
    );
  assert.ok(err);
  assert.equal(transientReason(err), undefined);
});
