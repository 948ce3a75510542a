import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { TableLayout } from '../../../src/lake/layout.js';
import { registerSchema } from '../../../src/lake/schema-registry.js';
import { LakeReader } from '../../../src/lake/reader.js';
import type { LakeColumn } from '../../../src/domain/values.js';
import { freshStore, tempDir } from '../../support/lake.js';
import { runWindow } from '../../support/lake-window.js';
import { pythonWithPyarrow } from '../../support/pyarrow.js';
import { PARQUET_CODECS, type ParquetCompression } from '../../../src/config/types.js';

/** Renders every column of the files as exact text with pyarrow alone (no options). */
const PY = `
import json, sys, pyarrow as pa, pyarrow.parquet as pq
t = pa.concat_tables([pq.read_table(f) for f in sorted(sys.argv[1:])])
def text(v, typ):
    if v is None or not v.is_valid: return None
    if pa.types.is_timestamp(typ) or pa.types.is_time(typ): return str(v.cast(pa.int64()).as_py())
    if pa.types.is_struct(typ): return {f.name: text(v[f.name], f.type) for f in typ}
    x = v.as_py()
    if isinstance(x, (bytes, bytearray)): return x.hex()
    if hasattr(x, 'hex') and hasattr(x, 'urn'): return str(x)
    return str(x)
rows = []
for i in range(t.num_rows):
    rows.append({c: text(t.column(c)[i], t.schema.field(c).type) for c in t.column_names})
rows.sort(key=lambda r: r['_pos'])
print(json.dumps({'types': {f.name: str(f.type) for f in t.schema}, 'rows': rows}))
`;

const COLUMNS: LakeColumn[] = [
  { name: 'id', type: { kind: 'int64' }, nullable: false },
  { name: 'amount', type: { kind: 'decimal', precision: 38, scale: 4 }, nullable: true },
  { name: 'paid', type: { kind: 'decimal', precision: 18, scale: 2 }, nullable: true },
  { name: 'at', type: { kind: 'timestamp', fractionalDigits: 7 }, nullable: true },
  { name: 'tz', type: { kind: 'timestamptz', fractionalDigits: 7 }, nullable: true },
  { name: 'raw', type: { kind: 'binary' }, nullable: true },
  { name: 'g', type: { kind: 'uuid' }, nullable: true },
  { name: 'note', type: { kind: 'string' }, nullable: true },
];

test('a second, independent reader (pyarrow, no options) agrees with DuckDB on the committed files', async () => {
  const python = pythonWithPyarrow();
  const { store } = await freshStore('pyarrow');
  const layout = new TableLayout('raw', { db: 'Claims', schema: 'dbo', table: 'Payments' });
  const lake = { store, layout };
  const { doc } = await registerSchema(store, layout, { columns: COLUMNS, keyColumns: ['id'] });
  const at = 1_732_400_000_123_456_700n;
  await runWindow(lake, doc, { sequence: 1, from: '00', to: '02' }, 'a', [
    {
      op: 'c',
      position: '01',
      commitTs: 1_732_400_000_123_456_000n,
      values: [
        9007199254740993n,
        '1234567890123456789012345678901234.5678',
        '0.29',
        at,
        { epochNanos: at, offsetMinutes: 330 },
        Buffer.from('00ff10', 'hex'),
        '6f9619ff-8b86-d011-b42d-00c04fc964ff',
        'Zoë',
      ],
    },
    { op: 'd', position: '02', commitTs: null, values: [9007199254740993n, null, null, null, null, null, null, null] },
  ]);
  const cacheDir = tempDir();
  const reader = await LakeReader.open({ lake, cacheDir });
  let duck;
  try {
    duck = await reader.scalars(
      `SELECT _op, _pos, id::VARCHAR AS id, amount::VARCHAR AS amount, paid::VARCHAR AS paid, epoch_us("at")::VARCHAR AS "at",
              at__100ns::VARCHAR AS at100, epoch_us(tz.utc)::VARCHAR AS tz_utc, tz.offset_minutes::VARCHAR AS tz_offset,
              tz__100ns::VARCHAR AS tz100, lower(hex(raw)) AS raw, g, note
       FROM changes ORDER BY _pos`,
    );
  } finally {
    await reader.close();
  }
  const files = readdirSync(cacheDir).map((f) => join(cacheDir, f));
  const py = JSON.parse(execFileSync(python, ['-c', PY, ...files], { encoding: 'utf8' })) as {
    types: Record<string, string>;
    rows: Record<string, unknown>[];
  };
  assert.equal(py.types.amount, 'decimal128(38, 4)');
  // Microseconds (what every reader's timestamp is) and the 100 ns digit beside them; uuid as text.
  assert.equal(py.types.at, 'timestamp[us]');
  assert.equal(py.types.at__100ns, 'uint8');
  assert.equal(py.types.g, 'string');
  const fromPy = py.rows.map((r) => {
    const tz = r.tz as { utc: string; offset_minutes: string } | null;
    return {
      _op: r._op,
      _pos: r._pos,
      id: r.id,
      amount: r.amount,
      paid: r.paid,
      at: r.at,
      at100: r.at__100ns,
      tz_utc: tz?.utc ?? null,
      tz_offset: tz?.offset_minutes ?? null,
      tz100: r.tz__100ns,
      raw: r.raw,
      g: r.g,
      note: r.note,
    };
  });
  assert.deepEqual(fromPy, duck);
  assert.equal(duck[0]?.amount, '1234567890123456789012345678901234.5678');
  assert.equal(BigInt(String(duck[0]?.at)) * 1000n + BigInt(String(duck[0]?.at100)) * 100n, at);
  assert.equal(duck[0]?.id, '9007199254740993');
});

test('every codec sink.parquet allows lands files pyarrow and DuckDB read to the same values as the default', async () => {
  const python = pythonWithPyarrow();
  const { store } = await freshStore('pyarrow-codecs');
  const events = Array.from({ length: 300 }, (_, i) => ({
    op: 'c' as const,
    position: String(i).padStart(4, '0'),
    commitTs: 1_732_400_000_123_456_000n + BigInt(i) * 1000n,
    values: [
      BigInt(i) * 9_007_199_254_741n,
      i % 7 === 0 ? null : `${i}.${String(i).padStart(4, '0')}`,
      `${i % 100}.25`,
      1_732_400_000_123_456_700n + BigInt(i) * 100n,
      { epochNanos: 1_732_400_000_123_456_700n - BigInt(i) * 100n, offsetMinutes: -300 },
      Buffer.from([i & 0xff, 0, 7]),
      '6f9619ff-8b86-d011-b42d-00c04fc964ff',
      i % 3 === 0 ? null : `Zoë ${'é'.repeat(i % 9)}`,
    ],
  }));
  const land = async (name: string, compression?: ParquetCompression) => {
    const layout = new TableLayout('raw', { db: 'Claims', schema: 'dbo', table: name });
    const lake = { store, layout };
    const { doc } = await registerSchema(store, layout, { columns: COLUMNS, keyColumns: ['id'] });
    await runWindow(lake, doc, { sequence: 1, from: '0000', to: '9999' }, 'a', events, {
      ...(compression ? { compression } : {}),
    });
    const cacheDir = tempDir();
    const reader = await LakeReader.open({ lake, cacheDir });
    let duck;
    try {
      duck = await reader.scalars(
        `SELECT _pos, id::VARCHAR AS id, amount::VARCHAR AS amount, epoch_us("at")::VARCHAR AS "at", at__100ns::VARCHAR AS at100,
                epoch_us(tz.utc)::VARCHAR AS tz_utc, lower(hex(raw)) AS raw, g, note FROM changes ORDER BY _pos`,
      );
    } finally {
      await reader.close();
    }
    const files = readdirSync(cacheDir).map((f) => join(cacheDir, f));
    const codecs = execFileSync(
      python,
      [
        '-c',
        'import sys, pyarrow.parquet as pq; m = pq.ParquetFile(sys.argv[1]).metadata; print(m.row_group(0).column(0).compression)',
        files[0] ?? '',
      ],
      { encoding: 'utf8' },
    ).trim();
    const py = JSON.parse(execFileSync(python, ['-c', PY, ...files], { encoding: 'utf8' })) as {
      rows: Record<string, unknown>[];
    };
    return { duck, py: py.rows, codecs };
  };
  const byDefault = await land('ByDefault');
  assert.equal(byDefault.codecs, 'ZSTD', 'zstd when sink.parquet is not set');
  assert.equal(byDefault.duck.length, 300);
  for (const codec of PARQUET_CODECS) {
    const got = await land(`Codec_${codec}`, { codec });
    assert.equal(got.codecs, codec.toUpperCase(), codec);
    assert.deepEqual(got.duck, byDefault.duck, `${codec}: DuckDB reads the default's values`);
    assert.deepEqual(got.py, byDefault.py, `${codec}: pyarrow reads the default's values`);
  }
});
