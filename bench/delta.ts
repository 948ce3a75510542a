/**
 * `npm run bench:delta [versions] [interval]`: how long delta-rs takes to open a Delta table with many versions
 * (default 2,000: a table committed every minute for a day and a half), straight from an in-memory Azurite,
 * without a checkpoint and with one — the figure behind the checkpoint interval (src/lake/delta/checkpoint.ts).
 *
 * The table: two windows with data, then empty windows committed through the real commit step (an empty window
 * is a version like any other: the log's length, not its data, is what a reader replays). Each open is timed
 * inside the Python process (`DeltaTable(...)` + the file list: log listing, replay, snapshot), median of 3.
 * With checkpoints, these states of `_delta_log/_last_checkpoint` are timed: naming the newest checkpoint (what
 * Tidemark keeps with no immutability policy or under version-level WORM; also with its required fields only),
 * stale at the first checkpoint (what stays under a container-level WORM policy, which refuses the overwrite),
 * and absent. The bench moves and deletes the hint itself, in its own throwaway container only. No thresholds:
 * figures are for people.
 */
import { TableLayout } from '../src/lake/layout.js';
import { registerSchema } from '../src/lake/schema-registry.js';
import type { LakeTable } from '../src/lake/lake-table.js';
import { BlobServiceClient } from '@azure/storage-blob';
import { AzureBlobStore } from '../src/lake/blob-store.js';
import { publishDelta } from '../src/lake/delta/publish.js';
import { ensureCheckpoint } from '../src/lake/delta/checkpoint.js';
import { DeltaLogPaths } from '../src/lake/delta/log-paths.js';
import { azuriteForTests } from '../test/support/stack.js';
import { commitEmptyWindows, runWindow } from '../test/support/lake-window.js';
import { readDeltaFromAzurite } from '../test/support/deltalake.js';

const versions = Number(process.argv[2] ?? 2000);
const interval = Number(process.argv[3] ?? 100);
const pos = (n: number) => n.toString(16).padStart(16, '0');
const seconds = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e9;

async function main(): Promise<void> {
  const connectionString = await azuriteForTests();
  const container = `bench-delta-${Date.now().toString(36)}`;
  const store = new AzureBlobStore({ connectionString, container });
  await store.ensureContainer();
  const lake: LakeTable = { store, layout: new TableLayout('raw', { db: 'Claims', schema: 'dbo', table: 'Claims' }) };
  const { doc } = await registerSchema(store, lake.layout, {
    columns: [
      { name: 'claim_id', type: { kind: 'int64' }, nullable: false },
      { name: 'amount', type: { kind: 'decimal', precision: 18, scale: 2 }, nullable: true },
    ],
    keyColumns: ['claim_id'],
  });
  const day = 1_763_942_400_000_000_000n;
  let t0 = process.hrtime.bigint();
  for (let n = 1; n <= 2; n++)
    await runWindow(lake, doc, { sequence: n, from: pos(n - 1), to: pos(n) }, 'a', [
      { op: 'c', position: pos(n), commitTs: day, values: [BigInt(n), `${n}.00`] },
    ]);
  await commitEmptyWindows(lake, doc, 3, versions, pos);
  console.log(`built ${versions} windows in ${seconds(t0).toFixed(1)} s`);

  t0 = process.hrtime.bigint();
  const published = await publishDelta({ lake, checkpointInterval: 0 });
  console.log(`published ${published.written.length} Delta versions in ${seconds(t0).toFixed(1)} s`);

  const open = (label: string, tries = 3) => {
    const times: number[] = [];
    let seen = -1;
    for (let i = 0; i < tries; i++) {
      const view = readDeltaFromAzurite(connectionString, container, lake.layout.root, { rows: false });
      if (view.files.length !== 2) throw new Error(`${label}: delta-rs saw ${view.files.length} files, expected 2`);
      seen = view.version;
      times.push(view.open_ms);
    }
    if (seen !== versions) throw new Error(`${label}: delta-rs opened version ${seen}, expected ${versions}`);
    times.sort((a, b) => a - b);
    return times[Math.floor(tries / 2)] ?? 0;
  };
  const without = open('no checkpoint');

  // The first checkpoint (and the hint naming it), as the publisher wrote it a whole interval ago; kept to put
  // back below as the stale hint a container-level WORM policy leaves.
  const paths = new DeltaLogPaths(lake.layout);
  await ensureCheckpoint({ lake, paths, version: interval, interval });
  const firstHint = await store.get(paths.lastCheckpoint);
  if (!firstHint) throw new Error('no _last_checkpoint after the first checkpoint');

  t0 = process.hrtime.bigint();
  const withCp = await publishDelta({ lake, checkpointInterval: interval });
  const checkpointAt = withCp.checkpoints[0];
  console.log(`checkpoint of version ${checkpointAt} written in ${seconds(t0).toFixed(2)} s`);
  const newestHint = await store.get(paths.lastCheckpoint);
  if (!newestHint) throw new Error('no _last_checkpoint after the newest checkpoint');

  // The hint states, interleaved over rounds (one open each per round) so that a busy spell of the shared
  // machine does not land on one state only; the median of the rounds per state.
  const blobs = BlobServiceClient.fromConnectionString(connectionString).getContainerClient(container);
  const setHint = async (body: Buffer | undefined) => {
    await blobs.deleteBlob(paths.lastCheckpoint, { deleteSnapshots: 'include' }).catch(() => undefined);
    if (body) await store.putIfAbsent(paths.lastCheckpoint, body, { contentType: 'application/json' });
  };
  const states: [string, Buffer | undefined][] = [
    [`checkpoint ${checkpointAt}, _last_checkpoint names it`, newestHint.body],
    // The same hint with only the protocol's required fields: whether the optional ones change a reader's open.
    [`checkpoint ${checkpointAt}, same, version and size only`, minimalHint(newestHint.body)],
    [`checkpoint ${checkpointAt}, _last_checkpoint stale at ${interval}`, firstHint.body],
    [`checkpoint ${checkpointAt}, no _last_checkpoint`, undefined],
  ];
  const times = states.map(() => [] as number[]);
  for (let round = 0; round < 5; round++)
    for (const [i, [label, body]] of states.entries()) {
      await setHint(body);
      times[i]?.push(open(label, 1));
    }
  function minimalHint(body: Buffer): Buffer {
    const { version, size } = JSON.parse(body.toString('utf8')) as { version: number; size: number };
    return Buffer.from(JSON.stringify({ version, size }));
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

  console.log(`\ndelta-rs open of a ${versions}-version table from Azurite:`);
  const rows: [string, number][] = [
    ['JSON versions only (median of 3)', without],
    ...states.map(([label], i): [string, number] => [`${label} (median of 5)`, median(times[i] ?? [])]),
  ];
  console.log(`| ${'log'.padEnd(62)} | open ms |`);
  console.log(`| ${'-'.repeat(62)} | ------- |`);
  for (const [label, ms] of rows) console.log(`| ${label.padEnd(62)} | ${ms.toFixed(0).padStart(7)} |`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
