/**
 * Compaction of a day's partition (src/lake/delta/compaction.ts) against Azurite, read back by delta-rs (an
 * independent Delta reader) and by Tidemark's own reader through the manifests: the same rows before and after,
 * fewer files, nothing deleted, and a crash or a concurrent writer between any two steps leaves both readers
 * correct and the log without a duplicate version.
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
import { publishDelta } from '../../../src/lake/delta/publish.js';
import { DeltaLogPaths } from '../../../src/lake/delta/log-paths.js';
import { liveFiles } from '../../../src/lake/delta/live-files.js';
import { compactDay, type CompactionReport } from '../../../src/lake/delta/compaction.js';
import { freshStore } from '../../support/lake.js';
import { azuriteForTests } from '../../support/stack.js';
import { FaultyStore, InjectedCrashError, runWindow } from '../../support/lake-window.js';
import { readDeltaFromAzurite, type DeltaRsView } from '../../support/deltalake.js';

const COLUMNS: LakeColumn[] = [
  { name: 'claim_id', type: { kind: 'int64' }, nullable: false },
  { name: 'amount', type: { kind: 'decimal', precision: 18, scale: 2 }, nullable: true },
  { name: 'qty', type: { kind: 'uint8' }, nullable: true },
  { name: 'updated', type: { kind: 'timestamp', fractionalDigits: 7 }, nullable: true },
  { name: 'seen', type: { kind: 'timestamptz', fractionalDigits: 6 }, nullable: true },
];
const WITH_NOTE: LakeColumn[] = [...COLUMNS, { name: 'note', type: { kind: 'string' }, nullable: true }];

const DAY1 = 1_763_942_400_000_000_000n; // 2025-11-24T00:00Z
const DAY2 = DAY1 + 86_400_000_000_000n;
const pos = (n: number) => n.toString(16).padStart(16, '0');
const TINY_TARGET = 1 << 20; // every window file of these tests is a few KB

interface Table {
  readonly lake: LakeTable;
  readonly store: AzureBlobStore;
  readonly container: string;
  readonly schemas: SchemaDoc[];
}

async function setup(label: string): Promise<Table> {
  const { store, container } = await freshStore(label);
  const lake: LakeTable = { store, layout: new TableLayout('raw', { db: 'Claims', schema: 'dbo', table: 'Claims' }) };
  const v1 = await registerSchema(store, lake.layout, { columns: COLUMNS, keyColumns: ['claim_id'] });
  return { lake, store, container, schemas: [v1.doc] };
}

/** Window n: two events on day 1 and one on day 2 (keys repeat, so the latest state depends on order). */
function eventsOf(n: number, note: boolean): ChangeEvent[] {
  const values = (id: number, amount: string): unknown[] => [
    BigInt(id),
    amount,
    (n * 7 + id) % 256,
    DAY1 + BigInt(n) * 123_456_700n, // 7 digits: a `__100ns` companion in the files
    { epochNanos: DAY1 + BigInt(n) * 1_000n, offsetMinutes: -300 },
    ...(note ? [`n${n}`] : []),
  ];
  return [
    {
      op: n === 1 ? 'c' : 'u',
      position: pos(n * 10),
      commitTs: DAY1 + BigInt(n) * 1000n,
      values: values(1, `${n}.01`),
    },
    { op: 'c', position: pos(n * 10 + 1), commitTs: DAY1 + BigInt(n) * 2000n, values: values(100 + n, `${n}.02`) },
    { op: 'u', position: pos(n * 10 + 2), commitTs: DAY2 + BigInt(n) * 1000n, values: values(2, `${n}.03`) },
  ] as ChangeEvent[];
}

/** Windows from..to, published after each commit as the commit activity does; schema 2 adds a column at 7. */
async function commitWindows(t: Table, from: number, to: number, interval = 100): Promise<void> {
  for (let n = from; n <= to; n++) {
    if (n === 7 && t.schemas.length === 1)
      t.schemas.push(
        (await registerSchema(t.store, t.lake.layout, { columns: WITH_NOTE, keyColumns: ['claim_id'] })).doc,
      );
    const schema = t.schemas[n >= 7 ? 1 : 0]!;
    await runWindow(
      t.lake,
      schema,
      { sequence: n, from: pos((n - 1) * 10 + 2), to: pos(n * 10 + 2) },
      'a',
      eventsOf(n, n >= 7),
      {
        delta: { checkpointInterval: interval },
      },
    );
  }
}

async function viaDelta(t: Table, options: Parameters<typeof readDeltaFromAzurite>[3] = {}): Promise<DeltaRsView> {
  return readDeltaFromAzurite(await azuriteForTests(), t.container, t.lake.layout.root, options);
}

/** Every event as text, in one order, from delta-rs rows (the partition column dropped). */
const deltaRows = (view: DeltaRsView) =>
  (view.rows ?? []).map(({ commit_date: _cd, ...rest }) => JSON.stringify(rest)).sort();

/** Tidemark's own reader through the manifests: the same columns as text, and the latest state. */
async function viaManifests(
  lake: LakeTable,
  note = true,
): Promise<{ rows: string[]; latest: string[]; files: number }> {
  const reader = await LakeReader.open({ lake });
  try {
    const rows = await reader.query(`
      SELECT _op, _pos, epoch_us(_commit_ts)::VARCHAR AS _commit_ts, _window_id::VARCHAR AS _window_id,
             epoch_us(_extracted_at)::VARCHAR AS _extracted_at, claim_id::VARCHAR AS claim_id,
             amount::VARCHAR AS amount, qty::VARCHAR AS qty, epoch_us(updated)::VARCHAR AS updated,
             updated__100ns::VARCHAR AS updated__100ns,
             {'utc': epoch_us(seen.utc)::VARCHAR, 'offset_minutes': seen.offset_minutes::VARCHAR} AS seen,
             ${note ? 'note' : 'NULL AS note'} FROM changes`);
    const latest = await reader.query(`SELECT claim_id::VARCHAR || ':' || _pos AS k FROM latest ORDER BY 1`);
    return {
      rows: rows.map((r) => JSON.stringify(r)).sort(),
      latest: latest.map((r) => String(r.k)),
      files: reader.manifests.reduce((n, m) => n + m.files.length, 0),
    };
  } finally {
    await reader.close();
  }
}

/** delta-rs's latest state as `key:_pos` (last event per key by `_pos`, tombstones dropped). */
function latestOf(view: DeltaRsView): string[] {
  const last = new Map<string, Record<string, unknown>>();
  for (const r of [...(view.rows ?? [])].sort((a, b) => String(a._pos).localeCompare(String(b._pos))))
    last.set(String(r.claim_id), r);
  return [...last.values()]
    .filter((r) => r._op !== 'd')
    .map((r) => `${String(r.claim_id)}:${String(r._pos)}`)
    .sort();
}

/** What each version of the log is: `w<sequence>` for a window, `c<afterSequence>` for a compaction. */
async function logShape(t: Table): Promise<string[]> {
  const paths = new DeltaLogPaths(t.lake.layout);
  const shape: string[] = [];
  for await (const item of t.store.list(paths.prefix)) {
    if (paths.versionOf(item.path) === undefined) continue;
    const body = (await t.store.get(item.path))?.body.toString('utf8') ?? '';
    const info = (JSON.parse(body.split('\n')[0] ?? '{}') as { commitInfo: { tidemark: Record<string, unknown> } })
      .commitInfo.tidemark as { sequence?: number; compaction?: { afterSequence: number } };
    shape.push(info.compaction ? `c${info.compaction.afterSequence}` : `w${String(info.sequence)}`);
  }
  return shape;
}

/** Live files of a day at the head, replayed from the newest checkpoint at a multiple of `interval`. */
async function dayFiles(t: Table, day: string, interval = 100): Promise<number> {
  const paths = new DeltaLogPaths(t.lake.layout);
  const head = (await publishDelta({ lake: t.lake, checkpointInterval: interval })).version;
  return (await liveFiles({ lake: t.lake, paths, version: head, interval })).filter((f) => f.commitDate === day).length;
}

test('compacting a day of many small files: fewer files, the same rows and latest state for delta-rs and for the manifests, nothing deleted; later windows and a rerun', async () => {
  const t = await setup('compact');
  await commitWindows(t, 1, 12);
  const before = await viaDelta(t);
  const reference = await viaManifests(t.lake);
  assert.equal(before.version, 12);
  assert.deepEqual(deltaRows(before).length, reference.rows.length);
  const dataObjectsBefore: string[] = [];
  for await (const item of t.store.list(t.lake.layout.resolve('data/'))) dataObjectsBefore.push(item.path);

  const report = await compactDay({ lake: t.lake, commitDate: '2025-11-24', targetFileBytes: TINY_TARGET });
  assert.equal(report.status, 'compacted');
  assert.equal(report.version, 13);
  assert.equal(report.filesBefore, 12);
  assert.equal(report.filesRemoved, 12);
  assert.equal(report.filesAdded, 1);
  assert.equal(report.filesAfter, 1);
  assert.equal(report.rows, 24);
  assert.ok(report.bytesAfter < report.bytesBefore, `${report.bytesAfter} < ${report.bytesBefore}`);
  console.log(
    `compaction of 2025-11-24: files ${report.filesBefore} → ${report.filesAfter}, bytes ${report.bytesBefore} → ${report.bytesAfter}, rows ${report.rows}`,
  );

  const after = await viaDelta(t, { history: true });
  assert.equal(after.version, 13);
  assert.deepEqual(deltaRows(after), deltaRows(before), 'delta-rs reads the same rows, each once');
  assert.deepEqual(latestOf(after), latestOf(before), 'delta-rs: same latest state');
  assert.deepEqual(latestOf(after), reference.latest, "delta-rs = the manifests' latest state");
  assert.equal(after.files.filter((f) => f.includes('commit_date=2025-11-24')).length, 1);
  assert.equal(after.files.filter((f) => f.includes('commit_date=2025-11-25')).length, 12, 'the other day untouched');
  assert.equal(after.metadata.configuration['delta.appendOnly'], 'true');
  const top = after.history?.find((h) => h.version === 13);
  assert.equal(top?.operation, 'OPTIMIZE');

  // The manifests never change: Tidemark's own reader reads the original files, each row once.
  assert.deepEqual(await viaManifests(t.lake), reference);
  const dataObjectsAfter: string[] = [];
  for await (const item of t.store.list(t.lake.layout.resolve('data/'))) dataObjectsAfter.push(item.path);
  assert.ok(
    dataObjectsBefore.every((p) => dataObjectsAfter.includes(p)),
    'nothing deleted',
  );
  assert.equal(dataObjectsAfter.length, dataObjectsBefore.length + 1);

  // Later windows take the versions after the compaction; both readers agree.
  await commitWindows(t, 13, 14);
  assert.deepEqual(await logShape(t), [
    'w0',
    ...Array.from({ length: 12 }, (_, i) => `w${i + 1}`),
    'c12',
    'w13',
    'w14',
  ]);
  const later = await viaDelta(t);
  const laterRef = await viaManifests(t.lake);
  assert.equal(later.version, 15);
  assert.equal(deltaRows(later).length, laterRef.rows.length);
  assert.deepEqual(latestOf(later), laterRef.latest);

  // A rerun: only the compaction's own file and the two new ones; the new ones are compacted, then nothing.
  const again = await compactDay({ lake: t.lake, commitDate: '2025-11-24', targetFileBytes: TINY_TARGET });
  assert.deepEqual([again.status, again.filesBefore, again.filesRemoved, again.filesAfter], ['compacted', 3, 2, 2]);
  const third = await compactDay({ lake: t.lake, commitDate: '2025-11-24', targetFileBytes: TINY_TARGET });
  assert.equal(third.status, 'nothing-to-do');
  assert.equal((await publishDelta({ lake: t.lake })).written.length, 0, 'the publisher accepts the shifted head');
  assert.deepEqual(latestOf(await viaDelta(t)), laterRef.latest);
});

test('a crash between any two steps of a compaction leaves both readers correct; the next run completes it, with one compaction version', async () => {
  const t = await setup('compact-crash');
  await commitWindows(t, 1, 6, 7);
  const expected = deltaRows(await viaDelta(t));
  const run = (extra: Partial<Parameters<typeof compactDay>[0]> = {}): Promise<CompactionReport> =>
    compactDay({
      lake: t.lake,
      commitDate: '2025-11-25',
      targetFileBytes: TINY_TARGET,
      checkpointInterval: 7,
      ...extra,
    });

  for (const step of ['planned', 'written', 'uploaded'] as const) {
    await assert.rejects(
      run({
        onStep: (s) => {
          if (s === step) throw new InjectedCrashError(`crash after ${step}`);
        },
      }),
      InjectedCrashError,
    );
    assert.equal((await logShape(t)).length, 7, `after a crash at ${step}: no new version`);
    assert.deepEqual(deltaRows(await viaDelta(t)), expected);
  }
  // The version's own write fails (write 0 is the upload of the one group, write 1 the version).
  await assert.rejects(run({ lake: { ...t.lake, store: new FaultyStore(t.store, 1) } }), InjectedCrashError);
  assert.equal((await logShape(t)).length, 7);
  assert.equal(await dayFiles(t, '2025-11-25'), 6);

  // Committed, then a crash before its checkpoint (version 7 is a multiple of the interval).
  await assert.rejects(
    run({
      onStep: (s) => {
        if (s === 'committed') throw new InjectedCrashError('crash after the version');
      },
    }),
    InjectedCrashError,
  );
  const paths = new DeltaLogPaths(t.lake.layout);
  assert.equal(await t.store.exists(paths.checkpoint(7)), false);
  assert.deepEqual(deltaRows(await viaDelta(t)), expected);
  const rerun = await run();
  assert.equal(rerun.status, 'nothing-to-do');
  assert.equal(rerun.filesBefore, 1);
  // The next publication (a window's commit) writes the missing checkpoint.
  await commitWindows(t, 7, 7, 7);
  assert.equal(await t.store.exists(paths.checkpoint(7)), true);
  assert.deepEqual(await logShape(t), ['w0', 'w1', 'w2', 'w3', 'w4', 'w5', 'w6', 'c6', 'w7']);
  const delta = await viaDelta(t);
  assert.equal(delta.version, 8);
  assert.deepEqual(latestOf(delta), (await viaManifests(t.lake)).latest);
  // From the checkpoint: the live files are the compacted one and window 7's.
  assert.equal(await dayFiles(t, '2025-11-25', 7), 2);
});

test('a window published while a compaction runs takes its version; the compaction commits after it; two compactions of one day: one wins', async () => {
  const t = await setup('compact-race');
  await commitWindows(t, 1, 4);
  let raced = false;
  const report = await compactDay({
    lake: t.lake,
    commitDate: '2025-11-24',
    targetFileBytes: TINY_TARGET,
    onStep: async (s) => {
      if (s !== 'uploaded' || raced) return;
      raced = true;
      await commitWindows(t, 5, 5); // takes version 5, the one the compaction planned for
    },
  });
  assert.equal(report.status, 'compacted');
  assert.equal(report.version, 6);
  await commitWindows(t, 6, 6);
  assert.deepEqual(await logShape(t), ['w0', 'w1', 'w2', 'w3', 'w4', 'w5', 'c5', 'w6']);
  const delta = await viaDelta(t);
  const manifests = await viaManifests(t.lake, false);
  assert.equal(deltaRows(delta).length, manifests.rows.length);
  assert.deepEqual(latestOf(delta), manifests.latest);
  // Window 5's day-1 file is not in the compaction (it was planned before), so it is still live.
  assert.equal(await dayFiles(t, '2025-11-24'), 3);

  const both = await Promise.all([
    compactDay({ lake: t.lake, commitDate: '2025-11-25', targetFileBytes: TINY_TARGET }),
    compactDay({ lake: t.lake, commitDate: '2025-11-25', targetFileBytes: TINY_TARGET }),
  ]);
  assert.equal(both.filter((r) => r.status === 'compacted').length, 1, JSON.stringify(both.map((r) => r.status)));
  assert.ok(both.every((r) => r.status === 'compacted' || r.status === 'superseded' || r.status === 'nothing-to-do'));
  assert.equal((await logShape(t)).filter((s) => s.startsWith('c')).length, 2);
  const final = await viaDelta(t);
  assert.equal(deltaRows(final).length, manifests.rows.length);
  assert.deepEqual(latestOf(final), manifests.latest);
});
