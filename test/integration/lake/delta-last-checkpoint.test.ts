/**
 * `_delta_log/_last_checkpoint` (src/lake/delta/last-checkpoint.ts), against Azurite and read back by delta-rs:
 * it follows the newest checkpoint, never moves backwards, a stale one still opens the right table (and is
 * moved forward by the next publication), and an overwrite refused by an immutability policy is logged once
 * and never fails the publication.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { TableLayout } from '../../../src/lake/layout.js';
import { registerSchema, type SchemaDoc } from '../../../src/lake/schema-registry.js';
import { type LakeTable } from '../../../src/lake/lake-table.js';
import { LakeReader } from '../../../src/lake/reader.js';
import { classifyBlobError, type AzureBlobStore, type BlobPutOptions } from '../../../src/lake/blob-store.js';
import { BlobAccessDeniedError } from '../../../src/lake/errors.js';
import { forgetKnownHeads, publishDelta } from '../../../src/lake/delta/publish.js';
import { ensureCheckpoint } from '../../../src/lake/delta/checkpoint.js';
import { forgetLastCheckpoints } from '../../../src/lake/delta/last-checkpoint.js';
import { DeltaLogPaths } from '../../../src/lake/delta/log-paths.js';
import { publishTableDelta } from '../../../src/capture/delta-publication.js';
import { createLogger } from '../../../src/util/logger.js';
import type { LakeColumn } from '../../../src/domain/values.js';
import { freshStore } from '../../support/lake.js';
import { azuriteForTests } from '../../support/stack.js';
import { FaultyStore, commitEmptyWindows, runWindow } from '../../support/lake-window.js';
import { readDeltaFromAzurite } from '../../support/deltalake.js';

const COLUMNS: LakeColumn[] = [
  { name: 'claim_id', type: { kind: 'int64' }, nullable: false },
  { name: 'amount', type: { kind: 'decimal', precision: 18, scale: 2 }, nullable: true },
];
const pos = (n: number) => n.toString(16).padStart(16, '0');
const DAY = 1_763_942_400_000_000_000n;
const INTERVAL = 3;

interface Table {
  readonly lake: LakeTable;
  readonly store: AzureBlobStore;
  readonly container: string;
  readonly schema: SchemaDoc;
  readonly paths: DeltaLogPaths;
}

async function setup(label: string): Promise<Table> {
  const { store, container } = await freshStore(label);
  const lake: LakeTable = { store, layout: new TableLayout('raw', { db: 'Claims', schema: 'dbo', table: 'Claims' }) };
  const { doc } = await registerSchema(store, lake.layout, { columns: COLUMNS, keyColumns: ['claim_id'] });
  return { lake, store, container, schema: doc, paths: new DeltaLogPaths(lake.layout) };
}

/** Windows 1 and 2 carry rows (claim 1 created then updated, claim 2 created); the rest are empty. */
async function commitWindows(t: Table, from: number, to: number): Promise<void> {
  for (let n = from; n <= Math.min(to, 2); n++)
    await runWindow(t.lake, t.schema, { sequence: n, from: pos(n - 1), to: pos(n) }, 'a', [
      { op: n === 1 ? 'c' : 'u', position: pos(n), commitTs: DAY, values: [1n, `${n}.00`] },
      ...(n === 2 ? [{ op: 'c' as const, position: pos(n), commitTs: DAY, values: [2n, '7.00'] }] : []),
    ]);
  if (to > 2) await commitEmptyWindows(t.lake, t.schema, Math.max(from, 3), to, pos);
}

interface Hint {
  version: number;
  size: number;
  sizeInBytes: number;
  numOfAddFiles: number;
}

async function hintOf(t: Table): Promise<Hint | undefined> {
  const got = await t.store.get(t.paths.lastCheckpoint);
  return got ? (JSON.parse(got.body.toString('utf8')) as Hint) : undefined;
}

async function viaDelta(t: Table) {
  return readDeltaFromAzurite(await azuriteForTests(), t.container, t.lake.layout.root);
}

/** The latest state through the manifests (the reference): claim and amount per live key. */
async function latestViaManifests(lake: LakeTable): Promise<string[]> {
  const reader = await LakeReader.open({ lake });
  try {
    const rows = await reader.query(`SELECT claim_id::VARCHAR || '=' || amount::VARCHAR AS r FROM latest ORDER BY 1`);
    return rows.map((r) => String(r.r));
  } finally {
    await reader.close();
  }
}

/** The latest state as a Delta reader computes it from delta-rs' rows. */
function latestViaDeltaRs(rows: Record<string, unknown>[] | undefined): string[] {
  const last = new Map<string, Record<string, unknown>>();
  for (const r of [...(rows ?? [])].sort((a, b) => String(a._pos).localeCompare(String(b._pos))))
    last.set(String(r.claim_id), r);
  return [...last.values()]
    .filter((r) => r._op !== 'd')
    .map((r) => `${String(r.claim_id)}=${String(r.amount)}`)
    .sort();
}

test('_last_checkpoint names the newest checkpoint with its figures, never moves backwards, and delta-rs opens the latest state', async () => {
  const t = await setup('delta-lastcp');
  await commitWindows(t, 1, 4);
  await publishDelta({ lake: t.lake, checkpointInterval: INTERVAL });
  assert.equal((await hintOf(t))?.version, 3, 'created after the first checkpoint');

  await commitWindows(t, 5, 7);
  const out = await publishDelta({ lake: t.lake, checkpointInterval: INTERVAL });
  assert.deepEqual(out, { version: 7, written: [5, 6, 7], checkpoints: [6], behind: false });
  const hint = await hintOf(t);
  const checkpointBytes = (await t.store.properties(t.paths.checkpoint(6)))?.bytes;
  const view = await viaDelta(t);
  // The checkpoint of version 6: one protocol, one metaData, and one add per live file (no remove: nothing was
  // compacted), which are the files delta-rs lists.
  assert.deepEqual(hint, {
    version: 6,
    size: 2 + view.files.length,
    sizeInBytes: checkpointBytes,
    numOfAddFiles: view.files.length,
  });
  assert.equal(view.version, 7);
  assert.deepEqual(latestViaDeltaRs(view.rows), await latestViaManifests(t.lake));
  assert.deepEqual(latestViaDeltaRs(view.rows), ['1=2.00', '2=7.00']);

  // A late call for an older checkpoint (a repair, a slow concurrent publisher), in a process that has not
  // seen this table yet, leaves the newer hint alone.
  forgetLastCheckpoints();
  const older = await ensureCheckpoint({ lake: t.lake, paths: t.paths, version: 3, interval: INTERVAL });
  assert.deepEqual(older, { created: false, lastCheckpoint: { status: 'current' } });
  assert.equal((await hintOf(t))?.version, 6);
});

test('a stale _last_checkpoint still opens the right latest state in delta-rs, and the next publication moves it to the newest checkpoint', async () => {
  const t = await setup('delta-lastcp-stale');
  await commitWindows(t, 1, 4);
  await publishDelta({ lake: t.lake, checkpointInterval: INTERVAL });
  const stale = await t.store.get(t.paths.lastCheckpoint);
  assert.ok(stale);
  await commitWindows(t, 5, 8);
  await publishDelta({ lake: t.lake, checkpointInterval: INTERVAL });
  assert.equal((await hintOf(t))?.version, 6);

  // Put the hint of version 3 back (as under a container-level immutability policy, or a crash between the
  // checkpoint of 6 and its hint): legal, "it points to near the end of the log".
  const current = await t.store.get(t.paths.lastCheckpoint);
  await t.store.replaceIfMatch(t.paths.lastCheckpoint, stale.body, current?.etag ?? '');
  assert.equal((await hintOf(t))?.version, 3);
  const view = await viaDelta(t);
  assert.equal(view.version, 8);
  assert.deepEqual(latestViaDeltaRs(view.rows), await latestViaManifests(t.lake));

  // A new process (nothing remembered) publishing with no new window repairs it from the existing checkpoint.
  forgetLastCheckpoints();
  forgetKnownHeads();
  const again = await publishDelta({ lake: t.lake, checkpointInterval: INTERVAL });
  assert.deepEqual(again, { version: 8, written: [], checkpoints: [], behind: false });
  const repaired = await hintOf(t);
  assert.equal(repaired?.version, 6);
  assert.equal(repaired?.sizeInBytes, (await t.store.properties(t.paths.checkpoint(6)))?.bytes);
  assert.equal(repaired?.numOfAddFiles, view.files.length);
});

/**
 * A store whose data container has a container-level time-based immutability policy: creating an object works,
 * overwriting `_last_checkpoint` is refused with Azure's 409 `BlobImmutableDueToPolicy`. A fake at the blob
 * store boundary only, because Azurite does not implement immutability policies; the error goes through the
 * real classifier (classifyBlobError) as the SDK's error would.
 */
class ImmutableHintStore extends FaultyStore {
  replaces = 0;
  constructor(
    private readonly store: AzureBlobStore,
    private readonly container: string,
    private readonly refusal: { statusCode: number; errorCode: string },
  ) {
    super(store, Number.POSITIVE_INFINITY);
  }
  override replaceIfMatch(path: string, body: Uint8Array | string, etag: string, options?: BlobPutOptions) {
    if (!path.endsWith('/_last_checkpoint')) return this.store.replaceIfMatch(path, body, etag, options);
    this.replaces++;
    const sdkError = { statusCode: this.refusal.statusCode, details: { errorCode: this.refusal.errorCode } };
    return Promise.reject(classifyBlobError(sdkError, 'replace', path, this.container));
  }
}

test('an immutability policy refusing to overwrite _last_checkpoint is logged once, not retried, and the publication succeeds', async () => {
  const t = await setup('delta-lastcp-worm');
  const worm = new ImmutableHintStore(t.store, t.container, { statusCode: 409, errorCode: 'BlobImmutableDueToPolicy' });
  const lake: LakeTable = { ...t.lake, store: worm };
  const lines: string[] = [];
  const logger = createLogger({
    name: 'test',
    level: 'info',
    destination: new Writable({
      write(chunk: Buffer, _enc, cb) {
        lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
        cb();
      },
    }),
  });
  const publish = () => publishTableDelta({ lake, logger, checkpointInterval: INTERVAL });

  await commitWindows(t, 1, 4);
  assert.deepEqual(await publish(), { version: 4, written: 5, checkpoints: [3] });
  assert.equal((await hintOf(t))?.version, 3, 'creating the hint is allowed under the policy');
  for (const [from, to] of [
    [5, 7],
    [8, 10],
    [11, 13],
  ] as const) {
    await commitWindows(t, from, to);
    const out = await publish();
    assert.equal(out.version, to);
    assert.equal(out.refused, undefined);
  }
  const notes = lines
    .map((l) => JSON.parse(l) as { level: string; msg: string; reason?: string })
    .filter((l) => l.msg.includes('_last_checkpoint'));
  assert.equal(notes.length, 1, 'logged once per table and process');
  assert.equal(notes[0]?.level, 'info');
  assert.match(notes[0]?.reason ?? '', /BlobImmutableDueToPolicy/);
  assert.equal(worm.replaces, 1, 'not tried again for this table in this process');
  assert.equal((await hintOf(t))?.version, 3, 'the hint already written stays');
  for (const v of [6, 9, 12]) assert.equal(await t.store.exists(t.paths.checkpoint(v)), true);

  const view = await viaDelta(t);
  assert.equal(view.version, 13);
  assert.deepEqual(latestViaDeltaRs(view.rows), await latestViaManifests(t.lake));
});

test('a 403 on _last_checkpoint is a real error, not an immutability policy: the publication fails', async () => {
  const t = await setup('delta-lastcp-403');
  const denied = new ImmutableHintStore(t.store, t.container, {
    statusCode: 403,
    errorCode: 'AuthorizationPermissionMismatch',
  });
  await commitWindows(t, 1, 7);
  await publishDelta({ lake: t.lake, checkpointInterval: INTERVAL, maxVersions: 4 }); // hint at 3
  await assert.rejects(
    publishDelta({ lake: { ...t.lake, store: denied }, checkpointInterval: INTERVAL }),
    BlobAccessDeniedError,
  );
  assert.equal(denied.replaces, 1);
  assert.equal((await hintOf(t))?.version, 3);
});
