/**
 * The driver's datetime2 / date shortcut (src/source/date-decode.ts) through the real driver against the
 * simulator: every date and time column — datetime2 at every scale 0–7, date, and the types it leaves to tedious
 * (time, datetime, smalldatetime, datetimeoffset) — reads the same with the shortcut installed as without it, as
 * the driver's `Date`s (epoch ms and `nanosecondsDelta`) and as lake values, and the lake values are the ones the
 * literals say. This file runs in its own process: the install is restored before it ends.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { rowversionPositioner } from '../../../src/source/strategies/rowversion.js';
import { readChunk } from '../../../src/source/chunks.js';
import { discoverTable } from '../../../src/source/discovery.js';
import type { SourceConnection } from '../../../src/source/connection.js';
import { driverValueReader, fastDateDecodeInstalled, installFastDateDecode } from '../../../src/source/date-decode.js';
import { startSourceSim, type SourceSim } from '../../support/source-sim.js';

let s: SourceSim;
let conn: SourceConnection;

const SCALES = [0, 1, 2, 3, 4, 5, 6, 7];
const OTHERS = ['tm', 'dtm', 'sdt', 'dto'];
const COLUMNS = ['dt', ...SCALES.map((k) => `d${k}`), ...OTHERS];

/** Deterministic datetime2 literals across the range, beside the edges and leap days. */
function literals(): string[] {
  const fixed = [
    '0001-01-01 00:00:00.0000000',
    '0001-01-01 00:00:00.0000001',
    '9999-12-31 23:59:59.9999999',
    '9999-12-31 00:00:00.0000000',
    '1969-12-31 23:59:59.9999999',
    '1970-01-01 00:00:00.0000000',
    '1600-02-29 12:34:56.7890123',
    '1900-02-28 23:59:59.5000000',
    '1900-03-01 00:00:00.0000500',
    '2000-02-29 06:07:08.0909090',
    '2024-02-29 23:59:59.9999995',
    '1752-09-14 01:02:03.4567890',
    '2026-01-02 03:04:05.1234567',
  ];
  let seed = 14;
  const rand = (n: number) => {
    seed = (Math.imul(seed, 1_664_525) + 1_013_904_223) >>> 0;
    return seed % n;
  };
  const pad = (v: number, w: number) => String(v).padStart(w, '0');
  for (let i = 0; i < 40; i++) {
    const y = 1 + rand(9999);
    const m = 1 + rand(12);
    const d = 1 + rand(28);
    fixed.push(
      `${pad(y, 4)}-${pad(m, 2)}-${pad(d, 2)} ${pad(rand(24), 2)}:${pad(rand(60), 2)}:${pad(rand(60), 2)}.${pad(rand(10_000_000), 7)}`,
    );
  }
  return fixed;
}

before(async () => {
  s = await startSourceSim();
  const lits = literals();
  const values = lits.map((l, i) => {
    const datePart = l.slice(0, 10);
    const time = l.slice(11);
    // datetime(2) digits: never rounded past 9999-12-31; each datetime2(k) gets the literal's first k digits.
    const dtm = datePart >= '1753-01-01' ? `'${l.slice(0, 22)}'` : 'NULL';
    const sdt = datePart >= '1900-01-01' && datePart < '2079-06-06' ? `'${l.slice(0, 16)}'` : 'NULL';
    const scaled = SCALES.map((k) => `'${l.slice(0, k === 0 ? 19 : 20 + k)}'`);
    return `(${i + 1}, '${datePart}', ${scaled.join(', ')}, '${time}', ${dtm}, ${sdt}, '${l} +00:00')`;
  });
  values.push(`(${lits.length + 1}, ${COLUMNS.map(() => 'NULL').join(', ')})`);
  await s.admin.request().batch(`CREATE TABLE dbo.dates_t (
      id int NOT NULL PRIMARY KEY, dt date NULL, ${SCALES.map((k) => `d${k} datetime2(${k}) NULL`).join(', ')},
      tm time(7) NULL, dtm datetime NULL, sdt smalldatetime NULL, dto datetimeoffset(7) NULL, rv rowversion NOT NULL);
    INSERT INTO dbo.dates_t (id, ${COLUMNS.join(', ')}) VALUES ${values.join(',\n')};`);
  conn = await s.connect();
});
after(() => s?.stop());

type Dt = Date & { nanosecondsDelta?: number };

/** The driver's values, as text that keeps what a `Date` carries: epoch ms and `nanosecondsDelta`. */
async function driverValues(): Promise<string[]> {
  const rows = await conn.query<Record<string, unknown>>('test.dates', `SELECT * FROM dbo.dates_t ORDER BY id`);
  return rows.map((r) =>
    COLUMNS.map((c) => {
      const v = r[c] as Dt | null;
      return v === null ? `${c}=NULL` : `${c}=${v.getTime()}+${v.nanosecondsDelta ?? '-'}`;
    }).join(' '),
  );
}

/** The lake model's values (src/source/type-mapping.ts), by row. */
async function lakeValues(): Promise<Record<string, unknown>[]> {
  const d = await discoverTable(conn, 'dbo', 'dates_t');
  const out: Record<string, unknown>[] = [];
  for await (const b of readChunk(conn, d, { limit: 1000, positioner: rowversionPositioner('rv') }))
    for (const r of b.rows) out.push(Object.fromEntries(b.columns.map((c, i) => [c.name, r.values[i]])));
  return out.sort((a, b) => Number(a.id) - Number(b.id));
}

test('every date and time column reads the same with the datetime2/date shortcut installed as without it', async () => {
  assert.equal(fastDateDecodeInstalled(), false);
  const plainDriver = await driverValues();
  const plainLake = await lakeValues();
  const install = installFastDateDecode();
  assert.ok(install.installed, install.installed ? '' : install.reason);
  // Count what reaches the installed reader: the patched module must be the one the driver's row parser calls
  // (else the comparison below would compare tedious with itself).
  const parser = driverValueReader().valueParser;
  const installed = parser.readValue;
  const seen = new Map<string, number>();
  parser.readValue = (buf, offset, metadata, options) => {
    seen.set(metadata.type.name, (seen.get(metadata.type.name) ?? 0) + 1);
    return installed(buf, offset, metadata, options);
  };
  try {
    assert.ok(fastDateDecodeInstalled({ ...driverValueReader(), valueParser: { readValue: installed } }));
    const fastDriver = await driverValues();
    const fastLake = await lakeValues();
    assert.ok(
      (seen.get('DateTime2') ?? 0) >= 2 * 8 * literals().length,
      `the driver's reads: ${JSON.stringify([...seen])}`,
    );
    assert.ok((seen.get('Date') ?? 0) >= 2 * literals().length, `the driver's reads: ${JSON.stringify([...seen])}`);
    assert.equal(fastDriver.length, literals().length + 1);
    for (let i = 0; i < plainDriver.length; i++) assert.equal(fastDriver[i], plainDriver[i], `row ${i + 1}`);
    assert.deepEqual(fastLake, plainLake);
    // And the values are the literals' (not merely the same both ways): the edges, at scale 7 and as a date.
    const ns = (iso: string, extra: bigint) => BigInt(Date.parse(iso)) * 1_000_000n + extra;
    const row = (id: number) => fastLake[id - 1]!;
    assert.equal(row(1).d7, ns('0001-01-01T00:00:00Z', 0n));
    assert.equal(row(1).dt, -719_162);
    assert.equal(row(2).d7, ns('0001-01-01T00:00:00Z', 100n));
    assert.equal(row(3).d7, ns('9999-12-31T23:59:59.999Z', 999_900n));
    assert.equal(
      row(3).d0,
      ns('9999-12-31T23:59:59Z', 0n),
      'datetime2(0) of 23:59:59.9999999 (the rounding is the source’s)',
    );
    assert.equal(row(3).dt, 2_932_896);
    assert.equal(row(5).d7, ns('1969-12-31T23:59:59.999Z', 999_900n));
    assert.equal(row(7).d7, ns('1600-02-29T12:34:56.789Z', 12_300n));
    assert.equal(row(7).d4, ns('1600-02-29T12:34:56.789Z', 0n));
    assert.equal(row(10).dt, Date.UTC(2000, 1, 29) / 86_400_000);
    assert.equal(row(13).d7, ns('2026-01-02T03:04:05.123Z', 456_700n));
    const last = row(literals().length + 1);
    for (const c of COLUMNS) assert.equal(last[c], null, c);
  } finally {
    parser.readValue = installed;
    if (install.installed) install.restore();
  }
});
