import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TableLayout } from '../../../src/lake/layout.js';
import { latestSchema, registerSchema, type SchemaProposal } from '../../../src/lake/schema-registry.js';
import { readManifest } from '../../../src/lake/manifest.js';
import { type ChangeEvent } from '../../../src/lake/stage-window.js';
import { type LakeTable } from '../../../src/lake/lake-table.js';
import { LakeReader } from '../../../src/lake/reader.js';
import { IncompatibleSchemaChangeError } from '../../../src/lake/errors.js';
import type { LakeColumn, LakeValue } from '../../../src/domain/values.js';
import { freshStore } from '../../support/lake.js';
import { runWindow } from '../../support/lake-window.js';

const pos = (n: number) => n.toString(16).padStart(16, '0');

/** One column of every lake type, with the exact value written and the text DuckDB must read back. */
const ALL_TYPES: { col: LakeColumn; value: LakeValue; text: string }[] = [
  { col: { name: 'id', type: { kind: 'int64' }, nullable: false }, value: 9007199254740993n, text: '9007199254740993' },
  { col: { name: 'b', type: { kind: 'boolean' }, nullable: true }, value: true, text: 'true' },
  { col: { name: 'u8', type: { kind: 'uint8' }, nullable: true }, value: 255, text: '255' },
  { col: { name: 'i16', type: { kind: 'int16' }, nullable: true }, value: -32768, text: '-32768' },
  { col: { name: 'i32', type: { kind: 'int32' }, nullable: true }, value: 2147483647, text: '2147483647' },
  {
    col: { name: 'i64', type: { kind: 'int64' }, nullable: true },
    value: -9223372036854775808n,
    text: '-9223372036854775808',
  },
  {
    col: { name: 'money', type: { kind: 'decimal', precision: 19, scale: 4 }, nullable: true },
    value: '922337203685477.5807',
    text: '922337203685477.5807',
  },
  {
    col: { name: 'dec38', type: { kind: 'decimal', precision: 38, scale: 10 }, nullable: true },
    value: { unscaled: -12345678901234567890123456789012345678n, scale: 10 },
    text: '-1234567890123456789012345678.9012345678',
  },
  {
    col: { name: 'cents', type: { kind: 'decimal', precision: 18, scale: 2 }, nullable: true },
    value: '0.29',
    text: '0.29',
  },
  { col: { name: 'f32', type: { kind: 'float32' }, nullable: true }, value: 1.5, text: '1.5' },
  { col: { name: 'f64', type: { kind: 'float64' }, nullable: true }, value: 0.1, text: '0.1' },
  {
    col: { name: 's', type: { kind: 'string' }, nullable: true },
    value: `Zoë ✓ 𝄞 ${'x'.repeat(10_000)}`,
    text: `Zoë ✓ 𝄞 ${'x'.repeat(10_000)}`,
  },
  {
    col: { name: 'bin', type: { kind: 'binary', maxLength: 8 }, nullable: true },
    value: Buffer.from([0, 1, 127, 128, 255]),
    text: '00017f80ff',
  },
  { col: { name: 'd', type: { kind: 'date' }, nullable: true }, value: '0001-01-01', text: '0001-01-01' },
  {
    col: { name: 't', type: { kind: 'time', fractionalDigits: 7 }, nullable: true },
    value: 86_399_999_999_900n,
    text: '23:59:59.9999999',
  },
  {
    col: { name: 'ts7', type: { kind: 'timestamp', fractionalDigits: 7 }, nullable: true },
    value: 1_732_400_000_123_456_700n,
    text: '2024-11-23 22:13:20.1234567',
  },
  {
    // The period-end sentinel of a system-versioned table: beyond what a nanosecond unit holds (2262).
    col: { name: 'ts7max', type: { kind: 'timestamp', fractionalDigits: 7 }, nullable: true },
    value: 253_402_300_799_999_999_900n,
    text: '9999-12-31 23:59:59.9999999',
  },
  {
    // 100 ns before 1970: the microseconds are floored, the companion digit is 9.
    col: { name: 'ts7neg', type: { kind: 'timestamp', fractionalDigits: 7 }, nullable: true },
    value: -100n,
    text: '1969-12-31 23:59:59.9999999',
  },
  {
    col: { name: 'ts7min', type: { kind: 'timestamp', fractionalDigits: 7 }, nullable: true },
    value: -62_135_596_800_000_000_000n,
    text: '0001-01-01 00:00:00.0000000',
  },
  {
    col: { name: 'ts3', type: { kind: 'timestamp', fractionalDigits: 3 }, nullable: true },
    value: 253_402_300_799_997_000_000n,
    text: '9999-12-31 23:59:59.997',
  },
  {
    col: { name: 'tz', type: { kind: 'timestamptz', fractionalDigits: 7 }, nullable: true },
    value: { epochNanos: 1_732_400_000_123_456_700n, offsetMinutes: -330 },
    text: '2024-11-23 22:13:20.1234567|-330',
  },
  {
    col: { name: 'tzmax', type: { kind: 'timestamptz', fractionalDigits: 7 }, nullable: true },
    value: { epochNanos: 253_402_300_799_999_999_900n, offsetMinutes: 840 },
    text: '9999-12-31 23:59:59.9999999|840',
  },
  {
    col: { name: 'g', type: { kind: 'uuid' }, nullable: true },
    value: '6F9619FF-8B86-D011-B42D-00C04FC964FF',
    text: '6f9619ff-8b86-d011-b42d-00c04fc964ff',
  },
];

/**
 * SQL that renders each column as exact text from what the files store — as any reader would: a 7-digit
 * timestamp is the microsecond column followed by the digit of its `__100ns` companion (docs/type-mapping.md).
 */
function textSql(c: LakeColumn): string {
  const q = `"${c.name}"`;
  const seven = (c.type.kind === 'timestamp' || c.type.kind === 'timestamptz') && c.type.fractionalDigits === 7;
  const micros = (ts: string) => `strftime(${ts}, '%Y-%m-%d %H:%M:%S.%f')`;
  const exact = (ts: string) => (seven ? `${micros(ts)} || "${c.name}__100ns"::VARCHAR` : `${ts}::VARCHAR`);
  switch (c.type.kind) {
    case 'binary':
      return `lower(hex(${q}))`;
    case 'timestamp':
      return exact(q);
    case 'timestamptz':
      return `${exact(`${q}.utc`)} || '|' || ${q}.offset_minutes::VARCHAR`;
    case 'boolean':
      return `CASE WHEN ${q} THEN 'true' ELSE 'false' END`;
    default:
      return `${q}::VARCHAR`;
  }
}

async function setupTable(label: string): Promise<LakeTable> {
  const { store } = await freshStore(label);
  return { store, layout: new TableLayout('raw', { db: 'Claims', schema: 'dbo', table: 'AllTypes' }) };
}

test('every lake type is read back exactly by DuckDB (decimals, 100 ns, offsets, binary, bigint > 2^53)', async () => {
  const lake = await setupTable('types');
  const columns = ALL_TYPES.map((t) => t.col);
  const { doc } = await registerSchema(lake.store, lake.layout, { columns, keyColumns: ['id'] });
  const events: ChangeEvent[] = [
    { op: 'c', position: pos(1), commitTs: null, values: ALL_TYPES.map((t) => t.value) },
    { op: 'c', position: pos(2), commitTs: null, values: columns.map((c) => (c.name === 'id' ? 1n : null)) },
  ];
  await runWindow(lake, doc, { sequence: 1, from: pos(0), to: pos(2) }, 'a', events);
  const reader = await LakeReader.open({ lake });
  try {
    const [row] = await reader.scalars(
      `SELECT ${columns.map((c) => `${textSql(c)} AS "${c.name}"`).join(', ')} FROM changes WHERE _pos = '${pos(1)}'`,
    );
    for (const t of ALL_TYPES) assert.equal(row?.[t.col.name], t.text, t.col.name);
    const [nulls] = await reader.scalars(
      `SELECT ${columns.map((c) => `("${c.name}" IS NULL)::INT`).join(' + ')} AS n FROM changes WHERE _pos = '${pos(2)}'`,
    );
    assert.equal(nulls?.n, columns.length - 1, 'every nullable column reads NULL back');
  } finally {
    await reader.close();
  }
});

const BASE: SchemaProposal = {
  keyColumns: ['claim_id'],
  columns: [
    { name: 'claim_id', type: { kind: 'int32' }, nullable: false },
    { name: 'units', type: { kind: 'uint8' }, nullable: true },
    { name: 'amount', type: { kind: 'decimal', precision: 9, scale: 2 }, nullable: true },
    { name: 'code', type: { kind: 'string', maxLength: 5 }, nullable: true },
    { name: 'at', type: { kind: 'timestamp', fractionalDigits: 3 }, nullable: true },
  ],
};

test('schema evolution: added columns and widenings create versions and flow; old windows read NULL', async () => {
  const lake = await setupTable('evolve');
  const v1 = await registerSchema(lake.store, lake.layout, BASE);
  assert.deepEqual([v1.version, v1.created], [1, true]);
  assert.equal((await registerSchema(lake.store, lake.layout, BASE)).created, false, 'unchanged → same version');
  await runWindow(lake, v1.doc, { sequence: 1, from: pos(0), to: pos(1) }, 'a', [
    { op: 'c', position: pos(1), commitTs: null, values: [1, 3, '12.50', 'A1', 1_000_000_000_000_000n] },
  ]);
  const widened: SchemaProposal = {
    keyColumns: ['claim_id'],
    columns: [
      { name: 'claim_id', type: { kind: 'int64' }, nullable: false },
      { name: 'units', type: { kind: 'int16' }, nullable: true },
      { name: 'amount', type: { kind: 'decimal', precision: 18, scale: 2 }, nullable: true },
      { name: 'code', type: { kind: 'string', maxLength: 50 }, nullable: true },
      { name: 'at', type: { kind: 'timestamp', fractionalDigits: 7 }, nullable: true },
      { name: 'note', type: { kind: 'string' }, nullable: true },
    ],
  };
  const v2 = await registerSchema(lake.store, lake.layout, widened);
  assert.equal(v2.version, 2);
  assert.deepEqual(v2.changes, [
    'widened claim_id int32→int64',
    'widened units uint8→int16',
    'widened amount decimal(9,2)→decimal(18,2)',
    'widened code string(5)→string(50)',
    'widened at timestamp(3)→timestamp(7)',
    'added note string(max)',
  ]);
  await runWindow(lake, v2.doc, { sequence: 2, from: pos(1), to: pos(2) }, 'a', [
    {
      op: 'u',
      position: pos(2),
      commitTs: null,
      values: [1n, 300, '1234567890123456.78', 'LONGER-CODE', 1_000_000_000_000_000_100n, 'added'],
    },
  ]);
  assert.equal((await readManifest(lake, 2))?.schemaVersion, 2);
  const reader = await LakeReader.open({ lake });
  try {
    // The widening to 7 digits adds the companion column: window 1's file has none (NULL, meaning 0).
    const rows = await reader.scalars(
      `SELECT _window_id::INT AS w, claim_id::VARCHAR AS id, amount::VARCHAR AS amount, "at"::VARCHAR AS "at",
              at__100ns::INT AS at100, note FROM changes ORDER BY _pos`,
    );
    assert.deepEqual(rows, [
      { w: 1, id: '1', amount: '12.50', at: '1970-01-12 13:46:40', at100: null, note: null },
      { w: 2, id: '1', amount: '1234567890123456.78', at: '2001-09-09 01:46:40', at100: 1, note: 'added' },
    ]);
    const latest = await reader.scalars('SELECT count(*)::INT AS n, max(note) AS note FROM latest');
    assert.deepEqual(latest, [{ n: 1, note: 'added' }]);
  } finally {
    await reader.close();
  }
});

test('a narrowing, a type change, a dropped column or a key change stops with the error and lands nothing', async () => {
  const lake = await setupTable('narrow');
  await registerSchema(lake.store, lake.layout, BASE);
  const cols = BASE.columns;
  const cases: { label: string; proposal: SchemaProposal; problem: RegExp }[] = [
    {
      label: 'narrowing',
      proposal: {
        ...BASE,
        columns: cols.map((c) => (c.name === 'code' ? { ...c, type: { kind: 'string', maxLength: 3 } } : c)),
      },
      problem: /code: narrowing string\(5\)→string\(3\)/,
    },
    {
      label: 'scale change',
      proposal: {
        ...BASE,
        columns: cols.map((c) =>
          c.name === 'amount' ? { ...c, type: { kind: 'decimal', precision: 12, scale: 4 } } : c,
        ),
      },
      problem: /decimal scale change/,
    },
    {
      label: 'type change',
      proposal: { ...BASE, columns: cols.map((c) => (c.name === 'units' ? { ...c, type: { kind: 'string' } } : c)) },
      problem: /type change uint8→string\(max\)/,
    },
    {
      label: 'drop',
      proposal: { ...BASE, columns: cols.filter((c) => c.name !== 'code') },
      problem: /code was dropped/,
    },
    { label: 'key change', proposal: { ...BASE, keyColumns: ['claim_id', 'code'] }, problem: /key columns changed/ },
  ];
  for (const c of cases) {
    await assert.rejects(
      registerSchema(lake.store, lake.layout, c.proposal),
      (err: unknown) =>
        err instanceof IncompatibleSchemaChangeError && c.problem.test(err.message) && err.fromVersion === 1,
      c.label,
    );
  }
  assert.equal((await latestSchema(lake.store, lake.layout))?.version, 1, 'no version was created');
  const manifests = [];
  for await (const m of lake.store.list(lake.layout.manifestsPrefix)) manifests.push(m);
  assert.equal(manifests.length, 0);
});

test('a lake written by an earlier release with nanosecond / UUID columns is refused with what to do; one without them reads on', async () => {
  const layout1 = (columns: LakeColumn[]) => ({
    format: 'tidemark.schema/1',
    table: 'Claims.dbo.AllTypes',
    version: 1,
    columns,
    keyColumns: ['id'],
    previousVersion: null,
    changes: ['initial'],
    createdAt: '2025-11-01T00:00:00.000Z',
  });
  const put = (lake: LakeTable, doc: object) =>
    lake.store.putIfAbsent(lake.layout.schemaPath(1), `${JSON.stringify(doc, null, 2)}\n`);
  const id: LakeColumn = { name: 'id', type: { kind: 'int64' }, nullable: false };

  const old = await setupTable('layout1');
  await put(
    old,
    layout1([
      id,
      { name: 'ValidTo', type: { kind: 'timestamp', fractionalDigits: 7 }, nullable: true },
      { name: 'g', type: { kind: 'uuid' }, nullable: true },
      { name: 'at', type: { kind: 'timestamp', fractionalDigits: 3 }, nullable: true },
    ]),
  );
  const refused = (err: unknown) => {
    assert.ok(err instanceof IncompatibleSchemaChangeError, String(err));
    assert.match(
      err.message,
      /written by an earlier Tidemark release that stored ValidTo \(timestamp\(7\)\), g \(uuid\)/,
    );
    assert.match(err.message, /new sink prefix/);
    assert.doesNotMatch(err.message, /\bat\b \(/);
    return true;
  };
  await assert.rejects(LakeReader.open({ lake: old }), refused);
  await assert.rejects(registerSchema(old.store, old.layout, { columns: [id], keyColumns: ['id'] }), refused);

  // Same layout in both releases: read and extended as before (the new version records the new layout).
  const plain = await setupTable('layout1-plain');
  await put(plain, layout1([id, { name: 'at', type: { kind: 'timestamp', fractionalDigits: 3 }, nullable: true }]));
  assert.equal((await latestSchema(plain.store, plain.layout))?.version, 1);
  const next = await registerSchema(plain.store, plain.layout, {
    columns: [
      id,
      { name: 'at', type: { kind: 'timestamp', fractionalDigits: 3 }, nullable: true },
      { name: 'g', type: { kind: 'uuid' }, nullable: true },
    ],
    keyColumns: ['id'],
  });
  assert.equal(next.version, 2);
  assert.equal(next.doc.storage, 2);
  const reader = await LakeReader.open({ lake: plain });
  await reader.close();
});
