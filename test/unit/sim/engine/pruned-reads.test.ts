/**
 * A SELECT reads from storage only the columns its expressions use (sim/engine/query.ts, SourceSpec.pruned): a
 * query that needs only key columns — the plan's chunk boundary `ORDER BY key OFFSET n-1 ROWS FETCH NEXT 1 ROWS
 * ONLY`, a `COUNT_BIG(*)`, a key range — does not decode a packed row's other columns to read its key, count it
 * or skip it (issue 14: the boundary query cost ~5 µs of simulator CPU per loaded row that way). The CDC change
 * functions do the same per change row, and skip an update's old-values row without decoding it.
 *
 * Behaviour first: every query here must return exactly what the full path returns — the same query's rows
 * taken from `SELECT *` (which reads every column) — with ties, composite and descending keys, deleted rows,
 * other sessions' uncommitted versions under READ COMMITTED, SNAPSHOT and NOLOCK, a column added after the rows
 * were packed, and stale nonclustered index entries.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Session, SqlValue } from '../../../../sim/engine/api.js';
import type { SimEngine } from '../../../../sim/engine/index.js';
import { RowCodec } from '../../../../sim/engine/row-codec.js';
import { cdcAdmin } from '../../../../sim/engine/cdc/index.js';
import { engineWithClaims, connect, run, valuesDecodedDuring } from './helpers.js';

/** Counts full-row decodes of packed rows while `fn` runs. */
async function decodesDuring(fn: () => Promise<void>): Promise<number> {
  const proto = RowCodec.prototype;
  const original = Object.getOwnPropertyDescriptor(proto, 'decodeAt') as PropertyDescriptor;
  const decode = original.value as (this: RowCodec, ...args: Parameters<RowCodec['decodeAt']>) => unknown;
  let n = 0;
  Object.defineProperty(proto, 'decodeAt', {
    ...original,
    value(this: RowCodec, ...args: Parameters<RowCodec['decodeAt']>) {
      n++;
      return decode.apply(this, args);
    },
  });
  try {
    await fn();
  } finally {
    Object.defineProperty(proto, 'decodeAt', original);
  }
  return n;
}

async function rows(s: Session, sql: string): Promise<SqlValue[][]> {
  const r = await run(s, sql);
  if (r.errors[0]) throw new Error(`${r.errors[0].number}: ${r.errors[0].message} (${sql})`);
  return r.sets[r.sets.length - 1] ?? [];
}

/**
 * `SELECT <cols> FROM <rest>` (read pruned) returns the rows of `SELECT * FROM <rest>` (read whole) projected to
 * `cols`, in the same order.
 */
async function sameAsFull(s: Session, cols: string[], allCols: string[], rest: string): Promise<SqlValue[][]> {
  const pruned = await rows(s, `SELECT ${cols.join(', ')} FROM ${rest}`);
  const full = await rows(s, `SELECT * FROM ${rest}`);
  const at = cols.map((c) => allCols.indexOf(c));
  assert.ok(
    at.every((i) => i >= 0),
    `columns ${cols.join(', ')} not all in ${allCols.join(', ')}`,
  );
  assert.deepEqual(
    pruned,
    full.map((r) => at.map((i) => r[i] ?? null)),
    `SELECT ${cols.join(', ')} FROM ${rest}`,
  );
  return pruned;
}

const WIDE_COLS = ['id', ...Array.from({ length: 24 }, (_, i) => `c${i}`)];

async function wideTable(n: number): Promise<{ e: SimEngine; s: Session }> {
  const e = engineWithClaims();
  const s = await connect(e);
  await run(
    s,
    `CREATE TABLE dbo.Wide (id int NOT NULL PRIMARY KEY, ${WIDE_COLS.slice(1)
      .map((c) => `${c} int NOT NULL`)
      .join(', ')})`,
  );
  await e.admin.bulkInsert(
    'Claims',
    'dbo.Wide',
    WIDE_COLS,
    Array.from({ length: n }, (_, r) => [BigInt(r), ...Array.from({ length: 24 }, (_, i) => BigInt(r * 100 + i))]),
  );
  return { e, s };
}

test('the chunk-boundary query and COUNT_BIG(*) over packed rows decode no row whole; SELECT * still does', async () => {
  const { s } = await wideTable(150);
  let boundary: SqlValue[][] = [];
  const boundaryDecodes = await decodesDuring(async () => {
    boundary = await rows(s, 'SELECT id FROM dbo.Wide ORDER BY id OFFSET 99 ROWS FETCH NEXT 1 ROWS ONLY');
  });
  assert.deepEqual(boundary, [[99n]]);
  // Before: one full decode per row walked (100); now the key slot alone.
  assert.equal(boundaryDecodes, 0, `${boundaryDecodes} full decodes for the boundary query`);
  let count: SqlValue[][] = [];
  const countDecodes = await decodesDuring(async () => {
    count = await rows(s, 'SELECT COUNT_BIG(*) FROM dbo.Wide WHERE id > 20');
  });
  assert.deepEqual(count, [[129n]]);
  assert.equal(countDecodes, 0, `${countDecodes} full decodes for COUNT_BIG(*)`);
  const starDecodes = await decodesDuring(async () => void (await rows(s, 'SELECT * FROM dbo.Wide')));
  assert.equal(starDecodes, 150);
});

test('key-only reads equal the full read: OFFSET/FETCH boundaries, keyset ranges, counts and aggregates', async () => {
  const { s } = await wideTable(300);
  for (const off of [0, 1, 99, 150, 298, 299])
    await sameAsFull(s, ['id'], WIDE_COLS, `dbo.Wide ORDER BY id OFFSET ${off} ROWS FETCH NEXT 1 ROWS ONLY`);
  assert.deepEqual(await rows(s, 'SELECT id FROM dbo.Wide ORDER BY id OFFSET 300 ROWS FETCH NEXT 1 ROWS ONLY'), []);
  await sameAsFull(s, ['id'], WIDE_COLS, 'dbo.Wide WHERE id > 100 AND id <= 200 ORDER BY id');
  await sameAsFull(s, ['id'], WIDE_COLS, 'dbo.Wide ORDER BY id DESC OFFSET 10 ROWS FETCH NEXT 5 ROWS ONLY');
  await sameAsFull(s, ['c7', 'id'], WIDE_COLS, 'dbo.Wide WHERE c3 % 7 = 0 ORDER BY c5 DESC');
  // Aggregates over a column subset against the same aggregates computed from the full rows.
  const full = await rows(s, 'SELECT * FROM dbo.Wide WHERE id >= 17');
  const agg = await rows(s, 'SELECT COUNT_BIG(*), SUM(c9), MIN(id), MAX(c23) FROM dbo.Wide WHERE id >= 17');
  const c9 = WIDE_COLS.indexOf('c9');
  const c23 = WIDE_COLS.indexOf('c23');
  assert.deepEqual(agg, [
    [
      BigInt(full.length),
      full.reduce((a, r) => a + (r[c9] as bigint), 0n),
      17n,
      full.reduce((a, r) => ((r[c23] as bigint) > a ? (r[c23] as bigint) : a), -1n),
    ],
  ]);
  // A correlated subquery reads an outer column that the outer select list does not name.
  await sameAsFull(
    s,
    ['id'],
    WIDE_COLS,
    'dbo.Wide AS w WHERE EXISTS (SELECT 1 FROM dbo.Wide AS x WHERE x.id = w.c0 / 100 + 1 AND x.c1 % 2 = 1) ORDER BY id',
  );
});

test('composite and descending keys with ties: boundaries and keyset pages equal the full read', async () => {
  const e = engineWithClaims();
  const s = await connect(e);
  const cols = ['a', 'b', 'c', 'd', 'e'];
  await run(
    s,
    `CREATE TABLE dbo.K (a int NOT NULL, b varchar(10) NOT NULL, c int NULL, d nvarchar(20) NULL, e decimal(9,2) NULL,
       CONSTRAINT PK_K PRIMARY KEY (a, b DESC));
     CREATE INDEX IX_K_c ON dbo.K (c DESC);`,
  );
  await e.admin.bulkInsert(
    'Claims',
    'dbo.K',
    cols,
    Array.from({ length: 200 }, (_, i) => [
      BigInt(i % 13),
      `k${String(i).padStart(3, '0')}`,
      BigInt(i % 5), // ties in the nonclustered key
      i % 4 === 0 ? null : `row ${i}`,
      { kind: 'decimal', unscaled: BigInt(i * 3), scale: 2 },
    ]),
  );
  for (const off of [0, 13, 64, 199])
    await sameAsFull(s, ['a', 'b'], cols, `dbo.K ORDER BY a, b DESC OFFSET ${off} ROWS FETCH NEXT 1 ROWS ONLY`);
  await sameAsFull(s, ['a', 'b'], cols, "dbo.K WHERE (a > 4) OR (a = 4 AND b < 'k100') ORDER BY a, b DESC");
  await sameAsFull(
    s,
    ['a', 'b'],
    cols,
    "dbo.K WHERE ((a > 2) OR (a = 2 AND b < 'k150')) AND ((a < 9) OR (a = 9 AND b >= 'k050')) ORDER BY a, b DESC OFFSET 30 ROWS FETCH NEXT 1 ROWS ONLY",
  );
  // Through the nonclustered index (ties on c broken by the clustered key).
  await sameAsFull(s, ['c', 'a', 'b'], cols, 'dbo.K WHERE c >= 2 ORDER BY c DESC');
  await sameAsFull(s, ['c'], cols, 'dbo.K WHERE c < 3 ORDER BY c DESC OFFSET 7 ROWS FETCH NEXT 3 ROWS ONLY');
});

test('deleted rows, uncommitted versions and snapshots: pruned reads see what full reads see', async () => {
  const { e, s } = await wideTable(120);
  await run(s, 'ALTER DATABASE Claims SET ALLOW_SNAPSHOT_ISOLATION ON');
  await run(s, 'CREATE INDEX IX_Wide_c0 ON dbo.Wide (c0)');
  // Committed changes: deletes, a key moved, a nonclustered key changed (a stale entry stays until vacuum).
  await run(s, 'DELETE FROM dbo.Wide WHERE id % 10 = 3; UPDATE dbo.Wide SET id = id + 1000 WHERE id = 50;');
  await run(s, 'UPDATE dbo.Wide SET c0 = c0 + 7 WHERE id BETWEEN 60 AND 70');
  // A SNAPSHOT reader whose view starts now.
  const snap = await connect(e);
  await run(snap, 'SET TRANSACTION ISOLATION LEVEL SNAPSHOT; BEGIN TRAN; SELECT COUNT(*) FROM dbo.Wide;');
  // Later commits the snapshot must not see, and another session's uncommitted writes nobody but NOLOCK sees.
  await run(
    s,
    'DELETE FROM dbo.Wide WHERE id BETWEEN 20 AND 29; INSERT INTO dbo.Wide SELECT id + 500, ' +
      WIDE_COLS.slice(1).join(', ') +
      ' FROM dbo.Wide WHERE id < 5;',
  );
  const writer = await connect(e);
  await run(
    writer,
    `BEGIN TRAN;
     DELETE FROM dbo.Wide WHERE id BETWEEN 30 AND 34;
     UPDATE dbo.Wide SET c0 = -1, c1 = -1 WHERE id BETWEEN 80 AND 84;
     UPDATE dbo.Wide SET id = id + 2000 WHERE id = 90;
     INSERT INTO dbo.Wide SELECT id + 3000, ${WIDE_COLS.slice(1).join(', ')} FROM dbo.Wide WHERE id < 3;`,
  );
  const queries: [string[], string][] = [
    [['id'], 'dbo.Wide ORDER BY id OFFSET 40 ROWS FETCH NEXT 1 ROWS ONLY'],
    [['id'], 'dbo.Wide ORDER BY id'],
    [['id', 'c1'], 'dbo.Wide WHERE id > 25 AND id <= 95 ORDER BY id'],
    [['c0', 'id'], 'dbo.Wide WHERE c0 >= 6000 ORDER BY c0'],
    [['id'], 'dbo.Wide WITH (NOLOCK) ORDER BY id OFFSET 20 ROWS FETCH NEXT 50 ROWS ONLY'],
    [['c0'], 'dbo.Wide WITH (NOLOCK) WHERE c0 < 9000 ORDER BY c0'],
    [['id'], 'dbo.Wide WITH (READPAST) ORDER BY id'],
  ];
  for (const reader of [s, snap]) for (const [cols, rest] of queries) await sameAsFull(reader, cols, WIDE_COLS, rest);
  // The three kinds of reader see different rows (the scenarios are not vacuous).
  const committed = await rows(s, 'SELECT COUNT_BIG(*) FROM dbo.Wide');
  const snapshot = await rows(snap, 'SELECT COUNT_BIG(*) FROM dbo.Wide');
  const dirty = await rows(s, 'SELECT COUNT_BIG(*) FROM dbo.Wide WITH (NOLOCK)');
  assert.equal(new Set([committed, snapshot, dirty].map((r) => r[0]?.[0] as bigint)).size, 3);
  await run(writer, 'ROLLBACK');
  await run(snap, 'COMMIT');
});

test('a column added after the rows were packed reads as its default in a pruned read too', async () => {
  const { s } = await wideTable(40);
  await run(s, "ALTER TABLE dbo.Wide ADD extra nvarchar(10) NOT NULL CONSTRAINT DF_extra DEFAULT N'zz', more int NULL");
  await run(
    s,
    'INSERT INTO dbo.Wide (id, ' +
      WIDE_COLS.slice(1).join(', ') +
      ', extra, more) SELECT id + 100, ' +
      WIDE_COLS.slice(1).join(', ') +
      ", N'new', 7 FROM dbo.Wide WHERE id < 4",
  );
  const all = [...WIDE_COLS, 'extra', 'more'];
  const got = await sameAsFull(s, ['id', 'extra', 'more'], all, 'dbo.Wide ORDER BY id');
  assert.deepEqual(got[0], [0n, 'zz', null]);
  assert.deepEqual(got[got.length - 1], [103n, 'new', 7n]);
  await sameAsFull(s, ['extra'], all, "dbo.Wide WHERE extra = N'zz' ORDER BY id OFFSET 5 ROWS FETCH NEXT 1 ROWS ONLY");
});

test('CDC change functions: a subset of columns, counts and net changes equal the full read', async () => {
  const e = engineWithClaims();
  cdcAdmin(e).configure({ autoStart: false });
  const s = await connect(e);
  const sa = (sql: string) => e.admin.execute(sql, { database: 'Claims' });
  await sa(
    `CREATE TABLE dbo.T (id int NOT NULL PRIMARY KEY, v int NULL, w nvarchar(20) NULL, x decimal(9,2) NULL,
       y1 int NULL, y2 int NULL, y3 int NULL, y4 int NULL, y5 int NULL, y6 int NULL);
     EXEC sys.sp_cdc_enable_db;
     EXEC sys.sp_cdc_enable_table @source_schema = N'dbo', @source_name = N'T', @role_name = NULL, @supports_net_changes = 1;`,
  );
  await sa(
    "INSERT INTO dbo.T SELECT v.n, v.n, N'w', 1.5, v.n, v.n + 1, NULL, 4, 5, 6 FROM (VALUES (1),(2),(3),(4),(5),(6),(7),(8)) AS v(n)",
  );
  await sa(
    "BEGIN TRAN; UPDATE dbo.T SET v = v + 10, w = N'changed' WHERE id <= 5; DELETE FROM dbo.T WHERE id = 8; COMMIT;",
  );
  await sa('UPDATE dbo.T SET x = 2.5 WHERE id IN (1, 6)');
  await cdcAdmin(e).runCapture('Claims');
  const range = (fn: string, filter: string) =>
    `cdc.${fn}_dbo_T(sys.fn_cdc_get_min_lsn(N'dbo_T'), sys.fn_cdc_get_max_lsn(), N'${filter}') AS c`;
  const captured = ['id', 'v', 'w', 'x', 'y1', 'y2', 'y3', 'y4', 'y5', 'y6'];
  const allCols = ['__$start_lsn', '__$seqval', '__$operation', '__$update_mask', ...captured];
  const netCols = ['__$start_lsn', '__$operation', '__$update_mask', ...captured];
  for (const filter of ['all', 'all update old']) {
    const fn = range('fn_cdc_get_all_changes', filter);
    await sameAsFull(s, ['__$seqval'], allCols, `${fn} ORDER BY __$start_lsn, __$seqval, __$operation`);
    await sameAsFull(s, ['__$operation', 'id', 'x'], allCols, `${fn} ORDER BY __$start_lsn, __$seqval, __$operation`);
    await sameAsFull(s, ['w', '__$start_lsn'], allCols, `${fn} WHERE __$operation <> 2 ORDER BY __$seqval DESC`);
    const full = await rows(s, `SELECT * FROM ${fn}`);
    assert.deepEqual(await rows(s, `SELECT COUNT_BIG(*) FROM (SELECT TOP (100) c.__$seqval AS s FROM ${fn}) AS t`), [
      [BigInt(full.length)],
    ]);
  }
  // 8 inserts, 5 updates + 1 delete, 2 updates; each update also has an old-values row that 'all' leaves out.
  const allFn = range('fn_cdc_get_all_changes', 'all');
  const width = (await rows(s, 'SELECT * FROM cdc.dbo_T_CT'))[0]?.length ?? 0;
  const changeRows = (await rows(s, 'SELECT COUNT(*) FROM cdc.dbo_T_CT'))[0]?.[0];
  assert.equal(changeRows, 8n + 7n * 2n + 1n);
  let star: SqlValue[][] = [];
  const starValues = await valuesDecodedDuring(async () => void (star = await rows(s, `SELECT * FROM ${allFn}`)));
  assert.equal(star.length, 8 + 6 + 2);
  // Walking the change table reads each row's 3 key slots; then the operation of every row and the rest of each row
  // returned. Before, the 7 old-values rows were decoded whole too (23 × width + the walk).
  const walk = 23 * 4;
  assert.ok(starValues <= walk + 23 + star.length * width, `${starValues} values decoded for ${star.length} rows`);
  const seqvalValues = await valuesDecodedDuring(async () => void (await rows(s, `SELECT c.__$seqval FROM ${allFn}`)));
  // The walk, the operation and the seqval of each row; before, every column of all 23.
  assert.ok(seqvalValues <= walk + 23 * 2, `${seqvalValues} values decoded to read 16 seqvals`);
  for (const filter of ['all', 'all with mask', 'all with merge']) {
    const fn = range('fn_cdc_get_net_changes', filter);
    await sameAsFull(s, ['__$operation', 'x'], netCols, `${fn} ORDER BY id`);
    await sameAsFull(s, ['__$update_mask'], netCols, `${fn} ORDER BY id`);
  }
});

test('a derived table reads only the columns the outer query uses; DISTINCT, aggregates and ORDER BY keep theirs', async () => {
  const { s } = await wideTable(150);
  // Tidemark's capped count: the outer query reads no column of the derived table, so its source decodes no
  // value but what its walk needs (the same as a derived table of NULLs).
  const decoded = async (sql: string, expected: SqlValue[][]): Promise<number> =>
    valuesDecodedDuring(async () => assert.deepEqual(await rows(s, sql), expected, sql));
  const count = await decoded('SELECT COUNT_BIG(*) FROM (SELECT TOP (100) c7 AS s FROM dbo.Wide WHERE id > 20) AS t', [
    [100n],
  ]);
  const walk = await decoded('SELECT COUNT_BIG(*) FROM (SELECT TOP (100) NULL AS s FROM dbo.Wide WHERE id > 20) AS t', [
    [100n],
  ]);
  // Before: c7 decoded for each of the 100 rows the derived table produced.
  assert.equal(count, walk, `${count} values decoded for a count over a derived table, ${walk} to walk its rows`);
  const two = await decoded('SELECT SUM(t.s) FROM (SELECT TOP (3) c7 AS s, c9 AS u FROM dbo.Wide) AS t', [
    [7n + 107n + 207n],
  ]);
  const one = await decoded('SELECT SUM(t.s) FROM (SELECT TOP (3) c7 AS s FROM dbo.Wide) AS t', [[7n + 107n + 207n]]);
  assert.equal(two, one, 'the column the outer query reads, and only it');
  // An inner ORDER BY on a column the outer query does not read still orders the TOP.
  assert.deepEqual(await rows(s, 'SELECT t.id FROM (SELECT TOP (3) id, c3 AS k FROM dbo.Wide ORDER BY k DESC) AS t'), [
    [149n],
    [148n],
    [147n],
  ]);
  assert.deepEqual(await rows(s, 'SELECT t.id FROM (SELECT TOP (2) id, c3 FROM dbo.Wide ORDER BY 2 DESC) AS t'), [
    [149n],
    [148n],
  ]);
  // DISTINCT compares every column; an aggregate sets the row count: neither is dropped.
  assert.deepEqual(
    await rows(s, 'SELECT COUNT(*) FROM (SELECT DISTINCT c0 % 3 AS m, id % 2 AS p FROM dbo.Wide) AS t'),
    [[6n]],
  );
  assert.deepEqual(await rows(s, 'SELECT COUNT(*) FROM (SELECT COUNT(*) AS n FROM dbo.Wide) AS t'), [[1n]]);
  // SELECT * over the derived table reads all of its columns.
  assert.deepEqual(await rows(s, 'SELECT * FROM (SELECT TOP (1) c1 AS a, c2 AS b FROM dbo.Wide WHERE id = 4) AS t'), [
    [401n, 402n],
  ]);
  // A CTE is a derived table too.
  assert.deepEqual(await rows(s, 'WITH w AS (SELECT id, c5 AS f FROM dbo.Wide WHERE id < 10) SELECT COUNT(*) FROM w'), [
    [10n],
  ]);
});
