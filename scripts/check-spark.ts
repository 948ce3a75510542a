/**
 * `npm run check:spark`: a real Apache Spark reads a Tidemark lake table as a Delta Lake table with
 * `format("delta")` and computes its latest state, which must match the source.
 *
 * - Spark: pyspark and delta-spark from PyPI, installed into the project's git-ignored virtualenv
 *   (`.tidemark/venv`, as the tests install pyarrow and deltalake); the Delta jars come from Maven Central at
 *   session start (`configure_spark_with_delta_pip`); the machine's Java (17+).
 * - The demo table: a claims-like table with every type the type mapping stores specially (datetime2(7) with
 *   the 9999-12-31 sentinel, datetimeoffset(7), time(7), uniqueidentifier, money, rowversion), written through
 *   the real commit path (stage → validate → commit manifest → publish the Delta log) into Azurite in windows of
 *   inserts, updates and deletes, plus a losing attempt whose files no manifest references. "The source" is the
 *   table those changes were applied to, kept in memory here.
 * - The windows' day is then compacted (one Delta version of remove/add with dataChange=false), so Spark reads
 *   the compacted latest version.
 * - Spark reads a copy of the table root (Spark's Azure connector is not needed to show what Spark makes of the
 *   bytes): data files, `_delta_log/`, and the `_`-prefixed lake objects it must skip.
 *
 * Prints the source's and Spark's figures side by side and exits 1 if any differs. Not part of `npm test`: the
 * first run downloads pyspark (~400 MB) and the Delta jars; later runs take about a minute (README).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { TableLayout } from '../src/lake/layout.js';
import { registerSchema } from '../src/lake/schema-registry.js';
import type { LakeTable } from '../src/lake/lake-table.js';
import { AzureBlobStore } from '../src/lake/blob-store.js';
import { compactDay } from '../src/lake/delta/compaction.js';
import type { ChangeEvent } from '../src/lake/stage-window.js';
import type { LakeColumn, LakeValue } from '../src/domain/values.js';
import { azuriteForTests } from '../test/support/stack.js';
import { runWindow } from '../test/support/lake-window.js';
import { pythonWithPyarrow } from '../test/support/pyarrow.js';

/**
 * Pinned delta-spark release (it pins a matching pyspark, and names the Delta jar it loads from Maven Central:
 * `io.delta:delta-spark_4.2_2.13:4.4.0`; 4.4.1 is on PyPI but its jar is not on Maven Central).
 */
const DELTA_SPARK_VERSION = '4.4.0';

const COLUMNS: LakeColumn[] = [
  { name: 'ClaimId', type: { kind: 'int64' }, nullable: false },
  { name: 'Amount', type: { kind: 'decimal', precision: 19, scale: 4 }, nullable: true },
  { name: 'ValidTo', type: { kind: 'timestamp', fractionalDigits: 7 }, nullable: true },
  { name: 'SubmittedAt', type: { kind: 'timestamptz', fractionalDigits: 7 }, nullable: true },
  { name: 'CutOff', type: { kind: 'time', fractionalDigits: 7 }, nullable: true },
  { name: 'Ref', type: { kind: 'uuid' }, nullable: true },
  { name: 'RowVer', type: { kind: 'binary', maxLength: 8 }, nullable: true },
];

const SENTINEL = 253_402_300_799_999_999_900n; // 9999-12-31T23:59:59.9999999
const BASE = 1_764_000_000_000_000_000n; // 2025-11-24T16:00Z
const pos = (n: number) => n.toString(16).padStart(16, '0');
const hex = (n: number) => n.toString(16).padStart(2, '0');

/** The source table's row for claim `id` at change `n` (deterministic). */
function rowOf(id: number, n: number): LakeValue[] {
  return [
    BigInt(id),
    `${id * 100 + n}.${String(n % 10000).padStart(4, '0')}`,
    id % 5 === 0 ? SENTINEL : BASE + BigInt(id * 1_000_000_000 + n * 100),
    { epochNanos: BASE + BigInt(n) * 100n, offsetMinutes: (id % 3) * 60 - 60 },
    BigInt(((id * 3_600 + n) % 86_400) * 1_000_000_000 + 100 * (n % 10)),
    `6f9619ff-8b86-d011-b42d-${id.toString(16).padStart(12, '0')}`,
    Buffer.from(`00000000${hex(id % 256)}${hex(n % 256)}00${hex(7)}`, 'hex'),
  ];
}

interface Source {
  readonly rows: Map<number, LakeValue[]>;
  /** Change events committed (the losing attempt's are not). */
  events: number;
}

/** Windows of inserts, updates and deletes applied to the source and committed to the lake. */
async function buildTable(lake: LakeTable): Promise<Source> {
  const { doc } = await registerSchema(lake.store, lake.layout, { columns: COLUMNS, keyColumns: ['ClaimId'] });
  const source: Source = { rows: new Map(), events: 0 };
  let n = 0;
  const windows = 8;
  for (let w = 1; w <= windows; w++) {
    const events: ChangeEvent[] = [];
    const from = n;
    const change = (op: ChangeEvent['op'], id: number) => {
      n++;
      if (op === 'd') {
        source.rows.delete(id);
        events.push({ op, position: pos(n), commitTs: BASE, values: [BigInt(id), null, null, null, null, null, null] });
      } else {
        const values = rowOf(id, n);
        source.rows.set(id, values);
        events.push({ op, position: pos(n), commitTs: BASE, values });
      }
    };
    for (let i = 0; i < 40; i++) change('c', (w - 1) * 40 + i + 1);
    for (let i = 0; i < 15; i++) change('u', ((w * 7 + i * 13) % (w * 40)) + 1);
    for (let i = 0; i < 3; i++) {
      const id = ((w * 11 + i * 17) % (w * 40)) + 1;
      if (source.rows.has(id)) change('d', id);
    }
    const ref = { sequence: w, from: pos(from), to: pos(n) };
    if (w === 4) await runWindow(lake, doc, ref, 'lost', events, { stopAfter: 'stage' }); // orphans in data/
    await runWindow(lake, doc, ref, 'a', events, { delta: {} });
    source.events += events.length;
  }
  return source;
}

/** The source's figures: change events, latest-state count, exact sum of Amount, sentinel rows, the greatest ValidTo (exact). */
function sourceFigures(source: Source) {
  let sum = 0n;
  let sentinels = 0;
  for (const v of source.rows.values()) {
    const [whole, frac] = (v[1] as string).split('.');
    sum += BigInt(whole ?? '0') * 10_000n + BigInt((frac ?? '').padEnd(4, '0'));
    if (v[2] === SENTINEL) sentinels++;
  }
  const text = (s: bigint) => `${s / 10_000n}.${(s % 10_000n).toString().padStart(4, '0')}`;
  return {
    events: source.events,
    rows: source.rows.size,
    amount: text(sum),
    sentinels,
    maxValidTo: '9999-12-31 23:59:59.9999999',
  };
}

/** Copies the table root out of Azurite into a local folder, as Spark will read it. */
async function copyTable(lake: LakeTable, folder: string): Promise<void> {
  for await (const item of lake.store.list(lake.layout.root)) {
    const local = join(folder, item.path.slice(lake.layout.root.length));
    mkdirSync(dirname(local), { recursive: true });
    writeFileSync(local, (await lake.store.get(item.path))?.body ?? Buffer.alloc(0));
  }
}

function pythonWithSpark(): string {
  const python = pythonWithPyarrow();
  const installed = () => {
    try {
      return execFileSync(python, ['-c', 'from importlib.metadata import version; print(version("delta-spark"))'], {
        stdio: 'pipe',
      })
        .toString()
        .trim();
    } catch {
      return undefined;
    }
  };
  if (installed() !== DELTA_SPARK_VERSION) {
    console.log(`installing delta-spark ${DELTA_SPARK_VERSION} (and the pyspark it pins) into .tidemark/venv …`);
    execFileSync(
      join(process.cwd(), '.tidemark', 'venv', 'bin', 'pip'),
      ['install', '--quiet', '--disable-pip-version-check', `delta-spark==${DELTA_SPARK_VERSION}`],
      { stdio: 'inherit' },
    );
    if (installed() !== DELTA_SPARK_VERSION) throw new Error(`delta-spark ${DELTA_SPARK_VERSION} did not install`);
  }
  return python;
}

/** Spark: the change log with format("delta"), the latest state with a window function, exact ValidTo. */
const PY = `
import json, sys
from pyspark.sql import SparkSession
from delta import configure_spark_with_delta_pip
path = sys.argv[1]
builder = (SparkSession.builder.master('local[1]').appName('tidemark-check-spark')
    .config('spark.sql.extensions', 'io.delta.sql.DeltaSparkSessionExtension')
    .config('spark.sql.catalog.spark_catalog', 'org.apache.spark.sql.delta.catalog.DeltaCatalog')
    .config('spark.sql.session.timeZone', 'UTC')
    .config('spark.ui.enabled', 'false')
    .config('spark.ui.showConsoleProgress', 'false')
    .config('spark.sql.shuffle.partitions', '1'))
spark = configure_spark_with_delta_pip(builder).getOrCreate()
spark.sparkContext.setLogLevel('ERROR')
spark.read.format('delta').load(path).createOrReplaceTempView('changes')
latest = spark.sql("""
  SELECT * FROM (
    SELECT *, row_number() OVER (PARTITION BY ClaimId ORDER BY _pos DESC) AS rn FROM changes
  ) WHERE rn = 1 AND _op <> 'd'""")
latest.createOrReplaceTempView('latest')
r = spark.sql("""
  SELECT count(*) AS rows, CAST(sum(Amount) AS STRING) AS amount,
         count_if(ValidTo = TIMESTAMP_NTZ '9999-12-31 23:59:59.999999' AND ValidTo__100ns = 9) AS sentinels,
         max(concat(date_format(ValidTo, 'yyyy-MM-dd HH:mm:ss.SSSSSS'), CAST(ValidTo__100ns AS STRING))) AS maxValidTo
  FROM latest""").collect()[0].asDict()
events = spark.sql('SELECT count(*) AS n FROM changes').collect()[0]['n']
from delta.tables import DeltaTable
version = DeltaTable.forPath(spark, path).history(1).collect()[0]['version']
print(json.dumps({'latest': r, 'events': events, 'version': version}))
spark.stop()
`;

async function main(): Promise<void> {
  const t0 = Date.now();
  const python = pythonWithSpark();
  const connectionString = await azuriteForTests();
  const store = new AzureBlobStore({ connectionString, container: `check-spark-${Date.now().toString(36)}` });
  await store.ensureContainer();
  const lake: LakeTable = { store, layout: new TableLayout('raw', { db: 'Claims', schema: 'dbo', table: 'Claims' }) };
  const source = await buildTable(lake);
  // The nightly compaction of the windows' day (remove/add with dataChange=false): Spark must read the compacted
  // table's latest version and still see every change event once.
  const compaction = await compactDay({ lake, commitDate: '2025-11-24' });
  console.log(
    `compaction of 2025-11-24: ${compaction.status} at version ${String(compaction.version)}, live files ${compaction.filesBefore} → ${compaction.filesAfter}`,
  );
  if (compaction.status !== 'compacted')
    throw new Error(`the demo table's day was not compacted: ${compaction.status}`);
  const folder = mkdtempSync(join(tmpdir(), 'tidemark-check-spark-'));
  try {
    await copyTable(lake, folder);
    const t1 = Date.now();
    const out = execFileSync(python, ['-c', PY, folder], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    const spark = JSON.parse(out.trim().split('\n').pop() ?? '{}') as {
      latest: Record<string, unknown>;
      events: number;
      version: number;
    };
    const expected = sourceFigures(source);
    const got = {
      events: Number(spark.events),
      rows: Number(spark.latest.rows),
      amount: String(spark.latest.amount),
      sentinels: Number(spark.latest.sentinels),
      maxValidTo: String(spark.latest.maxValidTo),
    };
    console.log(`Spark read the Delta table at version ${spark.version} (${spark.events} change events)`);
    console.log(`| figure                     | source | Spark (format("delta")) |`);
    console.log(`| -------------------------- | ------ | ----------------------- |`);
    for (const k of Object.keys(expected) as (keyof typeof expected)[])
      console.log(`| ${k.padEnd(26)} | ${String(expected[k])} | ${String(got[k])} |`);
    console.log(
      `Spark: ${((Date.now() - t1) / 1000).toFixed(0)} s; whole check: ${((Date.now() - t0) / 1000).toFixed(0)} s`,
    );
    const same = JSON.stringify(expected) === JSON.stringify(got);
    console.log(same ? 'OK: Spark agrees with the source' : 'MISMATCH: Spark disagrees with the source');
    if (!same) process.exitCode = 1;
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
