/**
 * The TDS layer against the real, unmodified `mssql` driver (tedious underneath) over TCP, with a scripted
 * protocol test double behind it (scripted-engine.ts) instead of the SQL engine.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import sql from 'mssql';
import type { ColumnMeta, ExecEvent, RpcParam, SqlValue } from '../../../../sim/engine/api.js';
import { IsolationLevel, SqlError } from '../../../../sim/engine/api.js';
import { type TdsRequestInfo, type TdsServer, startTdsServer } from '../../../../sim/tds/server.js';
import { ScriptedEngine, type ScriptHandler } from './scripted-engine.js';

const PASSWORD = 'Sim-Passw0rd';

/** Days since 0001-01-01 of a proleptic Gregorian date. */
function days(y: number, m: number, d: number): number {
  const date = new Date(0);
  date.setUTCFullYear(y, m - 1, d);
  return Math.round(date.getTime() / 86_400_000) + 719_162;
}

/** 100 ns ticks since midnight. */
function ticks(h: number, mi: number, s: number, hundredNs = 0): bigint {
  return BigInt(((h * 60 + mi) * 60 + s) * 10_000_000 + hundredNs);
}

function dec(unscaled: bigint, scale: number): SqlValue {
  return { kind: 'decimal', unscaled, scale };
}

function config(port: number, extra: Partial<sql.config> = {}, options: Record<string, unknown> = {}): sql.config {
  return {
    server: '127.0.0.1',
    port,
    user: 'sa',
    password: PASSWORD,
    database: 'tidemark',
    pool: { max: 1, min: 0 },
    ...extra,
    options: { encrypt: false, trustServerCertificate: true, ...options },
  };
}

function resultSet(columns: ColumnMeta[], rows: Iterable<SqlValue[]>): ScriptHandler {
  return async function* () {
    await Promise.resolve();
    yield { kind: 'resultSet', columns, rows };
    yield { kind: 'done', rowCount: BigInt(Array.isArray(rows) ? rows.length : 0) };
  };
}

// --------------------------------------------------------------------------------------------
// Every type, in one row without NULLs and one with NULLs in columns 0 and 9 (2-byte NBCROW bitmap).

const ALL_TYPES: ColumnMeta[] = [
  { name: 'c_int', type: { name: 'int' }, nullable: true },
  { name: 'c_bit', type: { name: 'bit' }, nullable: true },
  { name: 'c_tinyint', type: { name: 'tinyint' }, nullable: true },
  { name: 'c_smallint', type: { name: 'smallint' }, nullable: true },
  { name: 'c_bigint', type: { name: 'bigint' }, nullable: true },
  { name: 'c_dec38', type: { name: 'decimal', precision: 38, scale: 10 }, nullable: true },
  { name: 'c_num5', type: { name: 'numeric', precision: 5, scale: 2 }, nullable: true },
  { name: 'c_money', type: { name: 'money' }, nullable: true },
  { name: 'c_smallmoney', type: { name: 'smallmoney' }, nullable: true },
  { name: 'c_float', type: { name: 'float', precision: 53 }, nullable: true },
  { name: 'c_real', type: { name: 'real' }, nullable: true },
  { name: 'c_char', type: { name: 'char', length: 5 }, nullable: true },
  { name: 'c_varchar', type: { name: 'varchar', length: 20 }, nullable: true },
  { name: 'c_nchar', type: { name: 'nchar', length: 3 }, nullable: true },
  { name: 'c_nvarchar', type: { name: 'nvarchar', length: 50 }, nullable: true },
  { name: 'c_varchar_max', type: { name: 'varchar', length: -1 }, nullable: true },
  { name: 'c_nvarchar_max', type: { name: 'nvarchar', length: -1 }, nullable: true },
  { name: 'c_binary8', type: { name: 'binary', length: 8 }, nullable: true },
  { name: 'c_binary10', type: { name: 'binary', length: 10 }, nullable: true },
  { name: 'c_varbinary', type: { name: 'varbinary', length: 10 }, nullable: true },
  { name: 'c_varbinary_max', type: { name: 'varbinary', length: -1 }, nullable: true },
  { name: 'c_rowversion', type: { name: 'rowversion' }, nullable: false, isRowversion: true },
  { name: 'c_date', type: { name: 'date' }, nullable: true },
  { name: 'c_time7', type: { name: 'time', scale: 7 }, nullable: true },
  { name: 'c_time0', type: { name: 'time', scale: 0 }, nullable: true },
  { name: 'c_datetime', type: { name: 'datetime' }, nullable: true },
  { name: 'c_smalldatetime', type: { name: 'smalldatetime' }, nullable: true },
  { name: 'c_datetime2_7', type: { name: 'datetime2', scale: 7 }, nullable: true },
  { name: 'c_datetime2_0', type: { name: 'datetime2', scale: 0 }, nullable: true },
  { name: 'c_dto7', type: { name: 'datetimeoffset', scale: 7 }, nullable: true },
  { name: 'c_dto3', type: { name: 'datetimeoffset', scale: 3 }, nullable: true },
  { name: 'c_guid', type: { name: 'uniqueidentifier' }, nullable: true },
];

const LONG_TEXT = 'abcdefghij'.repeat(1000) + '€';
const LONG_NTEXT = 'Ωmega-'.repeat(2000);
const BIG_BINARY = Buffer.alloc(100_000, 0xab);
const ROWVERSION = Buffer.from('00000000000007d1', 'hex');

const FULL_ROW: SqlValue[] = [
  -2147483648n,
  true,
  255n,
  -32768n,
  9223372036854775807n,
  dec(123456789012345n, 10), // 12345.6789012345
  dec(-99999n, 2),
  dec(12345678901n, 4), // 1234567.8901
  dec(-2147483648n, 4),
  1.5e300,
  3.5,
  'ab   ',
  'héllo €',
  'Ωx ',
  'Ωmega ✓',
  LONG_TEXT,
  LONG_NTEXT,
  Buffer.from('0102030405060708', 'hex'),
  Buffer.from('00000025000001f00003', 'hex'),
  Buffer.from('ff00', 'hex'),
  BIG_BINARY,
  ROWVERSION,
  { kind: 'date', days: days(2024, 2, 29) },
  { kind: 'time', ticks: ticks(23, 59, 59, 9_999_999) },
  { kind: 'time', ticks: ticks(1, 2, 3) },
  { kind: 'datetime', days: days(1999, 12, 31), ticks: ticks(23, 59, 59, 9_970_000) },
  { kind: 'datetime', days: days(2079, 6, 6), ticks: ticks(23, 59, 0) },
  { kind: 'datetime', days: days(2024, 2, 29), ticks: ticks(23, 59, 59, 1_234_567) },
  { kind: 'datetime', days: days(1, 1, 1), ticks: 0n },
  { kind: 'datetimeoffset', days: days(2024, 1, 1), ticks: ticks(6, 30, 0, 1_234_567), offsetMinutes: 330 },
  { kind: 'datetimeoffset', days: days(9999, 12, 31), ticks: ticks(23, 59, 59, 9_990_000), offsetMinutes: -840 },
  '6F9619FF-8B86-D011-B42D-00C04FC964FF',
];

const NULL_ROW: SqlValue[] = FULL_ROW.map((v, i) => (i === 0 || i === 9 ? null : v));

describe('TDS server with mssql', () => {
  const requests: TdsRequestInfo[] = [];
  const serverErrors: Error[] = [];
  let engine: ScriptedEngine;
  let server: TdsServer;

  before(async () => {
    engine = new ScriptedEngine({
      statements: {
        'select 1 as x': resultSet([{ name: 'x', type: { name: 'int' }, nullable: false }], [[1n]]),
        'select all types': resultSet(ALL_TYPES, [FULL_ROW, NULL_ROW]),
        'three statements': async function* () {
          await Promise.resolve();
          yield { kind: 'done', rowCount: 1n };
          yield { kind: 'done', rowCount: 2n };
          yield { kind: 'resultSet', columns: [{ name: 'n', type: { name: 'int' }, nullable: false }], rows: [[7n]] };
          yield { kind: 'done', rowCount: 1n };
          yield { kind: 'done', rowCount: 3n };
        },
        'cdc range error': async function* () {
          await Promise.resolve();
          yield {
            kind: 'message',
            error: new SqlError(
              313,
              16,
              3,
              'An insufficient number of arguments were supplied for the procedure or function cdc.fn_cdc_get_all_changes_ ...',
            ),
          };
          yield { kind: 'done', error: true };
        },
        'endless rows': (_call, signal) => endlessRows(signal),
        'slow start': async function* (_call, signal) {
          await sleep(30_000, undefined, { signal }).catch(() => undefined);
          if (signal.aborted) return;
          yield { kind: 'done' };
        },
        'bad row': resultSet([{ name: 'n', type: { name: 'int' }, nullable: false }], [[1n], ['not a number'], [3n]]),
        'engine bug': async function* () {
          await Promise.resolve();
          yield { kind: 'done', rowCount: 1n };
          throw new TypeError('boom');
        },
        'echo params': async function* () {
          await Promise.resolve();
          yield { kind: 'done', rowCount: 0n };
        },
      },
    });
    server = await startTdsServer({
      engine,
      port: 0,
      onRequest: (info) => requests.push(info),
      onError: (err) => serverErrors.push(err),
    });
  });

  after(async () => {
    await server.stop();
  });

  test('connects in clear text, records the login, answers a query', async () => {
    const pool = await new sql.ConnectionPool(config(server.port, {}, { appName: 'tds-test' })).connect();
    try {
      const r = await pool.request().query('select 1 as x');
      assert.deepEqual(r.recordset, [{ x: 1 }]);
      assert.deepEqual(r.rowsAffected, [1]);
      const login = engine.logins.at(-1);
      assert.equal(login?.userName, 'sa');
      assert.equal(login?.database, 'tidemark');
      assert.equal(login?.appName, 'tds-test');
      assert.equal(login?.readOnlyIntent, false);
    } finally {
      await pool.close();
    }
  });

  test('a wrong password fails the login with error 18456', async () => {
    const numbers: number[] = [];
    const pool = new sql.ConnectionPool({
      ...config(server.port, { password: 'wrong' }),
      beforeConnect: (conn) => conn.on('errorMessage', (token: { number: number }) => numbers.push(token.number)),
    });
    await assert.rejects(pool.connect(), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'ELOGIN');
      assert.match(err.message, /Login failed for user 'sa'\./);
      return true;
    });
    assert.deepEqual(numbers, [18456]);
  });

  test('every type round-trips; NULLs in columns 0 and 9 travel as NBCROW', async () => {
    const pool = await new sql.ConnectionPool(config(server.port)).connect();
    try {
      const r = await pool.request().query('select all types');
      const [full, withNulls] = r.recordset as Array<Record<string, unknown>>;
      assert.ok(full && withNulls);
      assert.equal(full.c_int, -2147483648);
      assert.equal(full.c_bit, true);
      assert.equal(full.c_tinyint, 255);
      assert.equal(full.c_smallint, -32768);
      assert.equal(full.c_bigint, '9223372036854775807');
      assert.equal(full.c_dec38, 12345.6789012345);
      assert.equal(full.c_num5, -999.99);
      assert.equal(full.c_money, 1234567.8901);
      assert.equal(full.c_smallmoney, -214748.3648);
      assert.equal(full.c_float, 1.5e300);
      assert.equal(full.c_real, 3.5);
      assert.equal(full.c_char, 'ab   ');
      assert.equal(full.c_varchar, 'héllo €');
      assert.equal(full.c_nchar, 'Ωx ');
      assert.equal(full.c_nvarchar, 'Ωmega ✓');
      assert.equal(full.c_varchar_max, LONG_TEXT);
      assert.equal(full.c_nvarchar_max, LONG_NTEXT);
      assert.deepEqual(full.c_binary8, Buffer.from('0102030405060708', 'hex'));
      assert.deepEqual(full.c_binary10, Buffer.from('00000025000001f00003', 'hex'));
      assert.deepEqual(full.c_varbinary, Buffer.from('ff00', 'hex'));
      assert.deepEqual(full.c_varbinary_max, BIG_BINARY);
      assert.deepEqual(full.c_rowversion, ROWVERSION);
      assert.equal((full.c_date as Date).toISOString(), '2024-02-29T00:00:00.000Z');
      const time7 = full.c_time7 as Date & { nanosecondsDelta: number };
      assert.equal(time7.toISOString(), '1970-01-01T23:59:59.999Z');
      assert.ok(Math.abs(time7.nanosecondsDelta - 0.0009999) < 1e-12);
      assert.equal((full.c_time0 as Date).toISOString(), '1970-01-01T01:02:03.000Z');
      assert.equal((full.c_datetime as Date).toISOString(), '1999-12-31T23:59:59.997Z');
      assert.equal((full.c_smalldatetime as Date).toISOString(), '2079-06-06T23:59:00.000Z');
      const dt27 = full.c_datetime2_7 as Date & { nanosecondsDelta: number };
      assert.equal(dt27.toISOString(), '2024-02-29T23:59:59.123Z');
      assert.ok(Math.abs(dt27.nanosecondsDelta - 0.0004567) < 1e-12);
      assert.equal((full.c_datetime2_0 as Date).toISOString(), '0001-01-01T00:00:00.000Z');
      // datetimeoffset: tedious returns the UTC instant and drops the offset.
      const dto7 = full.c_dto7 as Date & { nanosecondsDelta: number };
      assert.equal(dto7.toISOString(), '2024-01-01T06:30:00.123Z');
      assert.ok(Math.abs(dto7.nanosecondsDelta - 0.0004567) < 1e-12);
      assert.equal((full.c_dto3 as Date).toISOString(), '9999-12-31T23:59:59.999Z');
      assert.equal(full.c_guid, '6F9619FF-8B86-D011-B42D-00C04FC964FF');

      assert.equal(withNulls.c_int, null);
      assert.equal(withNulls.c_float, null);
      for (const name of Object.keys(full)) {
        if (name === 'c_int' || name === 'c_float') continue;
        assert.deepEqual(withNulls[name], full[name], name);
      }
      const columns = r.recordset.columns as unknown as Record<
        string,
        { length?: number; precision?: number; scale?: number }
      >;
      assert.equal(columns.c_binary10?.length, 10);
      assert.equal(columns.c_dec38?.precision, 38);
      assert.equal(columns.c_dec38?.scale, 10);
    } finally {
      await pool.close();
    }
  });

  test('sp_executesql parameters are decoded exactly, @statement as PLP above 4000 characters', async () => {
    const pool = await new sql.ConnectionPool(config(server.port)).connect();
    try {
      // A statement above 4000 characters (sent as PLP nvarchar(max)); the handler key is the exact text.
      const big = 'echo params -- ' + 'x'.repeat(5000);
      engine.options.statements![big] = engine.options.statements!['echo params']!;
      const req = pool.request();
      req.input('from', sql.VarBinary(10), Buffer.from('00000025000001f00003', 'hex'));
      req.input('to', sql.VarBinary(10), Buffer.from('0000002600000a080001', 'hex'));
      req.input('i', sql.Int, -7);
      req.input('big', sql.BigInt, '9007199254740993');
      req.input('d', sql.Decimal(38, 10), 12345.6789);
      req.input('m', sql.Money, 1234.5678);
      req.input('b', sql.Bit, true);
      req.input('f', sql.Float, 0.1);
      req.input('s', sql.NVarChar(50), 'Ωmega');
      req.input('v', sql.VarChar(20), 'héllo €');
      req.input('nmax', sql.NVarChar(sql.MAX), null);
      req.input('bmax', sql.VarBinary(sql.MAX), BIG_BINARY);
      req.input('dt2', sql.DateTime2(7), new Date(Date.UTC(2024, 1, 29, 23, 59, 59, 123)));
      req.input('dt', sql.DateTime, new Date(Date.UTC(1999, 11, 31, 23, 59, 59, 997)));
      req.input('day', sql.Date, new Date(Date.UTC(2024, 1, 29)));
      req.input('dto', sql.DateTimeOffset(3), new Date(Date.UTC(2024, 0, 1, 6, 30, 0, 123)));
      req.input('g', sql.UniqueIdentifier, '6f9619ff-8b86-d011-b42d-00c04fc964ff');
      const r = await req.query(big);
      assert.deepEqual(r.rowsAffected, [0]);
      const call = engine.calls.at(-1);
      assert.ok(call?.kind === 'rpc');
      assert.equal(call.procName, 'sp_executesql');
      const byName = new Map<string, RpcParam>(call.params.map((p) => [p.name, p]));
      assert.equal(byName.get('@statement')?.value, big);
      assert.deepEqual(byName.get('@statement')?.type, { name: 'nvarchar', length: -1 });
      assert.match(byName.get('@params')?.value as string, /@from varbinary\(10\), @to varbinary\(10\), @i int/);
      assert.deepEqual(byName.get('@from'), {
        name: '@from',
        type: { name: 'varbinary', length: 10 },
        value: Buffer.from('00000025000001f00003', 'hex'),
        output: false,
      });
      assert.deepEqual(byName.get('@to')?.value, Buffer.from('0000002600000a080001', 'hex'));
      assert.equal(byName.get('@i')?.value, -7n);
      assert.equal(byName.get('@big')?.value, 9007199254740993n);
      assert.deepEqual(byName.get('@d')?.value, dec(123456789000000n, 10));
      assert.deepEqual(byName.get('@d')?.type, { name: 'decimal', precision: 38, scale: 10 });
      assert.deepEqual(byName.get('@m')?.value, dec(12345678n, 4));
      assert.equal(byName.get('@b')?.value, true);
      assert.equal(byName.get('@f')?.value, 0.1);
      assert.equal(byName.get('@s')?.value, 'Ωmega');
      assert.equal(byName.get('@v')?.value, 'héllo €');
      assert.deepEqual(byName.get('@nmax'), {
        name: '@nmax',
        type: { name: 'nvarchar', length: -1 },
        value: null,
        output: false,
      });
      assert.deepEqual(byName.get('@bmax')?.value, BIG_BINARY);
      assert.deepEqual(byName.get('@dt2')?.value, {
        kind: 'datetime',
        days: days(2024, 2, 29),
        ticks: ticks(23, 59, 59, 1_230_000),
      });
      assert.deepEqual(byName.get('@dt')?.value, {
        kind: 'datetime',
        days: days(1999, 12, 31),
        ticks: ticks(23, 59, 59, 9_970_000),
      });
      assert.deepEqual(byName.get('@day')?.value, { kind: 'date', days: days(2024, 2, 29) });
      assert.deepEqual(byName.get('@dto')?.value, {
        kind: 'datetimeoffset',
        days: days(2024, 1, 1),
        ticks: ticks(6, 30, 0, 1_230_000),
        offsetMinutes: 0,
      });
      assert.equal(byName.get('@g')?.value, '6F9619FF-8B86-D011-B42D-00C04FC964FF');
    } finally {
      await pool.close();
    }
  });

  test('a multi-statement batch reports rowsAffected per DONE, MORE on all but the last', async () => {
    const pool = await new sql.ConnectionPool(config(server.port)).connect();
    try {
      const viaBatch = await pool.request().batch('three statements');
      assert.deepEqual(viaBatch.rowsAffected, [1, 2, 1, 3]);
      assert.deepEqual((viaBatch.recordsets as sql.IRecordSet<unknown>[])[0], [{ n: 7 }]);
      const viaRpc = await pool.request().query('three statements');
      assert.deepEqual(viaRpc.rowsAffected, [1, 2, 1, 3]);
    } finally {
      await pool.close();
    }
  });

  test('ERROR 313/16/3 surfaces with number, class and state', async () => {
    const pool = await new sql.ConnectionPool(config(server.port)).connect();
    try {
      await assert.rejects(pool.request().query('cdc range error'), (err: sql.RequestError & { class?: number }) => {
        assert.equal(err.number, 313);
        assert.equal(err.class, 16);
        assert.equal(err.state, 3);
        assert.equal(err.serverName, 'tidemark-sim');
        assert.match(err.message, /cdc\.fn_cdc_get_all_changes_ \.\.\.$/);
        return true;
      });
      const r = await pool.request().query('select 1 as x');
      assert.deepEqual(r.recordset, [{ x: 1 }]);
    } finally {
      await pool.close();
    }
  });

  test('Transaction Manager: SNAPSHOT begin, descriptor echoed, commit resets it', async () => {
    const pool = await new sql.ConnectionPool(config(server.port)).connect();
    try {
      const tx = new sql.Transaction(pool);
      await tx.begin(sql.ISOLATION_LEVEL.SNAPSHOT);
      const begin = engine.calls.at(-1);
      assert.deepEqual(begin, { kind: 'begin', isolation: IsolationLevel.Snapshot, name: '' });
      const session = engine.sessions.at(-1);
      assert.ok(session);
      const descriptor = Buffer.from(session.transactionDescriptor);
      assert.notDeepEqual(descriptor, Buffer.alloc(8));
      requests.length = 0;
      await new sql.Request(tx).query('select 1 as x');
      assert.deepEqual(requests.at(-1)?.transactionDescriptor, descriptor);
      await tx.commit();
      assert.deepEqual(engine.calls.at(-1), { kind: 'end', commit: true, name: '' });
      requests.length = 0;
      await pool.request().query('select 1 as x');
      assert.deepEqual(requests.at(-1)?.transactionDescriptor, Buffer.alloc(8));

      const tx2 = new sql.Transaction(pool);
      await tx2.begin();
      await tx2.rollback();
      assert.deepEqual(engine.calls.at(-1), { kind: 'end', commit: false, name: '' });
    } finally {
      await pool.close();
    }
  });

  test('cancel of a long result: ECANCEL, then the connection is usable', async () => {
    const pool = await new sql.ConnectionPool(config(server.port)).connect();
    try {
      const req = pool.request();
      req.stream = true;
      let rows = 0;
      const finished = new Promise<(Error & { code?: string }) | undefined>((resolve) => {
        req.on('row', () => {
          rows++;
          if (rows === 1000) req.cancel();
        });
        req.on('error', (err: Error) => resolve(err));
        req.on('done', () => resolve(undefined));
      });
      req.query('endless rows').catch(() => undefined);
      const err = await finished;
      assert.equal(err?.code, 'ECANCEL');
      assert.ok(rows >= 1000);
      const r = await pool.request().query('select 1 as x');
      assert.deepEqual(r.recordset, [{ x: 1 }]);
    } finally {
      await pool.close();
    }
  });

  test('requestTimeout: ETIMEOUT, then the connection is usable', async () => {
    const pool = await new sql.ConnectionPool(config(server.port, { requestTimeout: 300 })).connect();
    try {
      await assert.rejects(pool.request().query('slow start'), (err: Error & { code?: string }) => {
        assert.equal(err.code, 'ETIMEOUT');
        return true;
      });
      const r = await pool.request().query('select 1 as x');
      assert.deepEqual(r.recordset, [{ x: 1 }]);
    } finally {
      await pool.close();
    }
  });

  test('an engine failure becomes an ERROR token; the connection stays usable', async () => {
    const pool = await new sql.ConnectionPool(config(server.port)).connect();
    try {
      await assert.rejects(pool.request().query('engine bug'), (err: sql.RequestError) => {
        assert.equal(err.number, 50000);
        assert.match(err.message, /internal error: boom/);
        return true;
      });
      const r = await pool.request().query('select 1 as x');
      assert.deepEqual(r.recordset, [{ x: 1 }]);
    } finally {
      await pool.close();
    }
    assert.equal(
      serverErrors
        .splice(0)
        .map((e) => e.message)
        .join(),
      'boom',
    );
  });

  test('a value that does not fit its column type fails the statement, not the stream', async () => {
    const pool = await new sql.ConnectionPool(config(server.port)).connect();
    try {
      await assert.rejects(pool.request().query('bad row'), (err: sql.RequestError) => {
        assert.equal(err.number, 50000);
        return true;
      });
      const r = await pool.request().query('select 1 as x');
      assert.deepEqual(r.recordset, [{ x: 1 }]);
    } finally {
      await pool.close();
    }
    serverErrors.splice(0);
  });

  test('a parameter type the simulator lacks (TVP) is refused with an error; the connection stays usable', async () => {
    const pool = await new sql.ConnectionPool(config(server.port)).connect();
    try {
      const req = pool.request();
      const tvp = new sql.Table('dbo.Ids');
      tvp.columns.add('id', sql.Int);
      tvp.rows.add(1);
      req.input('ids', tvp);
      await assert.rejects(req.query('echo params'), (err: sql.RequestError) => {
        assert.equal(err.number, 50000);
        assert.match(err.message, /does not support table-valued parameters/);
        return true;
      });
      const r = await pool.request().query('select 1 as x');
      assert.deepEqual(r.recordset, [{ x: 1 }]);
    } finally {
      await pool.close();
    }
  });

  test('a negotiated packet size of 8192 carries large rows; closing the client closes the session', async () => {
    const pool = await new sql.ConnectionPool(config(server.port, {}, { packetSize: 8192 })).connect();
    let spid: number | undefined;
    try {
      const r = await pool.request().query('select all types');
      assert.equal(r.recordset.length, 2);
      assert.deepEqual((r.recordset[0] as Record<string, unknown>).c_varbinary_max, BIG_BINARY);
      spid = engine.sessions.at(-1)?.spid;
    } finally {
      await pool.close();
    }
    const session = engine.sessions.find((x) => x.spid === spid);
    for (let i = 0; i < 50 && !session?.closed; i++) await sleep(10);
    assert.equal(session?.closed, true);
  });

  test('many concurrent connections each get their own answers', async () => {
    const pools = await Promise.all(
      Array.from({ length: 4 }, () =>
        new sql.ConnectionPool({ ...config(server.port), pool: { max: 5, min: 0 } }).connect(),
      ),
    );
    try {
      const results = await Promise.all(
        pools.flatMap((pool) => Array.from({ length: 10 }, () => pool.request().query('select all types'))),
      );
      for (const r of results) {
        assert.equal(r.recordset.length, 2);
        assert.equal((r.recordset[0] as Record<string, unknown>).c_nvarchar_max, LONG_NTEXT);
      }
    } finally {
      await Promise.all(pools.map((p) => p.close()));
    }
  });

  test('no protocol errors were reported by the server', () => {
    assert.deepEqual(serverErrors, []);
  });
});

describe('TDS server with TLS', () => {
  let engine: ScriptedEngine;
  let server: TdsServer;

  before(async () => {
    engine = new ScriptedEngine({
      statements: {
        'select 1 as x': resultSet([{ name: 'x', type: { name: 'int' }, nullable: false }], [[1n]]),
        'select all types': resultSet(ALL_TYPES, [FULL_ROW, NULL_ROW]),
        'endless rows': (_call, signal) => endlessRows(signal),
      },
    });
    server = await startTdsServer({ engine, port: 0, tls: 'generate' });
  });

  after(async () => {
    await server.stop();
  });

  test('encrypt with trustServerCertificate', async () => {
    const pool = await new sql.ConnectionPool(config(server.port, {}, { encrypt: true })).connect();
    try {
      const r = await pool.request().query('select 1 as x');
      assert.deepEqual(r.recordset, [{ x: 1 }]);
    } finally {
      await pool.close();
    }
  });

  test('large rows and a cancelled stream inside TLS; the connection stays usable', async () => {
    const pool = await new sql.ConnectionPool(config(server.port, {}, { encrypt: true })).connect();
    try {
      const all = await pool.request().query('select all types');
      assert.deepEqual((all.recordset[1] as Record<string, unknown>).c_varbinary_max, BIG_BINARY);
      const req = pool.request();
      req.stream = true;
      let rows = 0;
      const finished = new Promise<(Error & { code?: string }) | undefined>((resolve) => {
        req.on('row', () => {
          if (++rows === 5000) req.cancel();
        });
        req.on('error', (err: Error) => resolve(err));
        req.on('done', () => resolve(undefined));
      });
      req.query('endless rows').catch(() => undefined);
      assert.equal((await finished)?.code, 'ECANCEL');
      const r = await pool.request().query('select 1 as x');
      assert.deepEqual(r.recordset, [{ x: 1 }]);
    } finally {
      await pool.close();
    }
  });

  test('encrypt with the certificate as CA (no trustServerCertificate)', async () => {
    assert.ok(server.certificate);
    const pool = await new sql.ConnectionPool({
      ...config(server.port, { server: 'localhost' }),
      options: {
        encrypt: true,
        trustServerCertificate: false,
        cryptoCredentialsDetails: { ca: server.certificate },
      },
    }).connect();
    try {
      const r = await pool.request().query('select 1 as x');
      assert.deepEqual(r.recordset, [{ x: 1 }]);
    } finally {
      await pool.close();
    }
  });

  test('an untrusted certificate is refused', async () => {
    const pool = new sql.ConnectionPool({
      ...config(server.port, { server: 'localhost' }),
      options: { encrypt: true, trustServerCertificate: false },
    });
    await assert.rejects(pool.connect());
  });

  test('a client that will not encrypt fails with EENCRYPT', async () => {
    const pool = new sql.ConnectionPool(config(server.port, {}, { encrypt: false }));
    await assert.rejects(pool.connect(), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'EENCRYPT');
      return true;
    });
  });
});

describe('read-only routing', () => {
  test('read-only intent is recorded and the routing ENVCHANGE moves tedious to the other port', async () => {
    const secondary = new ScriptedEngine({
      statements: { 'select 1 as x': resultSet([{ name: 'x', type: { name: 'int' }, nullable: false }], [[1n]]) },
    });
    const secondaryServer = await startTdsServer({ engine: secondary, port: 0 });
    const primary = new ScriptedEngine({ routeReadOnlyTo: { host: '127.0.0.1', port: secondaryServer.port } });
    const primaryServer = await startTdsServer({ engine: primary, port: 0 });
    try {
      const pool = await new sql.ConnectionPool(config(primaryServer.port, {}, { readOnlyIntent: true })).connect();
      try {
        const r = await pool.request().query('select 1 as x');
        assert.deepEqual(r.recordset, [{ x: 1 }]);
      } finally {
        await pool.close();
      }
      assert.equal(primary.logins[0]?.readOnlyIntent, true);
      assert.equal(primary.sessions.length, 0);
      assert.equal(secondary.logins[0]?.readOnlyIntent, true);
      assert.equal(secondary.sessions.length >= 1, true);
    } finally {
      await primaryServer.stop();
      await secondaryServer.stop();
    }
  });
});

async function* endlessRows(signal: AbortSignal): AsyncIterable<ExecEvent> {
  await Promise.resolve();
  function* rows(): Iterable<SqlValue[]> {
    for (let i = 0n; !signal.aborted; i++) yield [i, 'row ' + String(i)];
  }
  yield {
    kind: 'resultSet',
    columns: [
      { name: 'id', type: { name: 'bigint' }, nullable: false },
      { name: 'label', type: { name: 'nvarchar', length: 40 }, nullable: false },
    ],
    rows: rows(),
  };
  yield { kind: 'done', rowCount: 0n };
}
