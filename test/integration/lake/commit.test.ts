import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TableLayout } from '../../../src/lake/layout.js';
import { registerSchema, type SchemaDoc } from '../../../src/lake/schema-registry.js';
import { advanceWatermark, readWatermark } from '../../../src/lake/watermark.js';
import { commitManifest } from '../../../src/lake/commit-manifest.js';
import { readManifest } from '../../../src/lake/manifest.js';
import { validateWindow } from '../../../src/lake/validate-window.js';
import { stageWindow, type ChangeEvent } from '../../../src/lake/stage-window.js';
import { type LakeTable } from '../../../src/lake/lake-table.js';
import { LakeReader } from '../../../src/lake/reader.js';
import {
  BlobAlreadyExistsError,
  LakeIntegrityError,
  WindowConflictError,
  WindowValidationError,
} from '../../../src/lake/errors.js';
import type { LakeColumn } from '../../../src/domain/values.js';
import { freshStore } from '../../support/lake.js';
import { EXTRACTED_AT, FaultyStore, InjectedCrashError, runWindow } from '../../support/lake-window.js';

const COLUMNS: LakeColumn[] = [
  { name: 'claim_id', type: { kind: 'int64' }, nullable: false },
  { name: 'amount', type: { kind: 'decimal', precision: 18, scale: 2 }, nullable: true },
  { name: 'status', type: { kind: 'string', maxLength: 2 }, nullable: true },
];
const pos = (n: number) => n.toString(16).padStart(16, '0');
const DAY1 = 1_763_942_400_000_000_000n; // 2025-11-24T00:00Z
const DAY2 = DAY1 + 86_400_000_000_000n;

/** Window 1: 5 inserts; window 2: 2 updates, 1 delete, one insert committed on the next day. */
const WINDOW1: ChangeEvent[] = [1, 2, 3, 4, 5].map((i) => ({
  op: 'c',
  position: pos(i),
  commitTs: DAY1 + BigInt(i) * 1000n,
  values: [BigInt(i), `${i}00.0${i}`, 'PN'],
}));
const WINDOW2: ChangeEvent[] = [
  { op: 'u', position: pos(10), commitTs: DAY1 + 10_000n, values: [1n, '150.00', 'PD'] },
  { op: 'u', position: pos(11), commitTs: DAY1 + 11_000n, values: [1n, '175.25', 'AJ'] },
  { op: 'd', position: pos(12), commitTs: DAY1 + 12_000n, values: [2n, null, null] },
  { op: 'c', position: pos(13), commitTs: DAY2 + 13_000n, values: [6n, '9007199254740993.99', 'PN'] },
];

async function setup(label: string): Promise<{ lake: LakeTable; schema: SchemaDoc }> {
  const { store } = await freshStore(label);
  const lake: LakeTable = { store, layout: new TableLayout('raw', { db: 'Claims', schema: 'dbo', table: 'Claims' }) };
  const { doc } = await registerSchema(store, lake.layout, { columns: COLUMNS, keyColumns: ['claim_id'] });
  return { lake, schema: doc };
}

async function visible(lake: LakeTable): Promise<{ rows: number; latest: unknown[]; windows: number[] }> {
  const reader = await LakeReader.open({ lake });
  try {
    const [n] = await reader.scalars('SELECT count(*)::INT AS n FROM changes');
    const latest = await reader.query(
      'SELECT claim_id::VARCHAR AS id, amount::VARCHAR AS amount, status FROM latest ORDER BY claim_id',
    );
    return { rows: Number(n?.n), latest, windows: reader.manifests.map((m) => m.sequence) };
  } finally {
    await reader.close();
  }
}

test('two windows land: change log, latest state by position, tombstones, partitions by commit date', async () => {
  const { lake, schema } = await setup('happy');
  const w1 = await runWindow(lake, schema, { sequence: 1, from: pos(0), to: pos(9) }, 'a1', WINDOW1);
  assert.equal(w1?.status, 'committed');
  await runWindow(lake, schema, { sequence: 2, from: pos(9), to: pos(13) }, 'a1', WINDOW2);
  const seen = await visible(lake);
  assert.equal(seen.rows, 9);
  assert.deepEqual(seen.windows, [1, 2]);
  assert.deepEqual(seen.latest, [
    { id: '1', amount: '175.25', status: 'AJ' },
    { id: '3', amount: '300.03', status: 'PN' },
    { id: '4', amount: '400.04', status: 'PN' },
    { id: '5', amount: '500.05', status: 'PN' },
    { id: '6', amount: '9007199254740993.99', status: 'PN' },
  ]);
  const m2 = await readManifest(lake, 2);
  assert.ok(m2);
  assert.equal(m2.previousManifest, lake.layout.manifestPath(1));
  assert.deepEqual(m2.controlTotals, {
    rows: 4,
    rowsByOp: { c: 1, u: 2, d: 1, r: 0 },
    sums: {},
    receipt: { nullKeys: 0, duplicateKeyPositions: 0 },
  });
  assert.deepEqual(
    m2.files.map((f) => f.path),
    [
      'data/commit_date=2025-11-24/w000000000002-aa1-p00000.parquet',
      'data/commit_date=2025-11-25/w000000000002-aa1-p00000.parquet',
    ],
  );
  const wm = await readWatermark(lake);
  assert.equal(wm?.doc.sequence, 2);
  assert.equal(wm?.doc.position, pos(13));
  const audit = await lake.store.get(lake.layout.auditPath(2));
  assert.match(audit?.body.toString() ?? '', /"committedBy":"test\/a1"/);
  assert.doesNotMatch(audit?.body.toString() ?? '', /175\.25/, 'the audit ledger holds no row values');
});

test('a retry of a committed window is a no-op, whether it re-commits or re-runs every step', async () => {
  const { lake, schema } = await setup('retry');
  const window = { sequence: 1, from: pos(0), to: pos(9) };
  const first = await runWindow(lake, schema, window, 'a1', WINDOW1);
  const before = await visible(lake);
  const again = await runWindow(lake, schema, window, 'a2', WINDOW1);
  assert.equal(first?.status, 'committed');
  assert.equal(again?.status, 'already-committed');
  assert.equal(again?.attemptId, 'a1', 'the committed attempt stays the one readers see');
  assert.deepEqual(await visible(lake), before);
  const wm = await advanceWatermark({ lake, sequence: 1 });
  assert.equal(wm.status, 'unchanged');
});

test('a zombie attempt uploading after the commit changes nothing readers see', async () => {
  const { lake, schema } = await setup('zombie');
  const window = { sequence: 1, from: pos(0), to: pos(9) };
  await runWindow(lake, schema, window, 'a1', WINDOW1);
  const before = await visible(lake);
  const committed = await readManifest(lake, 1);
  // The zombie writes different rows under its own names …
  const zombieEvents = WINDOW1.map((e) => ({ ...e, values: [e.values[0] ?? null, '0.00', 'ZZ'] }));
  const staged = await stageWindow({
    lake,
    window,
    attemptId: 'zombie',
    schema,
    events: zombieEvents,
    extractedAt: EXTRACTED_AT,
  });
  // … and cannot replace a committed file even if it reuses the committed attempt's name.
  const committedFile = committed?.files[0]?.path ?? '';
  await assert.rejects(lake.store.putIfAbsent(lake.layout.resolve(committedFile), 'garbage'), BlobAlreadyExistsError);
  const validated = await validateWindow({ lake, schema, window, staged });
  const result = await commitManifest({ lake, window, staged, validated, committedBy: 'zombie' });
  assert.equal(result.status, 'already-committed');
  assert.deepEqual(await visible(lake), before);
  assert.deepEqual(await readManifest(lake, 1), committed);
});

test('two committers racing for one window: exactly one wins', async () => {
  const { lake, schema } = await setup('race');
  const window = { sequence: 1, from: pos(0), to: pos(9) };
  const results = await Promise.all(['r1', 'r2', 'r3'].map((a) => runWindow(lake, schema, window, a, WINDOW1)));
  const statuses = results.map((r) => r?.status).sort();
  assert.deepEqual(statuses, ['already-committed', 'already-committed', 'committed']);
  const winner = results.find((r) => r?.status === 'committed')?.attemptId;
  assert.ok(results.every((r) => r?.attemptId === winner));
  const seen = await visible(lake);
  assert.equal(seen.rows, 5);
});

test('a different window at a committed sequence is a loud integrity error', async () => {
  const { lake, schema } = await setup('clash');
  await runWindow(lake, schema, { sequence: 1, from: pos(0), to: pos(9) }, 'a1', WINDOW1);
  await assert.rejects(
    runWindow(lake, schema, { sequence: 1, from: pos(0), to: pos(8) }, 'a2', WINDOW1),
    (err: unknown) => err instanceof WindowConflictError && /two planners disagree/.test(err.message),
  );
  await assert.rejects(
    runWindow(lake, schema, { sequence: 3, from: pos(20), to: pos(30) }, 'a1', []),
    /cannot commit before window 2/,
  );
});

test('validation: a duplicate (key, position) stops the window and nothing of it becomes visible', async () => {
  const { lake, schema } = await setup('dup');
  const dup = [...WINDOW1, { ...WINDOW1[0], values: [1n, '1.00', 'PN'] } as ChangeEvent];
  await assert.rejects(
    runWindow(lake, schema, { sequence: 1, from: pos(0), to: pos(9) }, 'a1', dup),
    (err: unknown) => err instanceof WindowValidationError && /pairs occur more than once/.test(err.message),
  );
  assert.equal(await readManifest(lake, 1), undefined);
  assert.equal((await visible(lake)).rows, 0);
});

test('validation proves staged files from the store properties: no download, and a replaced or missing file fails', async () => {
  const { lake, schema } = await setup('props');
  const window = { sequence: 1, from: pos(0), to: pos(13) };
  const staged = await stageWindow({
    lake,
    window,
    attemptId: 'a1',
    schema,
    events: [...WINDOW1, ...WINDOW2.slice(3)],
    extractedAt: EXTRACTED_AT,
  });
  assert.equal(staged.files.length, 2, 'two commit dates, two files');
  // A store that refuses downloads: validation must not read back what was just uploaded.
  const noDownloads: LakeTable = {
    ...lake,
    store: Object.assign(Object.create(lake.store) as typeof lake.store, {
      downloadToFile: () => Promise.reject(new Error('validation downloaded a staged file')),
    }),
  };
  const validated = await validateWindow({ lake: noDownloads, schema, window, staged });
  assert.equal(validated.controlTotals.rows, 6);
  assert.deepEqual(validated.controlTotals.rowsByOp, { c: 6, u: 0, d: 0, r: 0 });
  // A record whose MD5 is not what the store holds for the file (its bytes are not the ones checked): refused.
  const [first, second] = staged.files;
  const other = { ...staged, files: [{ ...first!, md5: second!.md5 }, second!] };
  await assert.rejects(
    validateWindow({ lake: noDownloads, schema, window, staged: other }),
    (err: unknown) => err instanceof WindowValidationError && /MD5 differs/.test(err.message),
  );
  const missing = {
    ...staged,
    files: [{ ...first!, path: first!.path.replace('.parquet', '-gone.parquet') }, second!],
  };
  await assert.rejects(
    validateWindow({ lake: noDownloads, schema, window, staged: missing }),
    (err: unknown) => err instanceof WindowValidationError && /not in the store/.test(err.message),
  );
});

test('an empty stage (an empty snapshot chunk) writes and uploads no data file', async () => {
  const { lake, schema } = await setup('empty');
  const window = { sequence: 1, from: pos(0), to: pos(9) };
  const staged = await stageWindow({ lake, window, attemptId: 'e1', schema, events: [], extractedAt: EXTRACTED_AT });
  assert.deepEqual(staged.files, []);
  assert.equal(staged.rows, 0);
  const listed = [];
  for await (const item of lake.store.list(lake.layout.resolve(''))) listed.push(item.path);
  assert.deepEqual(
    listed.filter((p) => p.endsWith('.parquet')),
    [],
  );
});

test('a crash injected at every write leaves no partial window, and the next attempt completes it', async () => {
  const { lake: probe, schema: probeSchema } = await setup('crash-count');
  const counting = new FaultyStore(probe.store, -1);
  await runWindow({ ...probe, store: counting }, probeSchema, { sequence: 1, from: pos(0), to: pos(9) }, 'a', WINDOW1, {
    partRows: 2,
  });
  // Writes: 3 data files (0-2), the manifest (3), the audit entry (4), the watermark (5).
  const writes = counting.writes;
  assert.equal(writes, 6);
  for (let crashAt = 0; crashAt < writes; crashAt++) {
    const { lake, schema } = await setup(`crash${crashAt}`);
    const window = { sequence: 1, from: pos(0), to: pos(9) };
    const faulty: LakeTable = { ...lake, store: new FaultyStore(lake.store, crashAt) };
    await assert.rejects(runWindow(faulty, schema, window, 'first', WINDOW1, { partRows: 2 }), InjectedCrashError);
    const during = await visible(lake);
    assert.ok(during.rows === 0 || during.rows === 5, `crash at write ${crashAt}: ${during.rows} rows visible`);
    const retry = await runWindow(lake, schema, window, 'second', WINDOW1, { partRows: 2 });
    assert.equal(retry?.status, crashAt >= 4 ? 'already-committed' : 'committed', `crash at write ${crashAt}`);
    const after = await visible(lake);
    assert.equal(after.rows, 5, `crash at write ${crashAt}`);
    assert.equal((await readWatermark(lake))?.doc.sequence, 1);
    assert.ok(await lake.store.exists(lake.layout.auditPath(1)), 'the audit entry is completed');
  }
});

test('the watermark is rebuilt from manifests when missing, and never moves backwards', async () => {
  const { lake, schema } = await setup('wm');
  await runWindow(lake, schema, { sequence: 1, from: pos(0), to: pos(9) }, 'a', WINDOW1, { stopAfter: 'commit' });
  await runWindow(lake, schema, { sequence: 2, from: pos(9), to: pos(13) }, 'a', WINDOW2, { stopAfter: 'commit' });
  assert.equal(await readWatermark(lake), undefined);
  const rebuilt = await advanceWatermark({ lake, sequence: 1 });
  assert.deepEqual(rebuilt, {
    sequence: 2,
    position: pos(13),
    manifest: lake.layout.manifestPath(2),
    status: 'rebuilt',
  });
  const stale = await advanceWatermark({ lake, sequence: 1 });
  assert.equal(stale.status, 'unchanged');
  assert.equal(stale.sequence, 2);
  await assert.rejects(advanceWatermark({ lake, sequence: 3 }), LakeIntegrityError);
});

test("a read's refined end is recorded with the attempt that committed; retries and the watermark return it", async () => {
  const { lake, schema } = await setup('resume');
  // Attempt a1 read up to 5 but left 3 open (say); a2, a retry that saw more, would resume elsewhere.
  const planned = { sequence: 1, from: pos(0), to: pos(9) };
  const first = await runWindow(lake, schema, { ...planned, resume: 'a1-resume' }, 'a1', WINDOW1);
  assert.equal(first?.resumePosition, 'a1-resume');
  const again = await runWindow(lake, schema, { ...planned, resume: 'a2-resume' }, 'a2', WINDOW1);
  assert.equal(again?.status, 'already-committed', 'the resume position is not part of the window identity');
  assert.equal(again?.resumePosition, 'a1-resume', 'a no-op retry returns what the committed attempt recorded');
  assert.deepEqual((await readManifest(lake, 1))?.window, { from: pos(0), to: pos(9), resume: 'a1-resume' });
  assert.equal((await readWatermark(lake))?.doc.position, 'a1-resume');

  // A window whose read did not refine its end (and manifests written before `resume` existed) resume at `to`.
  const second = await runWindow(lake, schema, { sequence: 2, from: 'a1-resume', to: pos(13) }, 'b', WINDOW2);
  assert.equal(second?.resumePosition, pos(13));
  assert.equal('resume' in ((await readManifest(lake, 2))?.window ?? {}), false);
  assert.equal((await readWatermark(lake))?.doc.position, pos(13));
});

test('a tombstone may carry NULL in NOT NULL columns (a Change Tracking delete knows only its key); other events may not', async () => {
  const { store } = await freshStore('tombstone-not-null');
  const lake: LakeTable = {
    store,
    layout: new TableLayout('raw', { db: 'Claims', schema: 'dbo', table: 'Providers' }),
  };
  const columns: LakeColumn[] = [
    { name: 'provider_id', type: { kind: 'int64' }, nullable: false },
    { name: 'name', type: { kind: 'string' }, nullable: false },
  ];
  const { doc: schema } = await registerSchema(store, lake.layout, { columns, keyColumns: ['provider_id'] });
  await runWindow(lake, schema, { sequence: 1, from: pos(0), to: pos(2) }, 'a1', [
    { op: 'c', position: pos(1), commitTs: DAY1, values: [1n, 'North clinic'] },
    { op: 'c', position: pos(2), commitTs: DAY1, values: [2n, 'South clinic'] },
  ]);
  const r = await runWindow(lake, schema, { sequence: 2, from: pos(2), to: pos(3) }, 'a1', [
    { op: 'd', position: pos(3), commitTs: DAY1, values: [2n, null] },
  ]);
  assert.equal(r?.status, 'committed');
  const reader = await LakeReader.open({ lake });
  try {
    assert.deepEqual(await reader.query('SELECT provider_id::VARCHAR AS id, name FROM latest'), [
      { id: '1', name: 'North clinic' },
    ]);
  } finally {
    await reader.close();
  }
  await assert.rejects(
    runWindow(lake, schema, { sequence: 3, from: pos(3), to: pos(4) }, 'a1', [
      { op: 'u', position: pos(4), commitTs: DAY1, values: [1n, null] },
    ]),
    (err: Error) => err.name === 'LakeValueError' && /name/.test(err.message) && /non-nullable/.test(err.message),
  );
});
