/**
 * The claims workload against the simulator: tables, CDC instances rotating as columns are added, the
 * widening, long transactions, and CDC net changes that agree with the source tables (the truth).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import sql from 'mssql';
import { SIM_CREDENTIALS, startSimulator, type Simulator } from '../../../sim/index.js';
import { ClaimsWorkload } from '../../../sim/workload/index.js';

let sim: Simulator;
let pool: sql.ConnectionPool;

before(async () => {
  sim = await startSimulator({ port: 0, cdc: { autoStart: false } });
  pool = await new sql.ConnectionPool({
    server: sim.host,
    port: sim.port,
    user: SIM_CREDENTIALS.admin.user,
    password: SIM_CREDENTIALS.admin.password,
    database: 'Claims',
    pool: { max: 4, min: 0 },
    options: { encrypt: false },
  }).connect();
});

after(async () => {
  await pool?.close();
  await sim?.stop();
});

test('the workload is seeded, logs what it did, rotates capture instances and agrees with CDC', async () => {
  const w = new ClaimsWorkload(pool, { seed: 11, rate: 0, longTransactionMs: 100, addColumnAt: [40, 90], widenAt: 60 });
  await w.setup();
  assert.deepEqual(w.warnings, []);
  await pool.request().batch('EXEC sim.run_cdc_capture');
  await w.run({ operations: 140 });
  await w.drain();
  await pool.request().batch('EXEC sim.run_cdc_capture');
  const ops = new Set(w.log.map((e) => e.op));
  for (const op of [
    'insertClaim',
    'repriceLine',
    'addColumn',
    'widenColumn',
    'beginLongTransaction',
    'commitLongTransaction',
  ])
    assert.ok(ops.has(op), op);
  assert.deepEqual(w.claimLinesCaptureInstances, ['dbo_ClaimLines_v2', 'dbo_ClaimLines_v3']);
  const cols = await pool.request().query(`SELECT name FROM sys.columns WHERE object_id = OBJECT_ID('dbo.ClaimLines')`);
  const names = (cols.recordset as { name: string }[]).map((c) => c.name);
  assert.ok(names.length >= 29 && names.includes('NetworkTier') && names.includes('PriorAuthNumber'));
  // CDC net changes of dbo.Claims since enable = the table's rows (every claim was inserted after enabling).
  const net = await pool.request().query(
    `DECLARE @f binary(10) = sys.fn_cdc_get_min_lsn('dbo_Claims'), @t binary(10) = sys.fn_cdc_get_max_lsn();
     SELECT ClaimId, ClaimStatus FROM cdc.fn_cdc_get_net_changes_dbo_Claims(@f, @t, N'all') WHERE __$operation <> 1 ORDER BY ClaimId`,
  );
  const truth = await pool.request().query('SELECT ClaimId, ClaimStatus FROM dbo.Claims ORDER BY ClaimId');
  assert.deepEqual(net.recordset, truth.recordset);
  // Change Tracking on dbo.Providers sees every provider inserted since it was enabled.
  const ct = await pool.request().query('SELECT COUNT(*) AS n FROM CHANGETABLE(CHANGES dbo.Providers, 0) AS c');
  const providers = await pool.request().query('SELECT COUNT(*) AS n FROM dbo.Providers');
  assert.deepEqual(ct.recordset, providers.recordset);
  // The least-privilege extractor login can read every strategy's source after the workload's grants.
  const ext = await new sql.ConnectionPool({
    server: sim.host,
    port: sim.port,
    user: SIM_CREDENTIALS.extractor.user,
    password: SIM_CREDENTIALS.extractor.password,
    database: 'Claims',
    options: { encrypt: false },
  }).connect();
  try {
    const r = await ext.request().query(
      `SELECT (SELECT COUNT(*) FROM CHANGETABLE(CHANGES dbo.Providers, 0) AS c) AS ct,
              (SELECT COUNT(*) FROM cdc.fn_cdc_get_net_changes_dbo_Claims(sys.fn_cdc_get_min_lsn('dbo_Claims'), sys.fn_cdc_get_max_lsn(), N'all')) AS cdc,
              (SELECT COUNT(*) FROM sys.dm_cdc_log_scan_sessions) AS scans`,
    );
    const row = r.recordset[0] as { ct: number; cdc: number; scans: number };
    assert.ok(row.ct > 0 && row.cdc > 0 && row.scans > 0);
  } finally {
    await ext.close();
  }
});

test('the same seed makes the same operations', async () => {
  const run = async (): Promise<string[]> => {
    const s = await startSimulator({ port: 0, cdc: { autoStart: false } });
    const p = await new sql.ConnectionPool({
      server: s.host,
      port: s.port,
      user: SIM_CREDENTIALS.admin.user,
      password: SIM_CREDENTIALS.admin.password,
      database: 'Claims',
      options: { encrypt: false },
    }).connect();
    try {
      const w = new ClaimsWorkload(p, { seed: 5, rate: 0, longTransactionMs: 10 });
      await w.setup();
      await w.run({ operations: 60 });
      await w.drain();
      // Commits of long transactions land whenever their timers fire: compare the operations chosen.
      return w.log.filter((e) => e.op !== 'commitLongTransaction').map((e) => `${e.op}:${(e.keys ?? []).join(',')}`);
    } finally {
      await p.close();
      await s.stop();
    }
  };
  assert.deepEqual(await run(), await run());
});

test('claims per statement: batched inserts, updates and re-pricings write what the log counts', async () => {
  const s = await startSimulator({ port: 0, cdc: { autoStart: false } });
  const p = await new sql.ConnectionPool({
    server: s.host,
    port: s.port,
    user: SIM_CREDENTIALS.admin.user,
    password: SIM_CREDENTIALS.admin.password,
    database: 'Claims',
    pool: { max: 4, min: 0 },
    options: { encrypt: false },
  }).connect();
  try {
    // Weights such that 60 operations all but surely hold each kind (at 5% an update was missing in ~5% of runs:
    // 0.95^60, and two concurrent runs make the draws' order vary); 20% leaves ~1.5e-6.
    const mix = { insertClaim: 60, updateClaim: 20, repriceLine: 20, deleteClaim: 0, upsertProvider: 0 };
    const w = new ClaimsWorkload(p, {
      seed: 3,
      rate: 0,
      mix: { ...mix, payment: 0, note: 0, eligibility: 0, longTransaction: 0 },
      addColumnAt: [],
      widenAt: Number.MAX_SAFE_INTEGER,
      enableChangeTracking: false,
      claimsPerStatement: 20,
    });
    await w.setup();
    // Two sessions at once, as the sustained-load bench runs them.
    await Promise.all([w.run({ operations: 30 }), w.run({ operations: 30 })]);
    await p.request().batch('EXEC sim.run_cdc_capture');
    const inserts = w.log.filter((e) => e.op === 'insertClaim');
    const reprices = w.log.filter((e) => e.op === 'repriceClaims');
    const updates = w.log.filter((e) => e.op === 'updateClaims');
    assert.ok(inserts.length >= 20 * 20 && reprices.length > 0 && updates.length > 0, 'the mix ran batched');
    assert.equal(new Set(inserts.map((e) => e.keys?.[0])).size, inserts.length, 'one claim id per inserted claim');
    // Every claim logged is in dbo.Claims with exactly the lines the log says, each under its own claim id.
    const lines = await p
      .request()
      .query(
        'SELECT c.ClaimId, COUNT(l.LineNumber) AS n FROM dbo.Claims c LEFT JOIN dbo.ClaimLines l ON l.ClaimId = c.ClaimId GROUP BY c.ClaimId',
      );
    const truth = new Map((lines.recordset as { ClaimId: string; n: number }[]).map((r) => [Number(r.ClaimId), r.n]));
    assert.equal(truth.size, inserts.length);
    for (const e of inserts)
      assert.equal(truth.get(Number(e.keys?.[0])), Number(/^(\d+) lines/.exec(e.detail ?? '')?.[1]));
    // A batched re-pricing changes every line of its claims, and logs that many.
    for (const e of reprices) {
      const expected = (e.keys ?? []).reduce((a: number, k) => a + (truth.get(Number(k)) ?? 0), 0);
      assert.equal(Number(/^(\d+) lines/.exec(e.detail ?? '')?.[1]), expected);
    }
    const changes = await p.request().query(
      `SELECT (SELECT COUNT(*) FROM cdc.dbo_ClaimLines_CT WHERE __$operation = 4) AS lineUpdates,
              (SELECT COUNT(*) FROM cdc.dbo_Claims_CT WHERE __$operation = 4) AS claimUpdates`,
    );
    const c = changes.recordset[0] as { lineUpdates: number; claimUpdates: number };
    const count = (es: typeof reprices) => es.reduce((a, e) => a + Number(/^(\d+) /.exec(e.detail ?? '')?.[1]), 0);
    assert.equal(c.lineUpdates, count(reprices));
    assert.equal(c.claimUpdates, count(updates));
  } finally {
    await p.close();
    await s.stop();
  }
});

test('claims per statement outside 1–200 is refused with what to do', () => {
  assert.throws(
    () => new ClaimsWorkload(pool, { seed: 1, claimsPerStatement: 500 }),
    /claimsPerStatement must be a whole number from 1 to 200/,
  );
});
