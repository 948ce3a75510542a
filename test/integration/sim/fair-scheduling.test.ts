/**
 * The simulator shares its one thread between sessions the way SQL Server shares a scheduler: a session streaming
 * a large result yields after each quantum, so another session's short statement runs in between instead of
 * waiting for the whole result (sim/tds/connection.ts `QUANTUM_MS`); and the CDC function read in its clustered
 * order streams instead of sorting the whole range before its first row. Checked by the order of events, not by
 * timings. Real engine, real mssql over TCP.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import sql from 'mssql';
import { SIM_CREDENTIALS, startSimulator, cdcAdmin, type Simulator } from '../../../sim/index.js';

const ROWS = 300_000;

function pool(sim: Simulator): Promise<sql.ConnectionPool> {
  return new sql.ConnectionPool({
    server: sim.host,
    port: sim.port,
    user: SIM_CREDENTIALS.admin.user,
    password: SIM_CREDENTIALS.admin.password,
    database: 'Claims',
    pool: { max: 1, min: 0 },
    requestTimeout: 60_000,
    options: { encrypt: false, trustServerCertificate: true },
  }).connect();
}

describe('the simulator shares its thread between sessions', () => {
  let sim: Simulator;
  let big: sql.ConnectionPool;
  let small: sql.ConnectionPool;

  before(async () => {
    sim = await startSimulator({ seed: 42, seedRows: ROWS, cdc: { autoStart: false } });
    big = await pool(sim);
    small = await pool(sim);
  });

  after(async () => {
    await big?.close();
    await small?.close();
    await sim?.stop();
  });

  test('a short query on a second session completes while a large result streams on the first', async () => {
    // 300,000 one-byte values: ~600 KB of rows, which the simulator used to produce in one run without yielding.
    // (100,000 left too little room: in one process under load the short query finished after 19K-59K rows, over
    // the ROWS / 2 bound at times; without the quantum it finishes after all of them.)
    const req = big.request();
    req.stream = true;
    req.arrayRowMode = true;
    let received = 0;
    let bigDone = false;
    let shortAsked: Promise<number> | undefined;
    const ended = new Promise<void>((resolve, reject) => {
      req.on('row', () => {
        received++;
        // As soon as the large result starts arriving, the second session asks its question.
        shortAsked ??= small
          .request()
          .query<{ status: number }>('SELECT status FROM dbo.ClaimLines WHERE claim_line_id = 7')
          .then((r) => {
            assert.equal(r.recordset.length, 1);
            return bigDone ? ROWS : received;
          });
      });
      req.on('error', reject);
      req.on('done', () => {
        bigDone = true;
        resolve();
      });
    });
    void req.query('SELECT status FROM dbo.ClaimLines').catch(() => undefined);
    await ended;
    assert.equal(received, ROWS);
    assert.ok(shortAsked, 'the large result never delivered a row');
    const receivedWhenShortDone = await shortAsked;
    assert.ok(
      receivedWhenShortDone < ROWS / 2,
      `the short query completed only after ${receivedWhenShortDone} of the ${ROWS} rows had arrived (it waited ` +
        'behind the large result instead of running between its quanta)',
    );
  });

  test('the CDC function read in its clustered order streams: TOP (1) reads one change row, not the range', async () => {
    await big.request().batch(`EXEC sys.sp_cdc_enable_db;
      EXEC sys.sp_cdc_enable_table @source_schema = N'dbo', @source_name = N'ClaimLines', @role_name = NULL;`);
    await big.request().batch(`UPDATE TOP (500) dbo.ClaimLines SET notes = N'fair'`);
    await cdcAdmin(sim.engine).runCapture();
    const text = `DECLARE @f binary(10) = sys.fn_cdc_get_min_lsn(N'dbo_ClaimLines'), @t binary(10) = sys.fn_cdc_get_max_lsn();
      SELECT TOP (1) c.__$start_lsn, c.__$seqval, c.__$operation, c.claim_line_id
        FROM cdc.fn_cdc_get_all_changes_dbo_ClaimLines(@f, @t, N'all') AS c
       ORDER BY c.__$start_lsn, c.__$seqval, c.__$operation OPTION (MAXDOP 1)`;
    const first = await big.request().query(text);
    assert.equal(first.recordset.length, 1);
    const stats = await big.request().query<{ rows_read: bigint | string | number }>(
      `SELECT TOP (1) rows_read FROM sim.statement_stats
        WHERE session_id = @@SPID AND table_name = N'fn_cdc_get_all_changes_dbo_ClaimLines'
        ORDER BY statement_id DESC`,
    );
    assert.equal(
      Number(stats.recordset[0]?.rows_read),
      1,
      'the ordered read sorted the whole range before its first row',
    );
  });
});
