/**
 * The Delta publication as a step of the commit path (stage → validate → commit → publish → advance, the order
 * of the commit activity, src/capture/delta-publication.ts): a crash between any two steps, or inside the
 * publication, ends with the log complete and correct after the next step — no gap, no duplicate version, no
 * orphan file — as delta-rs reads it from Azurite, against the manifests' reader.
 *
 * A crash *between* steps is real: the process stops and the next step never runs (the test simply does not
 * call it). A crash *inside* the publication (between a version and the next write) cannot be provoked from
 * outside deterministically, so there — and only there — a fake store ({@link FaultyStore}) throws before its
 * n-th write, as a dying process would stop.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TableLayout } from '../../../src/lake/layout.js';
import { registerSchema, type SchemaDoc } from '../../../src/lake/schema-registry.js';
import { type ChangeEvent } from '../../../src/lake/stage-window.js';
import { type LakeTable } from '../../../src/lake/lake-table.js';
import { LakeReader } from '../../../src/lake/reader.js';
import type { AzureBlobStore } from '../../../src/lake/blob-store.js';
import type { LakeColumn } from '../../../src/domain/values.js';
import { DeltaLogPaths } from '../../../src/lake/delta/log-paths.js';
import { publishDelta } from '../../../src/lake/delta/publish.js';
import { freshStore } from '../../support/lake.js';
import { azuriteForTests } from '../../support/stack.js';
import { FaultyStore, InjectedCrashError, publishStep, runWindow, type Step } from '../../support/lake-window.js';
import { readDeltaFromAzurite } from '../../support/deltalake.js';

const COLUMNS: LakeColumn[] = [
  { name: 'claim_id', type: { kind: 'int64' }, nullable: false },
  { name: 'amount', type: { kind: 'decimal', precision: 18, scale: 2 }, nullable: true },
];
const pos = (n: number) => n.toString(16).padStart(16, '0');
const DAY1 = 1_763_942_400_000_000_000n;
const INTERVAL = 3; // a checkpoint at version 3: the window that crashes

/** Window n: claim n created, claim n-1 updated, and from window 3 on claim 1 deleted (a tombstone). */
function events(n: number): ChangeEvent[] {
  const out: ChangeEvent[] = [
    { op: 'c', position: pos(n * 10), commitTs: DAY1 + BigInt(n) * 1000n, values: [BigInt(n), `${n}.00`] },
  ];
  if (n > 1) out.push({ op: 'u', position: pos(n * 10 + 1), commitTs: DAY1, values: [BigInt(n - 1), `${n}.50`] });
  if (n === 3) out.push({ op: 'd', position: pos(n * 10 + 2), commitTs: DAY1, values: [1n, null] });
  return out;
}

interface Table {
  readonly lake: LakeTable;
  readonly store: AzureBlobStore;
  readonly container: string;
  readonly schema: SchemaDoc;
}

async function setup(label: string): Promise<Table> {
  const { store, container } = await freshStore(label);
  const lake: LakeTable = { store, layout: new TableLayout('raw', { db: 'Claims', schema: 'dbo', table: 'Claims' }) };
  const { doc } = await registerSchema(store, lake.layout, { columns: COLUMNS, keyColumns: ['claim_id'] });
  return { lake, store, container, schema: doc };
}

const windowRef = (n: number) => ({ sequence: n, from: pos((n - 1) * 10), to: pos(n * 10 + 9) });

/** Window n through every step, publication included. */
const fullWindow = (t: Table, n: number, attempt: string) =>
  runWindow(t.lake, t.schema, windowRef(n), attempt, events(n), { delta: { checkpointInterval: INTERVAL } });

/** The versions in `_delta_log/` (by listing), the manifest each names, and the checkpoints. */
async function logState(t: Table) {
  const paths = new DeltaLogPaths(t.lake.layout);
  const versions: number[] = [];
  const sequences: number[] = [];
  const checkpoints: string[] = [];
  for await (const item of t.store.list(paths.prefix)) {
    if (item.path.endsWith('.checkpoint.parquet')) checkpoints.push(item.path.slice(paths.prefix.length));
    const v = paths.versionOf(item.path);
    if (v === undefined) continue;
    versions.push(v);
    const body = (await t.store.get(item.path))?.body.toString('utf8') ?? '';
    const info = JSON.parse(body.split('\n')[0] ?? '{}') as { commitInfo?: { tidemark?: { sequence?: number } } };
    sequences.push(info.commitInfo?.tidemark?.sequence ?? -1);
  }
  return { versions, sequences, checkpoints };
}

/** delta-rs and the manifests agree: the same files, every row, and the latest state. */
async function assertDeltaEqualsManifests(t: Table, version: number): Promise<void> {
  const delta = readDeltaFromAzurite(await azuriteForTests(), t.container, t.lake.layout.root);
  assert.equal(delta.version, version);
  const reader = await LakeReader.open({ lake: t.lake });
  try {
    const files = reader.manifests.flatMap((m) => m.files.map((f) => f.path)).sort();
    const root = t.lake.layout.root;
    assert.deepEqual(delta.files.map((uri) => uri.slice(uri.indexOf(root) + root.length)).sort(), files);
    const changes = await reader.query(
      `SELECT _op, _pos, claim_id::VARCHAR AS claim_id, amount::VARCHAR AS amount FROM changes ORDER BY _pos`,
    );
    assert.deepEqual(
      (delta.rows ?? []).map((r) => ({ _op: r._op, _pos: r._pos, claim_id: r.claim_id, amount: r.amount })),
      changes,
    );
    const latest = await reader.query(`SELECT claim_id::VARCHAR AS claim_id FROM latest ORDER BY claim_id`);
    const last = new Map<string, Record<string, unknown>>();
    for (const r of delta.rows ?? []) last.set(String(r.claim_id), r); // rows come by _pos
    const deltaLatest = [...last.values()]
      .filter((r) => r._op !== 'd')
      .map((r) => String(r.claim_id))
      .sort();
    assert.deepEqual(deltaLatest, latest.map((r) => r.claim_id as string).sort());
  } finally {
    await reader.close();
  }
}

type CrashPoint =
  Step | 'inside publish: after the version, before its checkpoint' | 'inside publish: before the version';

const CRASHES: readonly CrashPoint[] = [
  'stage',
  'validate',
  'commit',
  'inside publish: before the version',
  'inside publish: after the version, before its checkpoint',
  'publish',
];

for (const crash of CRASHES)
  test(`a crash after "${crash}" of window 3: its retry, then window 4, leave the Delta log complete — versions 0..4 once each, checkpoint 3, delta-rs = manifests`, async () => {
    const t = await setup(`delta-step-${CRASHES.indexOf(crash)}`);
    await fullWindow(t, 1, 'a');
    await fullWindow(t, 2, 'a');

    if (crash.startsWith('inside publish')) {
      await runWindow(t.lake, t.schema, windowRef(3), 'x', events(3), { stopAfter: 'commit' });
      const crashAt = crash === 'inside publish: before the version' ? 0 : 1; // write 0: version 3; 1: checkpoint
      await assert.rejects(
        publishStep({ ...t.lake, store: new FaultyStore(t.store, crashAt) }, { checkpointInterval: INTERVAL }),
        InjectedCrashError,
      );
    } else
      await runWindow(t.lake, t.schema, windowRef(3), 'x', events(3), {
        stopAfter: crash as Step,
        delta: { checkpointInterval: INTERVAL },
      });
    const after = await logState(t);
    assert.deepEqual(after.versions.slice(0, 3), [0, 1, 2], 'nothing before the crash is lost');

    // The retry of window 3 (another attempt; when the manifest was committed, its commit is a no-op).
    await fullWindow(t, 3, 'y');
    assert.deepEqual(await logState(t), {
      versions: [0, 1, 2, 3],
      sequences: [0, 1, 2, 3],
      checkpoints: ['00000000000000000003.checkpoint.parquet'],
    });
    await fullWindow(t, 4, 'a');
    assert.deepEqual((await logState(t)).versions, [0, 1, 2, 3, 4]);
    await assertDeltaEqualsManifests(t, 4);
  });

test('a crash right after the commit, with no retry: the next window publishes the missing version first', async () => {
  const t = await setup('delta-step-next');
  await fullWindow(t, 1, 'a');
  await runWindow(t.lake, t.schema, windowRef(2), 'a', events(2), { stopAfter: 'commit' });
  assert.deepEqual((await logState(t)).versions, [0, 1]);
  await fullWindow(t, 3, 'a');
  assert.deepEqual(await logState(t), {
    versions: [0, 1, 2, 3],
    sequences: [0, 1, 2, 3],
    checkpoints: ['00000000000000000003.checkpoint.parquet'],
  });
  await assertDeltaEqualsManifests(t, 3);
});

test('a schema version Delta cannot declare does not stop the commit: the publication step reports the refusal, the log stays whole', async () => {
  const t = await setup('delta-step-refused');
  await fullWindow(t, 1, 'a');
  const v2 = await registerSchema(t.store, t.lake.layout, {
    columns: [...COLUMNS, { name: 'bad name', type: { kind: 'string' }, nullable: true }],
    keyColumns: ['claim_id'],
  });
  const committed = await runWindow(
    t.lake,
    v2.doc,
    windowRef(2),
    'a',
    [{ op: 'c', position: pos(20), commitTs: DAY1, values: [2n, '2.00', 'x'] }],
    { stopAfter: 'commit' },
  );
  assert.equal(committed?.status, 'committed');
  const out = await publishStep(t.lake);
  assert.equal(out.written, 0);
  assert.match(out.refused ?? '', /cannot be published as a Delta Lake table: column name "bad name"/);
  assert.deepEqual((await logState(t)).versions, [0, 1]);
});

test('a long backlog (an existing lake published for the first time) is published a bounded number of versions per call, oldest first', async () => {
  const t = await setup('delta-step-backlog');
  for (let n = 1; n <= 4; n++) await runWindow(t.lake, t.schema, windowRef(n), 'a', events(n));
  const first = await publishDelta({ lake: t.lake, maxVersions: 2, checkpointInterval: 0 });
  assert.deepEqual(first, { version: 1, written: [0, 1], checkpoints: [], behind: true });
  const second = await publishDelta({ lake: t.lake, maxVersions: 2, checkpointInterval: 0 });
  assert.deepEqual(second, { version: 3, written: [2, 3], checkpoints: [], behind: true });
  const last = await publishDelta({ lake: t.lake, maxVersions: 2, checkpointInterval: 0 });
  assert.deepEqual(last, { version: 4, written: [4], checkpoints: [], behind: false });
  assert.deepEqual((await logState(t)).sequences, [0, 1, 2, 3, 4]);
});
