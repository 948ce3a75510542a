/**
 * The Delta publication read back by a real, independent Delta reader: delta-rs (the `deltalake` Python
 * package), straight from Azurite. The lake's own reader (DuckDB through the manifests) is the reference.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { TableLayout } from '../../../src/lake/layout.js';
import { registerSchema, type SchemaDoc } from '../../../src/lake/schema-registry.js';
import { readManifest } from '../../../src/lake/manifest.js';
import { type ChangeEvent } from '../../../src/lake/stage-window.js';
import { type LakeTable } from '../../../src/lake/lake-table.js';
import { LakeReader } from '../../../src/lake/reader.js';
import { LakeIntegrityError } from '../../../src/lake/errors.js';
import type { AzureBlobStore, BlobStore } from '../../../src/lake/blob-store.js';
import type { LakeColumn } from '../../../src/domain/values.js';
import { publishDelta } from '../../../src/lake/delta/publish.js';
import { DeltaLogPaths } from '../../../src/lake/delta/log-paths.js';
import { DeltaSchemaError } from '../../../src/lake/delta/delta-schema.js';
import { freshStore, tempDir } from '../../support/lake.js';
import { azuriteForTests } from '../../support/stack.js';
import { FaultyStore, InjectedCrashError, commitEmptyWindows, runWindow } from '../../support/lake-window.js';
import { readDeltaFromAzurite, readDeltaFromFolder, type DeltaRsView } from '../../support/deltalake.js';

/** Column types that Delta declares as they are stored today (see src/lake/delta/delta-schema.ts). */
const COLUMNS: LakeColumn[] = [
  { name: 'claim_id', type: { kind: 'int64' }, nullable: false },
  { name: 'amount', type: { kind: 'decimal', precision: 18, scale: 2 }, nullable: true },
  { name: 'status', type: { kind: 'string', maxLength: 2 }, nullable: true },
  { name: 'qty', type: { kind: 'uint8' }, nullable: true },
  { name: 'lines', type: { kind: 'int16' }, nullable: true },
  { name: 'flag', type: { kind: 'boolean' }, nullable: true },
  { name: 'svc_date', type: { kind: 'date' }, nullable: true },
  { name: 'updated', type: { kind: 'timestamp', fractionalDigits: 3 }, nullable: true },
  { name: 'seen', type: { kind: 'timestamptz', fractionalDigits: 6 }, nullable: true },
  { name: 'raw', type: { kind: 'binary', maxLength: 16 }, nullable: true },
  { name: 'ratio', type: { kind: 'float64' }, nullable: true },
];

/** Every column of `changes` as the same exact text the delta-rs script prints. */
const CHANGES_AS_TEXT = `
  SELECT _op, _pos, epoch_us(_commit_ts)::VARCHAR AS _commit_ts, _window_id::VARCHAR AS _window_id,
         epoch_us(_extracted_at)::VARCHAR AS _extracted_at, claim_id::VARCHAR AS claim_id, amount::VARCHAR AS amount,
         status, qty::VARCHAR AS qty, lines::VARCHAR AS lines, flag::VARCHAR AS flag, svc_date::VARCHAR AS svc_date,
         epoch_us(updated)::VARCHAR AS updated,
         CASE WHEN seen IS NULL THEN NULL
              ELSE {'utc': epoch_us(seen.utc)::VARCHAR, 'offset_minutes': seen.offset_minutes::VARCHAR} END AS seen,
         lower(hex(raw)) AS raw, ratio::VARCHAR AS ratio
  FROM changes`;

const pos = (n: number) => n.toString(16).padStart(16, '0');
const DAY1 = 1_763_942_400_000_000_000n; // 2025-11-24T00:00Z
const DAY2 = DAY1 + 86_400_000_000_000n;

function row(id: number, status: string, amount: string): unknown[] {
  return [
    BigInt(id),
    amount,
    status,
    255 - id,
    -id,
    id % 2 === 0,
    '2025-11-0' + String(1 + (id % 9)),
    DAY1 + BigInt(id) * 1_000_000n,
    { epochNanos: DAY1 + BigInt(id) * 1_000n, offsetMinutes: -300 },
    Buffer.from([id, 0, 255]),
    id / 4,
  ];
}

const ev = (op: ChangeEvent['op'], n: number, ts: bigint | null, values: unknown[]): ChangeEvent => ({
  op,
  position: pos(n),
  commitTs: ts,
  values: values as ChangeEvent['values'],
});

const WINDOW1: ChangeEvent[] = [1, 2, 3, 4].map((i) =>
  ev('c', i, i === 4 ? DAY2 + 4000n : DAY1 + BigInt(i) * 1000n, row(i, 'PN', `${i}00.0${i}`)),
);
const WINDOW2: ChangeEvent[] = [
  ev('u', 10, DAY2 + 10_000n, row(1, 'PD', '150.00')),
  ev('d', 11, null, [2n, null, null, null, null, null, null, null, null, null, null]),
  ev('c', 12, DAY2 + 12_000n, row(5, 'AJ', '9007199254740993.99')),
];

interface Table {
  readonly lake: LakeTable;
  readonly store: AzureBlobStore;
  readonly container: string;
  readonly schema: SchemaDoc;
}

async function setup(label: string, columns = COLUMNS): Promise<Table> {
  const { store, container } = await freshStore(label);
  const lake: LakeTable = { store, layout: new TableLayout('raw', { db: 'Claims', schema: 'dbo', table: 'Claims' }) };
  const { doc } = await registerSchema(store, lake.layout, { columns, keyColumns: ['claim_id'] });
  return { lake, store, container, schema: doc };
}

async function viaDelta(t: Table, options: Parameters<typeof readDeltaFromAzurite>[3] = {}): Promise<DeltaRsView> {
  return readDeltaFromAzurite(await azuriteForTests(), t.container, t.lake.layout.root, options);
}

/** The manifests' view (the reference): every event as text, and the latest state. */
async function viaManifests(lake: LakeTable, sql = `${CHANGES_AS_TEXT} ORDER BY _pos, claim_id::VARCHAR`) {
  const reader = await LakeReader.open({ lake });
  try {
    const changes = await reader.query(sql);
    const latest = await reader.query(`SELECT claim_id::VARCHAR AS claim_id FROM latest ORDER BY claim_id`);
    const files = reader.manifests.flatMap((m) => m.files.map((f) => f.path)).sort();
    return { changes, latest: latest.map((r) => r.claim_id), files };
  } finally {
    await reader.close();
  }
}

/** The latest state as a Delta reader computes it: last event per key by `_pos`, tombstones dropped. */
function latestOf(rows: Record<string, unknown>[]): unknown[] {
  const last = new Map<string, Record<string, unknown>>();
  for (const r of [...rows].sort((a, b) => String(a._pos).localeCompare(String(b._pos))))
    last.set(String(r.claim_id), r);
  return [...last.values()]
    .filter((r) => r._op !== 'd')
    .map((r) => String(r.claim_id))
    .sort();
}

const relative = (view: DeltaRsView, t: Table) =>
  view.files.map((uri) => uri.slice(uri.indexOf(t.lake.layout.root) + t.lake.layout.root.length)).sort();

/** The versions in `_delta_log/` (listing) and the manifest sequence each one's commitInfo names. */
async function logVersions(t: Table): Promise<{ versions: number[]; sequences: number[] }> {
  const paths = new DeltaLogPaths(t.lake.layout);
  const versions: number[] = [];
  const sequences: number[] = [];
  for await (const item of t.store.list(paths.prefix)) {
    const v = paths.versionOf(item.path);
    if (v === undefined) continue;
    versions.push(v);
    const body = (await t.store.get(item.path))?.body.toString('utf8') ?? '';
    const info = JSON.parse(body.split('\n')[0] ?? '{}') as { commitInfo?: { tidemark?: { sequence?: number } } };
    sequences.push(info.commitInfo?.tidemark?.sequence ?? -1);
  }
  return { versions, sequences };
}

test('delta-rs reads exactly the committed windows from Azurite: same rows and latest state as the manifests, no orphan file', async () => {
  const t = await setup('delta-read');
  await runWindow(t.lake, t.schema, { sequence: 1, from: pos(0), to: pos(9) }, 'a1', WINDOW1);
  // A losing attempt of window 2 staged its files, then another attempt committed: its files are orphans.
  await runWindow(t.lake, t.schema, { sequence: 2, from: pos(9), to: pos(12) }, 'lost', WINDOW2, {
    stopAfter: 'stage',
  });
  await runWindow(t.lake, t.schema, { sequence: 2, from: pos(9), to: pos(12) }, 'won', WINDOW2);
  await runWindow(t.lake, t.schema, { sequence: 3, from: pos(12), to: pos(20) }, 'a1', []); // an empty window

  const published = await publishDelta({ lake: t.lake });
  assert.deepEqual(published, { version: 3, written: [0, 1, 2, 3], checkpoints: [], behind: false });

  const delta = await viaDelta(t, { history: true });
  const reference = await viaManifests(t.lake);
  assert.equal(delta.version, 3);
  assert.deepEqual(relative(delta, t), reference.files);
  assert.ok(
    reference.files.every((f) => !f.includes('-alost-')),
    'the losing attempt is not in any manifest',
  );
  const orphans: string[] = [];
  for await (const item of t.store.list(t.lake.layout.resolve('data/')))
    if (item.path.includes('-alost-')) orphans.push(item.path);
  assert.ok(orphans.length > 0, 'the losing attempt left files in data/');

  // Rows: identical, every column, exact. The partition column comes from the log.
  const rows = delta.rows ?? [];
  const commitDates = rows.map((r) => r.commit_date);
  assert.deepEqual(commitDates, [
    '2025-11-24',
    '2025-11-24',
    '2025-11-24',
    '2025-11-25',
    '2025-11-25',
    '2025-11-24',
    '2025-11-25',
  ]);
  assert.deepEqual(
    rows.map(({ commit_date: _cd, ...rest }) => rest),
    reference.changes,
  );
  assert.deepEqual(latestOf(rows), reference.latest);
  assert.deepEqual(reference.latest, ['1', '3', '4', '5']);

  // Protocol, properties, and what each version says about its window.
  assert.deepEqual(delta.protocol, {
    minReaderVersion: 3,
    minWriterVersion: 7,
    readerFeatures: ['timestampNtz'],
    writerFeatures: ['appendOnly', 'timestampNtz'],
  });
  assert.equal(delta.metadata.configuration['delta.appendOnly'], 'true');
  assert.deepEqual(delta.metadata.partitionColumns, ['commit_date']);
  const history = [...(delta.history ?? [])].sort((a, b) => a.version - b.version);
  assert.deepEqual(
    history.map((h) => [h.version, h.operation, h.tidemark?.sequence, h.tidemark?.rows]),
    [
      [0, 'CREATE TABLE', 0, undefined],
      [1, 'WRITE', 1, 4],
      [2, 'WRITE', 2, 3],
      [3, 'WRITE', 3, 0],
    ],
  );
  assert.equal(history[2]?.tidemark?.manifest, t.lake.layout.manifestPath(2));
  assert.deepEqual(history[2]?.tidemark?.window, { from: pos(9), to: pos(12) });

  // Publishing again is a no-op.
  assert.deepEqual(await publishDelta({ lake: t.lake }), { version: 3, written: [], checkpoints: [], behind: false });
});

test('a publication interrupted after a manifest and between two versions is completed by the next call: no gap, no duplicate', async () => {
  const t = await setup('delta-crash');
  const one = (n: number) => [ev('c', n * 10, DAY1 + BigInt(n) * 1000n, row(n, 'PN', `${n}.00`))];
  for (let n = 1; n <= 3; n++)
    await runWindow(t.lake, t.schema, { sequence: n, from: pos((n - 1) * 10), to: pos(n * 10) }, 'a', one(n));

  // Crash at the third write of the publication: versions 0 and 1 exist, version 2 does not.
  const faulty: LakeTable = { ...t.lake, store: new FaultyStore(t.store, 2) };
  await assert.rejects(publishDelta({ lake: faulty }), InjectedCrashError);
  assert.deepEqual((await logVersions(t)).versions, [0, 1]);
  // Window 4 commits; its publication never runs (a crash right after the manifest).
  await runWindow(t.lake, t.schema, { sequence: 4, from: pos(30), to: pos(40) }, 'a', one(4));

  const repaired = await publishDelta({ lake: t.lake });
  assert.deepEqual(repaired.written, [2, 3, 4]);
  assert.deepEqual(await logVersions(t), { versions: [0, 1, 2, 3, 4], sequences: [0, 1, 2, 3, 4] });
  const delta = await viaDelta(t);
  assert.equal(delta.version, 4);
  assert.deepEqual(
    (delta.rows ?? []).map(({ commit_date: _cd, ...rest }) => rest),
    (await viaManifests(t.lake)).changes,
  );
});

test('two publishers racing write each version once; a foreign version at a window is a loud integrity error', async () => {
  const t = await setup('delta-race');
  for (let n = 1; n <= 4; n++)
    await runWindow(t.lake, t.schema, { sequence: n, from: pos(n - 1), to: pos(n) }, 'a', [
      ev('c', n, DAY1, row(n, 'PN', '1.00')),
    ]);
  const [a, b] = await Promise.all([publishDelta({ lake: t.lake }), publishDelta({ lake: t.lake })]);
  assert.equal(a.version, 4);
  assert.equal(b.version, 4);
  assert.deepEqual([...a.written, ...b.written].sort(), [0, 1, 2, 3, 4]);
  assert.deepEqual(await logVersions(t), { versions: [0, 1, 2, 3, 4], sequences: [0, 1, 2, 3, 4] });

  // Another Delta writer took version 5 before Tidemark published window 5.
  const other = new DeltaLogPaths(t.lake.layout);
  await t.store.putIfAbsent(other.version(5), `${JSON.stringify({ commitInfo: { operation: 'OPTIMIZE' } })}\n`);
  await runWindow(t.lake, t.schema, { sequence: 5, from: pos(4), to: pos(5) }, 'a', [
    ev('c', 5, DAY1, row(5, 'PN', '1.00')),
  ]);
  await assert.rejects(publishDelta({ lake: t.lake }), (err: unknown) => {
    assert.ok(err instanceof LakeIntegrityError);
    assert.match(err.message, /Delta version 5 .* is not the version manifest 5 gives/);
    return true;
  });
});

/** `store`, counting the requests made through it (one object: a process's publications of one store). */
function countingStore(store: BlobStore): { store: BlobStore; requests: () => number } {
  let n = 0;
  const counted = new Proxy(store, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown;
      if (typeof v !== 'function') return v;
      return (...args: unknown[]) => {
        n++;
        return (v as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store: counted, requests: () => n };
}

test('the next publication in the process checks that its known head is still the head (two requests), not the whole head', async () => {
  const t = await setup('delta-known-head');
  const one = (n: number) => [ev('c', n * 10, DAY1 + BigInt(n) * 1000n, row(n, 'PN', `${n}.00`))];
  const commit = (n: number) =>
    runWindow(t.lake, t.schema, { sequence: n, from: pos((n - 1) * 10), to: pos(n * 10) }, 'a', one(n));
  for (let n = 1; n <= 8; n++) await commit(n);
  const worker = countingStore(t.store);
  assert.equal((await publishDelta({ lake: { ...t.lake, store: worker.store } })).version, 8);

  // Window 9, published by the same process: the head's two existence checks (at once), manifest 9, version 9,
  // and the absent manifest 10.
  await commit(9);
  let before = worker.requests();
  const next = await publishDelta({ lake: { ...t.lake, store: worker.store } });
  assert.deepEqual(next.written, [9]);
  assert.equal(worker.requests() - before, 5);
  // Another process (a worker that never published this table) searches the head and checks it.
  await commit(10);
  const other = countingStore(t.store);
  assert.deepEqual((await publishDelta({ lake: { ...t.lake, store: other.store } })).written, [10]);
  assert.ok(other.requests() >= 12, `a first publication's requests: ${other.requests()}`);
  assert.deepEqual(await logVersions(t), {
    versions: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
    sequences: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
  });

  // The first process's known head (9) is no longer the head: it searches and checks the head again, and so finds
  // the version another Delta writer put after it.
  await t.store.putIfAbsent(
    new DeltaLogPaths(t.lake.layout).version(11),
    `${JSON.stringify({ commitInfo: { operation: 'OPTIMIZE' } })}\n`,
  );
  await commit(11);
  before = worker.requests();
  await assert.rejects(publishDelta({ lake: { ...t.lake, store: worker.store } }), (err: unknown) => {
    assert.ok(err instanceof LakeIntegrityError);
    assert.match(err.message, /Delta version 11 .* is not the version manifest 11 gives/);
    return true;
  });
  assert.ok(worker.requests() - before >= 10, 'the head was searched and checked');
});

test('an added column becomes a new metaData that delta-rs reads (older files read NULL); a Delta type change is refused', async () => {
  const base: LakeColumn[] = [
    { name: 'claim_id', type: { kind: 'int64' }, nullable: false },
    { name: 'units', type: { kind: 'int32' }, nullable: true },
  ];
  const t = await setup('delta-schema', base);
  await runWindow(t.lake, t.schema, { sequence: 1, from: pos(0), to: pos(1) }, 'a', [
    { op: 'c', position: pos(1), commitTs: DAY1, values: [1n, 7] },
  ]);
  const v2 = await registerSchema(t.store, t.lake.layout, {
    columns: [...base, { name: 'note', type: { kind: 'string' }, nullable: true }],
    keyColumns: ['claim_id'],
  });
  assert.equal(v2.version, 2);
  await runWindow(t.lake, v2.doc, { sequence: 2, from: pos(1), to: pos(2) }, 'a', [
    { op: 'c', position: pos(2), commitTs: DAY1, values: [2n, 8, 'Zoë'] },
  ]);
  await runWindow(t.lake, v2.doc, { sequence: 3, from: pos(2), to: pos(3) }, 'a', [
    { op: 'u', position: pos(3), commitTs: DAY1, values: [1n, 9, 'again'] },
  ]);
  assert.equal((await publishDelta({ lake: t.lake })).version, 3);
  const version2 = (await t.store.get(new DeltaLogPaths(t.lake.layout).version(2)))?.body.toString('utf8') ?? '';
  const version3 = (await t.store.get(new DeltaLogPaths(t.lake.layout).version(3)))?.body.toString('utf8') ?? '';
  assert.match(version2, /"metaData"/);
  assert.doesNotMatch(version3, /"metaData"/);

  const delta = await viaDelta(t);
  assert.deepEqual(
    delta.schema.fields.map((f) => [f.name, f.type]),
    [
      ['_op', 'string'],
      ['_pos', 'string'],
      ['_commit_ts', 'timestamp_ntz'],
      ['_window_id', 'long'],
      ['_extracted_at', 'timestamp_ntz'],
      ['claim_id', 'long'],
      ['units', 'integer'],
      ['note', 'string'],
      ['commit_date', 'date'],
    ],
  );
  assert.deepEqual(
    (delta.rows ?? []).map((r) => [r.claim_id, r.units, r.note]),
    [
      ['1', '7', null],
      ['2', '8', 'Zoë'],
      ['1', '9', 'again'],
    ],
  );
  // The version before the change still has the old schema.
  const before = await viaDelta(t, { version: 1 });
  assert.deepEqual(
    before.schema.fields.map((f) => f.name),
    ['_op', '_pos', '_commit_ts', '_window_id', '_extracted_at', 'claim_id', 'units', 'commit_date'],
  );

  // units int32 → int64 is a safe widening in the lake, but Delta integer → long needs typeWidening.
  const v3 = await registerSchema(t.store, t.lake.layout, {
    columns: [
      { name: 'claim_id', type: { kind: 'int64' }, nullable: false },
      { name: 'units', type: { kind: 'int64' }, nullable: true },
      { name: 'note', type: { kind: 'string' }, nullable: true },
    ],
    keyColumns: ['claim_id'],
  });
  await runWindow(t.lake, v3.doc, { sequence: 4, from: pos(3), to: pos(4) }, 'a', [
    { op: 'u', position: pos(4), commitTs: DAY1, values: [2n, 10n, null] },
  ]);
  await assert.rejects(publishDelta({ lake: t.lake }), (err: unknown) => {
    assert.ok(err instanceof DeltaSchemaError);
    assert.equal(err.schemaVersion, 3);
    assert.match(err.message, /column units changes Delta type "integer" → "long"/);
    return true;
  });
  assert.equal((await viaDelta(t, { rows: false })).version, 3, 'the log stops before the refused version');
});

test('checkpoints: a crash before a checkpoint is repaired; the state of a checkpoint alone opens the same table', async () => {
  const t = await setup('delta-checkpoint');
  const interval = 3;
  const tombstone = [1n, null, null, null, null, null, null, null, null, null, null];
  await runWindow(t.lake, t.schema, { sequence: 1, from: pos(0), to: pos(1) }, 'a', [
    ev('c', 1, DAY1, row(1, 'PN', '1.00')),
  ]);
  await runWindow(t.lake, t.schema, { sequence: 2, from: pos(1), to: pos(2) }, 'a', [
    ev('c', 2, DAY1, row(2, 'PN', '2.00')),
    ev('d', 2, DAY2, tombstone),
  ]);
  await commitEmptyWindows(t.lake, t.schema, 3, 7, pos);
  // Writes: versions 0..3, then the checkpoint of version 3 (the fifth write) crashes.
  await assert.rejects(
    publishDelta({ lake: { ...t.lake, store: new FaultyStore(t.store, 4) }, checkpointInterval: interval }),
    InjectedCrashError,
  );
  const paths = new DeltaLogPaths(t.lake.layout);
  assert.equal(await t.store.exists(paths.version(3)), true);
  assert.equal(await t.store.exists(paths.checkpoint(3)), false);
  const done = await publishDelta({ lake: t.lake, checkpointInterval: interval });
  assert.deepEqual(done, { version: 7, written: [4, 5, 6, 7], checkpoints: [3, 6], behind: false });

  // A copy of the table that has the checkpoint of version 6 and only the versions after it (as after a
  // metadata cleanup): delta-rs can only build version 7 from the checkpoint, and it must be the same table.
  const folder = tempDir('tidemark-delta-cp-');
  const copy = async (path: string) => {
    const local = join(folder, path.slice(t.lake.layout.root.length));
    mkdirSync(dirname(local), { recursive: true });
    writeFileSync(local, (await t.store.get(path))?.body ?? Buffer.alloc(0));
  };
  await copy(paths.checkpoint(6));
  await copy(paths.version(7));
  for (let n = 1; n <= 2; n++)
    for (const f of (await readManifest(t.lake, n))?.files ?? []) await copy(t.lake.layout.resolve(f.path));
  const fromCheckpoint = readDeltaFromFolder(folder);
  const full = await viaDelta(t);
  assert.equal(fromCheckpoint.version, 7);
  assert.deepEqual(fromCheckpoint.rows, full.rows);
  assert.deepEqual(fromCheckpoint.metadata, full.metadata);
  assert.deepEqual(fromCheckpoint.protocol, full.protocol);
  assert.equal(full.rows?.length, 3);
  assert.deepEqual(
    (full.rows ?? []).map(({ commit_date: _cd, ...rest }) => rest),
    (await viaManifests(t.lake)).changes,
  );
});

test('every SQL Server type in the Delta table: delta-rs reads the same exact values as the manifests, the 9999-12-31 sentinel included', async () => {
  const typed: LakeColumn[] = [
    { name: 'claim_id', type: { kind: 'int64' }, nullable: false },
    { name: 'dt2', type: { kind: 'timestamp', fractionalDigits: 7 }, nullable: true }, // datetime2(7)
    { name: 'dto', type: { kind: 'timestamptz', fractionalDigits: 7 }, nullable: true }, // datetimeoffset(7)
    { name: 'tm', type: { kind: 'time', fractionalDigits: 7 }, nullable: true }, // time(7)
    { name: 'g', type: { kind: 'uuid' }, nullable: true }, // uniqueidentifier
    { name: 'm', type: { kind: 'decimal', precision: 19, scale: 4 }, nullable: true }, // money
    { name: 'rv', type: { kind: 'binary', maxLength: 8 }, nullable: true }, // rowversion
  ];
  const t = await setup('delta-types', typed);
  const sentinel = 253_402_300_799_999_999_900n; // 9999-12-31T23:59:59.9999999
  await runWindow(t.lake, t.schema, { sequence: 1, from: pos(0), to: pos(3) }, 'a', [
    {
      op: 'c',
      position: pos(1),
      commitTs: DAY1,
      values: [
        1n,
        sentinel,
        { epochNanos: sentinel, offsetMinutes: 840 },
        86_399_999_999_900n,
        '6F9619FF-8B86-D011-B42D-00C04FC964FF',
        '-922337203685477.5808',
        Buffer.from('00000000000007d1', 'hex'),
      ],
    },
    {
      op: 'c',
      position: pos(2),
      commitTs: DAY1,
      values: [2n, -100n, { epochNanos: -100n, offsetMinutes: -840 }, 0n, null, '0.0001', null],
    },
  ]);
  assert.equal((await publishDelta({ lake: t.lake })).version, 1);
  const delta = await viaDelta(t);
  assert.deepEqual(
    delta.schema.fields.slice(5, -1).map((f) => [f.name, typeof f.type === 'string' ? f.type : 'struct']),
    [
      ['claim_id', 'long'],
      ['dt2', 'timestamp_ntz'],
      ['dt2__100ns', 'short'],
      ['dto', 'struct'],
      ['dto__100ns', 'short'],
      ['tm', 'string'],
      ['g', 'string'],
      ['m', 'decimal(19,4)'],
      ['rv', 'binary'],
    ],
  );
  const reference = await viaManifests(
    t.lake,
    `SELECT claim_id::VARCHAR AS claim_id, epoch_us(dt2)::VARCHAR AS dt2, dt2__100ns::VARCHAR AS dt2__100ns,
            {'utc': epoch_us(dto.utc)::VARCHAR, 'offset_minutes': dto.offset_minutes::VARCHAR} AS dto,
            dto__100ns::VARCHAR AS dto__100ns, tm, g, m::VARCHAR AS m, lower(hex(rv)) AS rv
     FROM changes ORDER BY _pos`,
  );
  const columns = ['claim_id', 'dt2', 'dt2__100ns', 'dto', 'dto__100ns', 'tm', 'g', 'm', 'rv'];
  const rows = (delta.rows ?? []).map((r) => Object.fromEntries(columns.map((c) => [c, r[c] ?? null])));
  assert.deepEqual(rows, reference.changes);
  // The exact values, rebuilt from what a Delta reader sees: microseconds × 1000 + digit × 100 = nanoseconds.
  const nanos = (r: Record<string, unknown>) => BigInt(String(r.dt2)) * 1000n + BigInt(String(r.dt2__100ns)) * 100n;
  assert.equal(nanos(rows[0]!), sentinel);
  assert.equal(nanos(rows[1]!), -100n);
  assert.deepEqual(rows[0]?.dto, { utc: String(sentinel / 1000n), offset_minutes: '840' });
  assert.equal(rows[0]?.tm, '23:59:59.9999999');
  assert.equal(rows[1]?.tm, '00:00:00.0000000');
  assert.equal(rows[0]?.g, '6f9619ff-8b86-d011-b42d-00c04fc964ff');
  assert.equal(rows[0]?.m, '-922337203685477.5808');
  assert.equal(rows[0]?.rv, '00000000000007d1');
});
