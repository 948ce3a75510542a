/**
 * The simulator's fault hooks (sim/faults), each shown through the real `mssql` driver over TCP: what a client
 * sees is the proof that the fault is real (a reset arrives as ECONNRESET in the middle of a result, a stalled
 * statement returns only after its release, error numbers come from SQL Server's list).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import sql from 'mssql';
import { SIM_CREDENTIALS, startSimulator, type Simulator } from '../../../sim/index.js';

const ROWS = 20_000;
let sim: Simulator;
const pools: sql.ConnectionPool[] = [];

before(async () => {
  sim = await startSimulator({ port: 0, seed: 7, seedRows: ROWS, cdc: { autoStart: false } });
});

after(async () => {
  for (const p of pools) await p.close().catch(() => undefined);
  await sim?.stop();
});

async function connect(
  appName: string,
  opts: {
    port?: number;
    database?: string;
    readOnlyIntent?: boolean;
    requestTimeout?: number;
    target?: Simulator;
  } = {},
): Promise<sql.ConnectionPool> {
  const s = opts.target ?? sim;
  const pool = new sql.ConnectionPool({
    server: s.host,
    port: opts.port ?? s.port,
    user: SIM_CREDENTIALS.admin.user,
    password: SIM_CREDENTIALS.admin.password,
    database: opts.database ?? 'Claims',
    pool: { max: 1, min: 0 },
    requestTimeout: opts.requestTimeout ?? 15_000,
    options: {
      encrypt: false,
      trustServerCertificate: true,
      appName,
      ...(opts.readOnlyIntent ? { readOnlyIntent: true } : {}),
    },
  });
  pools.push(pool);
  return pool.connect();
}

type StreamError = Error & { code?: string };

/** Streams a query, counting rows as they arrive; resolves at the end or at the first error. */
function stream(
  pool: sql.ConnectionPool,
  text: string,
): { done: Promise<{ rows: number; error?: StreamError }>; rows(): number } {
  const req = pool.request();
  req.stream = true;
  let rows = 0;
  const done = new Promise<{ rows: number; error?: StreamError }>((resolve) => {
    req.on('row', () => rows++);
    req.on('error', (error: StreamError) => resolve({ rows, error }));
    req.on('done', () => resolve({ rows }));
  });
  void req.query(text);
  return { done, rows: () => rows };
}

const ALL_LINES = 'SELECT * FROM dbo.ClaimLines ORDER BY claim_line_id';

test('resetConnection afterRows: a streamed SELECT fails with ECONNRESET after about N rows; the pool recovers', async () => {
  const pool = await connect('fault-rows');
  const fault = sim.faults.resetConnection({
    match: { appName: 'fault-rows', text: 'FROM dbo.ClaimLines' },
    afterRows: 5000,
  });
  const { rows, error } = await stream(pool, ALL_LINES).done;
  assert.equal(error?.code, 'ECONNRESET', 'the connection was reset mid-result');
  // The server sent whole packets up to the 5000th row, then the RST; what the kernel still held for the client
  // when the RST went out is lost, as with a real server that drops the session.
  assert.ok(rows > 0 && rows <= 5000, `rows before the reset: ${rows}`);
  assert.equal(fault.status().fired, 1);
  assert.equal(fault.status().remaining, 0, 'spent after one firing');
  const again = await stream(pool, ALL_LINES).done;
  assert.equal(again.error, undefined, 'the pool reconnected; the spent fault does not fire again');
  assert.equal(again.rows, ROWS);
});

test('resetConnection afterBytes resets once the response has that many bytes', async () => {
  const pool = await connect('fault-bytes');
  sim.faults.resetConnection({ match: { appName: 'fault-bytes' }, afterBytes: 256 * 1024 });
  const { rows, error } = await stream(pool, ALL_LINES).done;
  assert.equal(error?.code, 'ECONNRESET');
  assert.ok(rows > 0 && rows < ROWS, `rows before the reset: ${rows}`);
});

test('resetConnection without a row count: the INSERT commits but its client only sees the reset', async () => {
  const pool = await connect('fault-commit');
  const observer = await connect('fault-commit-observer');
  await observer.request().batch('CREATE TABLE dbo.ResetAfterCommit (id int NOT NULL PRIMARY KEY)');
  sim.faults.resetConnection({ match: { appName: 'fault-commit', text: 'INSERT INTO dbo.ResetAfterCommit' } });
  await assert.rejects(
    pool.request().query('INSERT INTO dbo.ResetAfterCommit VALUES (1)'),
    (e: StreamError) => e.code === 'ECONNRESET',
  );
  const r = await observer.request().query('SELECT id FROM dbo.ResetAfterCommit');
  assert.deepEqual(r.recordset, [{ id: 1 }], 'the write is there: retrying it blindly would duplicate it');
});

test('killConnections resets the matching connections now; connections() lists the live ones', async () => {
  await connect('fault-kill');
  const mine = () => sim.faults.connections().filter((c) => c.appName === 'fault-kill');
  assert.equal(mine().length, 1);
  assert.equal(mine()[0]?.endpoint, 'primary');
  assert.equal(sim.faults.killConnections({ appName: 'fault-kill' }), 1);
  assert.equal(mine().length, 0);
  assert.throws(() => sim.faults.killConnections({ text: 'x' }), /not statement text/);
});

test('stall until released: the statement returns only after release; other sessions read and write the same rows meanwhile', async () => {
  const pool = await connect('fault-stall');
  const other = await connect('fault-stall-other');
  await other
    .request()
    .batch(
      'CREATE TABLE dbo.Stalled (id int NOT NULL PRIMARY KEY, v int NOT NULL); INSERT INTO dbo.Stalled VALUES (1, 1)',
    );
  const fault = sim.faults.stall({ match: { appName: 'fault-stall', text: 'FROM dbo.Stalled' } });
  let returned = false;
  const held = pool
    .request()
    .query('SELECT v FROM dbo.Stalled WHERE id = 1')
    .then((r) => {
      returned = true;
      return r;
    });
  await fault.fired();
  assert.equal(fault.status().waiting, 1);
  await other.request().batch('UPDATE dbo.Stalled SET v = 2 WHERE id = 1');
  assert.deepEqual((await other.request().query('SELECT v FROM dbo.Stalled')).recordset, [{ v: 2 }]);
  await sleep(200);
  assert.equal(returned, false, 'still held');
  assert.equal(fault.release(), 1);
  const r = await held;
  assert.deepEqual(r.recordset, [{ v: 2 }], 'it ran after the release (it read the update made meanwhile)');
  assert.equal(fault.status().waiting, 0);
});

test('stall for ms returns after the time; a client timeout cancels a stalled statement', async () => {
  const pool = await connect('fault-stall-ms');
  sim.faults.stall({ match: { appName: 'fault-stall-ms', text: 'SELECT 41' }, ms: 300 });
  const t0 = Date.now();
  const r = await pool.request().query('SELECT 41 AS x');
  assert.ok(Date.now() - t0 >= 290, 'held for its time');
  assert.deepEqual(r.recordset, [{ x: 41 }]);

  const short = await connect('fault-stall-timeout', { requestTimeout: 300 });
  // A text match: without one the stall would also hold mssql's pool validation (SELECT 1).
  const forever = sim.faults.stall({ match: { appName: 'fault-stall-timeout', text: 'SELECT 42' } });
  await assert.rejects(short.request().query('SELECT 42 AS x'), (e: { code?: string }) => e.code === 'ETIMEOUT');
  assert.equal(forever.status().waiting, 0, 'ATTENTION ended the wait');
  forever.cancel();
  assert.deepEqual((await short.request().query('SELECT 43 AS x')).recordset, [{ x: 43 }]);
});

test('stall afterRows: the client has the first N rows and waits; after the release the rest arrives', async () => {
  const pool = await connect('fault-stall-rows');
  const fault = sim.faults.stall({ match: { appName: 'fault-stall-rows' }, afterRows: 3000 });
  const s = stream(pool, ALL_LINES);
  await fault.fired();
  // The rows flushed before the pause reach the client however slowly it reads (the machine may be busy).
  for (const t0 = Date.now(); s.rows() < 2900 && Date.now() - t0 < 30_000;) await sleep(20);
  await sleep(300);
  const seen = s.rows();
  assert.ok(seen > 2900 && seen <= 3000, `rows delivered before the pause: ${seen}`);
  await sleep(200);
  assert.equal(s.rows(), seen, 'nothing more while held');
  fault.release();
  const { rows, error } = await s.done;
  assert.equal(error, undefined);
  assert.equal(rows, ROWS);
});

test('fault requests are checked: a match is required, counts are positive', () => {
  assert.throws(() => sim.faults.stall({ match: {} }), /at least one of match/);
  assert.throws(() => sim.faults.resetConnection({ match: { appName: 'x' }, afterRows: 0 }), /afterRows must be/);
  assert.throws(() => sim.faults.resetConnection({ match: { appName: 'x' }, times: 0 }), /times must be/);
  assert.throws(() => sim.faults.status('nope'), /no fault nope/);
  assert.throws(() => sim.faults.agState(), /no availability group/);
});

test('CDC cleanup past an LSN: reading changes from below it raises 313; retention cleanup; dropping the capture instance gives 208', async () => {
  const pool = await connect('fault-cdc');
  await pool.request().batch('EXEC sys.sp_cdc_enable_db');
  await pool.request().batch('CREATE TABLE dbo.Captured (id int NOT NULL PRIMARY KEY, v int NULL)');
  await pool
    .request()
    .batch("EXEC sys.sp_cdc_enable_table @source_schema = N'dbo', @source_name = N'Captured', @role_name = NULL");
  // Apart in time (datetime ticks are 1/300 s), so the retention cleanup below can tell the commits apart.
  for (let i = 1; i <= 3; i++) {
    await pool.request().batch(`INSERT INTO dbo.Captured VALUES (${i}, ${i})`);
    await sleep(20);
  }
  await pool.request().batch('EXEC sys.sp_cdc_scan');
  const lsns = (
    await pool.request().query('SELECT DISTINCT __$start_lsn AS lsn FROM cdc.dbo_Captured_CT ORDER BY __$start_lsn')
  ).recordset.map((r: { lsn: Buffer }) => r.lsn);
  assert.equal(lsns.length, 3);
  const [first, second] = lsns as [Buffer, Buffer];
  const read = (from: Buffer) =>
    pool
      .request()
      .input('from', sql.VarBinary(10), from)
      .query(
        "SELECT id FROM cdc.fn_cdc_get_all_changes_dbo_Captured(@from, sys.fn_cdc_get_max_lsn(), N'all') ORDER BY id",
      );
  assert.equal((await read(first)).recordset.length, 3);

  const done = await sim.faults.cdcCleanup({ database: 'Claims', lowWaterMark: `0x${second.toString('hex')}` });
  assert.deepEqual(done.captureInstances, ['dbo_Captured']);
  await assert.rejects(
    read(first),
    (e: { number?: number }) => e.number === 313,
    'a saved position below min_lsn is lost',
  );
  assert.deepEqual((await read(second)).recordset, [{ id: 2 }, { id: 3 }]);

  await sim.faults.cdcCleanup({ database: 'Claims', captureInstance: 'dbo_Captured', retentionMinutes: 0 });
  const min = (await pool.request().query("SELECT sys.fn_cdc_get_min_lsn('dbo_Captured') AS m")).recordset[0] as {
    m: Buffer;
  };
  assert.ok(Buffer.compare(min.m, second) > 0, 'retention 0 moved min_lsn up to the newest entry');

  await sim.faults.dropCaptureInstance({ database: 'Claims', captureInstance: 'dbo_Captured' });
  await assert.rejects(read(second), (e: { number?: number }) => e.number === 208, 'the change function is gone');
  await assert.rejects(
    sim.faults.dropCaptureInstance({ database: 'Claims', captureInstance: 'dbo_Captured' }),
    /does not exist/,
  );
  await assert.rejects(sim.faults.cdcCleanup({ database: 'Claims', lowWaterMark: '0x01' }), /20 hex digits/);
});

test('failover: connections are reset, both replicas refuse with 983 while resolving, then the listener reaches the new primary and routes reads to the old one', async () => {
  const ag = await startSimulator({ port: 0, secondary: { redoLagMs: 0 } });
  try {
    const [a, b] = ag.ag?.replicas ?? [];
    assert.ok(a && b && ag.ag);
    assert.deepEqual(ag.ag.state(), {
      primary: 'A',
      secondary: 'B',
      phase: 'online',
      secondaryReadable: true,
      failovers: 0,
    });
    const rw = await connect('ag-rw', { target: ag });
    const ro = await connect('ag-ro', { target: ag, readOnlyIntent: true });
    await rw.request().batch('CREATE TABLE dbo.Failover (id int NOT NULL PRIMARY KEY)');
    await rw.request().batch('INSERT INTO dbo.Failover VALUES (1)');
    const where = (app: string) => ag.faults.connections().find((c) => c.appName === app)?.endpoint;
    const updateability = async (p: sql.ConnectionPool) =>
      (
        (await p.request().query("SELECT DATABASEPROPERTYEX(DB_NAME(), 'Updateability') AS u")).recordset[0] as {
          u: string;
        }
      ).u;
    assert.equal(await updateability(ro), 'READ_ONLY');
    assert.equal(where('ag-ro'), 'B', 'read intent routed to the secondary');
    assert.equal(where('ag-rw'), 'listener');

    const settled = ag.faults.failover({ resolvingMs: 1500 });
    assert.equal(ag.ag.state().phase, 'resolving');
    assert.equal(where('ag-rw'), undefined, 'every connection was reset');
    assert.equal(where('ag-ro'), undefined);
    // While resolving: a login to the AG's database fails with 983's text on either replica and the listener;
    // a session in master gets 983 when it reaches for the database.
    for (const port of [a.port, b.port, ag.port])
      await assert.rejects(connect('ag-resolving', { target: ag, port }), /not in the PRIMARY or SECONDARY role/);
    const master = await connect('ag-master', { target: ag, port: a.port, database: 'master' });
    await assert.rejects(
      master.request().query('SELECT COUNT(*) AS n FROM Claims.dbo.Failover'),
      (e: { number?: number }) => e.number === 983,
    );
    await assert.rejects(master.request().batch('USE Claims'), (e: { number?: number }) => e.number === 983);
    assert.deepEqual(await settled, {
      primary: 'B',
      secondary: 'A',
      phase: 'online',
      secondaryReadable: true,
      failovers: 1,
    });

    // After: the listener reaches B (writes work), read intent is routed to A, A refuses writes and non-read intent.
    const rw2 = await connect('ag-rw2', { target: ag });
    await rw2.request().batch('INSERT INTO dbo.Failover VALUES (2)');
    assert.equal(await updateability(rw2), 'READ_WRITE');
    const ro2 = await connect('ag-ro2', { target: ag, readOnlyIntent: true });
    assert.equal(await updateability(ro2), 'READ_ONLY');
    assert.equal(where('ag-ro2'), 'A', 'routing now points at the old primary');
    await assert.rejects(
      ro2.request().batch('INSERT INTO dbo.Failover VALUES (3)'),
      (e: { number?: number }) => e.number === 3906,
    );
    await assert.rejects(connect('ag-a-rw', { target: ag, port: a.port }), /application intent is set to read only/);
    const bDirect = await connect('ag-b-rw', { target: ag, port: b.port });
    assert.equal(await updateability(bDirect), 'READ_WRITE', 'B is the primary now');

    // The old primary not readable (ALLOW_CONNECTIONS = NO): 976 on the replica, 982 through the listener.
    ag.faults.setSecondaryReadable(false);
    const masterA = await connect('ag-master-a', {
      target: ag,
      port: a.port,
      database: 'master',
      readOnlyIntent: true,
    });
    await assert.rejects(masterA.request().batch('USE Claims'), (e: { number?: number }) => e.number === 976);
    await assert.rejects(
      connect('ag-ro3', { target: ag, readOnlyIntent: true }),
      /no online secondary replicas are enabled for read-only access/,
    );
    ag.faults.setSecondaryReadable(true);

    // Fail back.
    assert.equal((await ag.faults.failover()).primary, 'A');
    const rw3 = await connect('ag-rw3', { target: ag });
    await rw3.request().batch('INSERT INTO dbo.Failover VALUES (3)');
    assert.deepEqual(
      (await rw3.request().query('SELECT id FROM dbo.Failover ORDER BY id')).recordset,
      [{ id: 1 }, { id: 2 }, { id: 3 }],
      'nothing was lost across two failovers',
    );
  } finally {
    await ag.stop();
  }
});
