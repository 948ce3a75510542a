/**
 * `npm run bench:delta [versions] [interval]`: how long delta-rs takes to open a Delta table with many versions
 * (default 2,000: a table committed every minute for a day and a half), straight from an in-memory Azurite,
 * without a checkpoint and with one — the figure behind the checkpoint interval (src/lake/delta/checkpoint.ts).
 *
 * The table: two windows with data, then empty windows committed through the real commit step (an empty window
 * is a version like any other: the log's length, not its data, is what a reader replays). Each open is timed
 * inside the Python process (`DeltaTable(...)` + the file list: log listing, replay, snapshot), median of 3.
 * The third figure adds `_delta_log/_last_checkpoint` to this throwaway container only, to show what the hint
 * Tidemark does not write (the data container is WORM) would save. No thresholds: figures are for people.
 */
import { TableLayout } from '../src/lake/layout.js';
import { registerSchema } from '../src/lake/schema-registry.js';
import type { LakeTable } from '../src/lake/lake-table.js';
import { AzureBlobStore } from '../src/lake/blob-store.js';
import { publishDelta } from '../src/lake/delta/publish.js';
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

  const open = (label: string) => {
    const times: number[] = [];
    let seen = -1;
    for (let i = 0; i < 3; i++) {
      const view = readDeltaFromAzurite(connectionString, container, lake.layout.root, { rows: false });
      if (view.files.length !== 2) throw new Error(`${label}: delta-rs saw ${view.files.length} files, expected 2`);
      seen = view.version;
      times.push(view.open_ms);
    }
    if (seen !== versions) throw new Error(`${label}: delta-rs opened version ${seen}, expected ${versions}`);
    times.sort((a, b) => a - b);
    return times[1] ?? 0;
  };
  const without = open('no checkpoint');

  t0 = process.hrtime.bigint();
  const withCp = await publishDelta({ lake, checkpointInterval: interval });
  const checkpointAt = withCp.checkpoints[0];
  console.log(`checkpoint of version ${checkpointAt} written in ${seconds(t0).toFixed(2)} s`);
  const withCheckpoint = open('checkpoint');

  const paths = new DeltaLogPaths(lake.layout);
  await store.putIfAbsent(`${paths.prefix}_last_checkpoint`, JSON.stringify({ version: checkpointAt, size: 4 }));
  const withHint = open('checkpoint + _last_checkpoint');

  console.log(`\ndelta-rs open of a ${versions}-version table from Azurite (median of 3):`);
  const rows: [string, number][] = [
    ['JSON versions only', without],
    [`checkpoint of version ${checkpointAt}, no _last_checkpoint`, withCheckpoint],
    ['checkpoint + _last_checkpoint (bench only)', withHint],
  ];
  console.log(`| ${'log'.padEnd(45)} | open ms |`);
  console.log(`| ${'-'.repeat(45)} | ------- |`);
  for (const [label, ms] of rows) console.log(`| ${label.padEnd(45)} | ${ms.toFixed(0).padStart(7)} |`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
