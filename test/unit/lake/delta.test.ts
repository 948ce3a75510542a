import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TableLayout } from '../../../src/lake/layout.js';
import type { Manifest } from '../../../src/lake/manifest.js';
import type { SchemaDoc } from '../../../src/lake/schema-registry.js';
import type { LakeColumn, LakeType } from '../../../src/domain/values.js';
import { DeltaSchemaError, deltaSchemaOf, schemaChangeProblems } from '../../../src/lake/delta/delta-schema.js';
import { DeltaLogPaths, padVersion } from '../../../src/lake/delta/log-paths.js';
import {
  creationVersion,
  deltaTableId,
  serializeVersion,
  versionEssence,
  windowVersion,
  type CommitInfoAction,
} from '../../../src/lake/delta/version-actions.js';

const layout = new TableLayout('raw', { db: 'Claims', schema: 'dbo', table: 'Claims' });

function schema(columns: LakeColumn[], version = 1): SchemaDoc {
  return {
    format: 'tidemark.schema/1',
    table: layout.id,
    version,
    columns,
    keyColumns: [columns[0]?.name ?? 'id'],
    previousVersion: version > 1 ? version - 1 : null,
    changes: [],
    createdAt: '2025-11-24T16:00:00.000Z',
  };
}
const col = (name: string, type: LakeType): LakeColumn => ({ name, type, nullable: true });

test('every lake type stored in a Delta-declarable form maps to its Delta type; event columns first, commit_date last', () => {
  const s = deltaSchemaOf(
    schema([
      col('id', { kind: 'int64' }),
      col('b', { kind: 'boolean' }),
      col('u8', { kind: 'uint8' }),
      col('i16', { kind: 'int16' }),
      col('i32', { kind: 'int32' }),
      col('d', { kind: 'decimal', precision: 38, scale: 4 }),
      col('f', { kind: 'float32' }),
      col('g', { kind: 'float64' }),
      col('s', { kind: 'string', maxLength: 10 }),
      col('bin', { kind: 'binary' }),
      col('day', { kind: 'date' }),
      col('ts', { kind: 'timestamp', fractionalDigits: 6 }),
      col('tz', { kind: 'timestamptz', fractionalDigits: 0 }),
    ]),
  );
  assert.deepEqual(
    s.fields.map((f) => [f.name, f.type]),
    [
      ['_op', 'string'],
      ['_pos', 'string'],
      ['_commit_ts', 'timestamp_ntz'],
      ['_window_id', 'long'],
      ['_extracted_at', 'timestamp_ntz'],
      ['id', 'long'],
      ['b', 'boolean'],
      ['u8', 'short'],
      ['i16', 'short'],
      ['i32', 'integer'],
      ['d', 'decimal(38,4)'],
      ['f', 'float'],
      ['g', 'double'],
      ['s', 'string'],
      ['bin', 'binary'],
      ['day', 'date'],
      ['ts', 'timestamp_ntz'],
      [
        'tz',
        {
          type: 'struct',
          fields: [
            { name: 'utc', type: 'timestamp_ntz', nullable: true, metadata: {} },
            { name: 'offset_minutes', type: 'short', nullable: true, metadata: {} },
          ],
        },
      ],
      ['commit_date', 'date'],
    ],
  );
  assert.ok(
    s.fields.every((f) => f.nullable),
    'tombstones carry NULL in any non-key column',
  );
});

test('every SQL Server type has a Delta type: 7-digit timestamps get a __100ns companion (short), time and uuid are strings', () => {
  const doc = schema([
    col('id', { kind: 'int64' }),
    col('at', { kind: 'timestamp', fractionalDigits: 7 }),
    col('at6', { kind: 'timestamp', fractionalDigits: 6 }),
    col('tz', { kind: 'timestamptz', fractionalDigits: 7 }),
    col('t', { kind: 'time', fractionalDigits: 3 }),
    col('g', { kind: 'uuid' }),
  ]);
  const fields = deltaSchemaOf(doc).fields.map((f) => [f.name, f.type]);
  const tz = {
    type: 'struct',
    fields: [
      { name: 'utc', type: 'timestamp_ntz', nullable: true, metadata: {} },
      { name: 'offset_minutes', type: 'short', nullable: true, metadata: {} },
    ],
  };
  assert.deepEqual(fields.slice(5), [
    ['id', 'long'],
    ['at', 'timestamp_ntz'],
    ['at__100ns', 'short'],
    ['at6', 'timestamp_ntz'],
    ['tz', tz],
    ['tz__100ns', 'short'],
    ['t', 'string'],
    ['g', 'string'],
    ['commit_date', 'date'],
  ]);
});

test('what Delta cannot declare is refused, every column at once, naming columns and types only', () => {
  const doc = schema(
    [col('id', { kind: 'int64' }), col('Commit_Date', { kind: 'date' }), col('a b', { kind: 'int32' })],
    4,
  );
  assert.throws(
    () => deltaSchemaOf(doc),
    (err: unknown) => {
      assert.ok(err instanceof DeltaSchemaError);
      assert.equal(err.schemaVersion, 4);
      assert.equal(err.problems.length, 2);
      assert.match(err.problems[0] ?? '', /Delta partition column commit_date/);
      assert.match(err.problems[1] ?? '', /"a b" contains one of/);
      assert.match(err.message, /the lake itself is unaffected/i);
      return true;
    },
  );
});

test('added columns and lake widenings that keep the Delta type flow; a Delta type change does not', () => {
  const v1 = deltaSchemaOf(
    schema([col('id', { kind: 'int64' }), col('q', { kind: 'uint8' }), col('s', { kind: 'string', maxLength: 2 })]),
  );
  const v2 = deltaSchemaOf(
    schema(
      [
        col('id', { kind: 'int64' }),
        col('q', { kind: 'int16' }),
        col('s', { kind: 'string' }),
        col('n', { kind: 'date' }),
      ],
      2,
    ),
  );
  assert.deepEqual(schemaChangeProblems(v1, v2), []);
  const v3 = deltaSchemaOf(
    schema(
      [
        col('id', { kind: 'int64' }),
        col('q', { kind: 'int32' }),
        col('s', { kind: 'string' }),
        col('n', { kind: 'date' }),
      ],
      3,
    ),
  );
  assert.deepEqual(schemaChangeProblems(v2, v3), [
    'column q changes Delta type "short" → "integer": Delta allows that only with the typeWidening table feature, which delta-rs cannot read',
  ]);
  const d1 = deltaSchemaOf(
    schema([col('id', { kind: 'int64' }), col('m', { kind: 'decimal', precision: 18, scale: 2 })]),
  );
  const d2 = deltaSchemaOf(
    schema([col('id', { kind: 'int64' }), col('m', { kind: 'decimal', precision: 20, scale: 2 })], 2),
  );
  assert.equal(schemaChangeProblems(d1, d2).length, 1);
});

const manifest = (sequence: number, files: Manifest['files']): Manifest => ({
  format: 'tidemark.manifest/1',
  table: layout.id,
  sequence,
  window: { from: '00', to: '0f' },
  positions: { min: '01', max: '0f' },
  attemptId: 'a1',
  schemaVersion: 1,
  previousManifest: null,
  files,
  controlTotals: { rows: 3, rowsByOp: { c: 3, u: 0, d: 0, r: 0 }, sums: { amount: '123.45' } },
  committedAt: '2025-11-24T16:15:03.120Z',
  committedBy: 'worker',
});
const FILE = {
  path: 'data/commit_date=2025-11-24/w000000000007-aa1-p00000.parquet',
  commitDate: '2025-11-24',
  rows: 3,
  bytes: 1234,
  md5: 'bWQ1',
};

test('a window version: commitInfo with the manifest facts (no sums), one add per file with its partition and stats', () => {
  const first = schema([col('id', { kind: 'int64' })]);
  const tableId = deltaTableId(layout, first);
  const actions = windowVersion({ layout, manifest: manifest(7, [FILE]), tableId });
  const lines = serializeVersion(actions)
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as { commitInfo?: CommitInfoAction; add?: unknown });
  assert.equal(lines.length, 2);
  const info = lines[0]?.commitInfo;
  assert.ok(info);
  assert.equal(info.timestamp, Date.parse('2025-11-24T16:15:03.120Z'));
  assert.equal(info.tidemark.sequence, 7);
  assert.equal(info.tidemark.manifest, 'raw/Claims.dbo.Claims/_manifests/000000000007.json');
  assert.deepEqual(info.tidemark.rowsByOp, { c: 3, u: 0, d: 0, r: 0 });
  assert.doesNotMatch(JSON.stringify(info), /123\.45/, 'column sums stay in the manifest');
  assert.deepEqual(lines[1]?.add, {
    path: FILE.path,
    partitionValues: { commit_date: '2025-11-24' },
    size: 1234,
    modificationTime: Date.parse('2025-11-24T16:15:03.120Z'),
    dataChange: true,
    stats: JSON.stringify({
      numRecords: 3,
      minValues: { _window_id: 7 },
      maxValues: { _window_id: 7 },
      nullCount: { _window_id: 0 },
    }),
    tags: { 'tidemark.md5': 'bWQ1' },
  });
  // An empty window is a version too: commitInfo alone.
  assert.equal(windowVersion({ layout, manifest: manifest(8, []), tableId }).length, 1);
});

test('versions are deterministic; the same version from another release is recognised, another version is not', () => {
  const first = schema([col('id', { kind: 'int64' })]);
  assert.equal(serializeVersion(creationVersion(layout, first)), serializeVersion(creationVersion(layout, first)));
  const id = deltaTableId(layout, first);
  assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.notEqual(id, deltaTableId(new TableLayout('other', layout.table), first));
  assert.notEqual(id, deltaTableId(layout, { ...first, createdAt: '2026-01-01T00:00:00.000Z' }));

  const body = serializeVersion(windowVersion({ layout, manifest: manifest(7, [FILE]), tableId: id }));
  const restamped = body.replace(/"timestamp":\d+/, '"timestamp":1').replace(/"numRecords":3/, '"numRecords":3,"x":1');
  assert.equal(versionEssence(restamped), versionEssence(body));
  const otherFiles = serializeVersion(
    windowVersion({ layout, manifest: manifest(7, [{ ...FILE, bytes: 99 }]), tableId: id }),
  );
  assert.notEqual(versionEssence(otherFiles), versionEssence(body));
  const otherWindow = serializeVersion(windowVersion({ layout, manifest: manifest(8, [FILE]), tableId: id }));
  assert.notEqual(versionEssence(otherWindow), versionEssence(body));
  assert.equal(versionEssence('{"commitInfo":{"operation":"OPTIMIZE"}}\n') === versionEssence(body), false);
  assert.equal(versionEssence('not json'), '(unparseable)');
});

test('log names: 20-digit versions and classic checkpoints under <table root>/_delta_log/', () => {
  const paths = new DeltaLogPaths(layout);
  assert.equal(padVersion(42), '00000000000000000042');
  assert.equal(paths.version(42), 'raw/Claims.dbo.Claims/_delta_log/00000000000000000042.json');
  assert.equal(paths.checkpoint(100), 'raw/Claims.dbo.Claims/_delta_log/00000000000000000100.checkpoint.parquet');
  assert.equal(paths.versionOf(paths.version(42)), 42);
  assert.equal(paths.versionOf(paths.checkpoint(100)), undefined);
  assert.throws(() => padVersion(-1), RangeError);
});
