/** Every type round-trips exactly: SQL Server → mssql/tedious → the type mapping → lake values. */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { rowversionPositioner } from '../../../src/source/strategies/rowversion.js';
import { readChunk } from '../../../src/source/chunks.js';
import { discoverTable } from '../../../src/source/discovery.js';
import type { SourceConnection } from '../../../src/source/connection.js';
import type { ChangeRow } from '../../../src/source/strategies/types.js';
import { startSourceSim, type SourceSim } from '../../support/source-sim.js';

let s: SourceSim;
let conn: SourceConnection;

const ms = (iso: string) => BigInt(Date.parse(iso)) * 1_000_000n;
const NS_0001 = -62_135_596_800_000n * 1_000_000n;

before(async () => {
  s = await startSourceSim();
  await s.admin.request().batch(`CREATE TABLE dbo.types_t (
      id int NOT NULL PRIMARY KEY, b bit NULL, ti tinyint NULL, si smallint NULL, i int NULL, bi bigint NULL,
      d38 decimal(38,10) NULL, d9 decimal(9,2) NULL, d15 numeric(15,4) NULL, d18 decimal(18,2) NULL,
      m money NULL, sm smallmoney NULL, f float NULL, r real NULL,
      vc varchar(20) NULL, nvm nvarchar(max) NULL, ch char(5) NULL, vb varbinary(max) NULL, bn binary(4) NULL,
      u uniqueidentifier NULL, dt date NULL, tm time(7) NULL, dt2 datetime2(7) NULL, dt23 datetime2(3) NULL,
      dtm datetime NULL, sdt smalldatetime NULL, dto datetimeoffset(7) NULL, rv rowversion NOT NULL);
    INSERT INTO dbo.types_t (id, b, ti, si, i, bi, d38, d9, d15, d18, m, sm, f, r, vc, nvm, ch, vb, bn, u, dt, tm, dt2, dt23, dtm, sdt, dto)
    VALUES (1, 1, 255, -32768, -2147483648, 9223372036854775807,
      12345678901234567890.0123456789, 1234567.89, 99999999999.9999, 9999999999999999.99,
      922337203685477.5807, -214748.3648, 0.1, 0.1,
      'abc', N'ünï 😀 ${'x'.repeat(5000)}', 'ab', 0x000102FF, 0x00010203,
      '6F9619FF-8B86-D011-B42D-00C04FD430C8', '0001-01-01', '23:59:59.9999999', '2026-01-02 03:04:05.1234567',
      '2026-01-02 03:04:05.123', '2026-01-02 03:04:05.997', '2026-01-02 03:04:00',
      '2026-01-02 03:04:05.1234567 +05:30'),
    (2, 0, 0, 0, 0, -9223372036854775808, -0.0000000001, 0.29, -0.0001, -0.01, -922337203685477.5808, 0, -1.5e300, -3.4e38,
      '', N'', '', 0x, 0xFFFFFFFF, '00000000-0000-0000-0000-000000000000', '9999-12-31', '00:00:00',
      '0001-01-01 00:00:00.0000001', '9999-12-31 23:59:59.999', '1753-01-01 00:00:00', '1900-01-01 00:00:00',
      '2026-01-02 03:04:05.0000001 -08:00'),
    (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
      NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);`);
  conn = await s.connect();
});
after(() => s?.stop());

test('every supported type round-trips exactly into the lake model', async () => {
  const d = await discoverTable(conn, 'dbo', 'types_t');
  const rows: ChangeRow[] = [];
  let columns: readonly { name: string }[] = [];
  for await (const b of readChunk(conn, d, { limit: 10, positioner: rowversionPositioner('rv') })) {
    rows.push(...b.rows);
    columns = b.columns;
  }
  const get = (r: ChangeRow, c: string) => r.values[columns.findIndex((x) => x.name === c)];
  const [r1, r2, r3] = rows;
  const expect1: Record<string, unknown> = {
    b: true,
    ti: 255,
    si: -32768,
    i: -2147483648,
    bi: 9223372036854775807n,
    d38: '12345678901234567890.0123456789',
    d9: '1234567.89',
    d15: '99999999999.9999',
    d18: '9999999999999999.99',
    m: '922337203685477.5807',
    sm: '-214748.3648',
    f: 0.1,
    r: Math.fround(0.1),
    vc: 'abc',
    nvm: `ünï 😀 ${'x'.repeat(5000)}`,
    ch: 'ab   ',
    vb: Buffer.from([0, 1, 2, 255]),
    bn: Buffer.from([0, 1, 2, 3]),
    u: '6F9619FF-8B86-D011-B42D-00C04FD430C8',
    dt: -719162,
    tm: 86_399_999_999_900n,
    dt2: ms('2026-01-02T03:04:05.123Z') + 456_700n,
    dt23: ms('2026-01-02T03:04:05.123Z'),
    dtm: ms('2026-01-02T03:04:05.997Z'),
    sdt: ms('2026-01-02T03:04:00Z'),
    dto: { epochNanos: ms('2026-01-01T21:34:05.123Z') + 456_700n, offsetMinutes: 330 },
  };
  for (const [c, v] of Object.entries(expect1)) assert.deepEqual(get(r1!, c), v, c);
  const expect2: Record<string, unknown> = {
    b: false,
    bi: -9223372036854775808n,
    d38: '-0.0000000001',
    d9: '0.29',
    d15: '-0.0001',
    d18: '-0.01',
    m: '-922337203685477.5808',
    sm: '0.0000',
    f: -1.5e300,
    r: Math.fround(-3.4e38),
    vc: '',
    nvm: '',
    vb: Buffer.alloc(0),
    bn: Buffer.from([255, 255, 255, 255]),
    dt: 2932896,
    tm: 0n,
    dt2: NS_0001 + 100n,
    dt23: ms('9999-12-31T23:59:59.999Z'),
    dto: { epochNanos: ms('2026-01-02T11:04:05Z') + 100n, offsetMinutes: -480 },
  };
  for (const [c, v] of Object.entries(expect2)) assert.deepEqual(get(r2!, c), v, c);
  for (const c of columns.map((x) => x.name).filter((n) => n !== 'id' && n !== 'rv'))
    assert.equal(get(r3!, c), null, c);
  assert.ok(rows.every((r) => r.op === 'r' && /^[0-9a-f]{16}$/.test(r.pos)));
  const lt = (name: string) => d.columns.find((c) => c.name === name)?.sqlType;
  assert.equal(lt('d38'), 'decimal(38,10)');
  assert.equal(lt('nvm'), 'nvarchar(max)');
  assert.equal(lt('rv'), 'rowversion');
});
