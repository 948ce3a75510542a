/**
 * GROUP BY on the columns that lead a source's delivered order streams (sim/engine/query.ts, streamGroups): the
 * rows of one group arrive together, so each group is finished when the next starts, an ORDER BY on those
 * columns needs no sort and TOP stops the walk early. Tidemark's commit-time query is one (`GROUP BY
 * __$start_lsn … ORDER BY __$start_lsn` over fn_cdc_get_all_changes_): SQL Server answers it with an ordered
 * stream aggregate over the change table's clustered index; the simulator kept every group in a table and sorted
 * them, walking and decoding every change row of the range before the first group (issue 14, "The CDC window
 * path, continued"). Results must be what the hashed path gives: groups, aggregates, NULL keys, binary keys that
 * differ only by trailing zeros, keys in any order of the prefix, DESC keys.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Session, SqlValue } from '../../../../sim/engine/api.js';
import { cdcAdmin } from '../../../../sim/engine/cdc/index.js';
import { engineWithClaims, connect, run, valuesDecodedDuring } from './helpers.js';

async function rows(s: Session, sql: string): Promise<SqlValue[][]> {
  const r = await run(s, sql);
  if (r.errors[0]) throw new Error(`${r.errors[0].number}: ${r.errors[0].message} (${sql})`);
  return r.sets[r.sets.length - 1] ?? [];
}

/** The GROUP BY's rows computed from the plain rows (`SELECT keys, arg ORDER BY keys`) the slow way. */
function grouped(plain: SqlValue[][], nKeys: number): SqlValue[][] {
  const out: SqlValue[][] = [];
  const id = (r: SqlValue[]) =>
    JSON.stringify(
      r
        .slice(0, nKeys)
        .map((v) =>
          Buffer.isBuffer(v) ? v.toString('hex').replace(/(00)+$/, '') : typeof v === 'bigint' ? String(v) : v,
        ),
    );
  for (const r of plain) {
    const last = out[out.length - 1];
    const v = r[nKeys] as bigint | null;
    if (last && id(last) === id(r)) {
      last[nKeys] = (last[nKeys] as bigint) + 1n;
      if (v !== null) last[nKeys + 1] = last[nKeys + 1] === null ? v : (last[nKeys + 1] as bigint) + v;
    } else out.push([...r.slice(0, nKeys), 1n, v]);
  }
  return out;
}

test("the commit-time query over a CDC function streams: TOP (1) walks only the first transaction's changes", async () => {
  const e = engineWithClaims();
  cdcAdmin(e).configure({ autoStart: false });
  const s = await connect(e);
  const sa = (sql: string) => e.admin.execute(sql, { database: 'Claims' });
  await sa(
    `CREATE TABLE dbo.T (id int NOT NULL PRIMARY KEY, v int NULL, w nvarchar(20) NULL);
     EXEC sys.sp_cdc_enable_db;
     EXEC sys.sp_cdc_enable_table @source_schema = N'dbo', @source_name = N'T', @role_name = NULL;`,
  );
  await sa(`INSERT INTO dbo.T SELECT v.n, v.n, N'w' FROM (VALUES (1),(2),(3),(4),(5),(6),(7),(8),(9),(10)) AS v(n)`);
  // Five more transactions of ten updates each (an update is two change rows: old and new values).
  for (let k = 0; k < 5; k++) await sa(`UPDATE dbo.T SET v = v + 1`);
  await cdcAdmin(e).runCapture('Claims');
  const fn = `cdc.fn_cdc_get_all_changes_dbo_T(sys.fn_cdc_get_min_lsn(N'dbo_T'), sys.fn_cdc_get_max_lsn(), N'all') AS c`;
  const changeRows = Number((await rows(s, 'SELECT COUNT(*) FROM cdc.dbo_T_CT'))[0]?.[0]);
  assert.equal(changeRows, 10 + 5 * 20);

  const plain = await rows(
    s,
    `SELECT c.__$start_lsn, c.__$seqval FROM ${fn} ORDER BY c.__$start_lsn, c.__$seqval, c.__$operation`,
  );
  const lsns = [...new Set(plain.map((r) => (r[0] as Buffer).toString('hex')))];
  assert.equal(lsns.length, 6);
  const all = await rows(
    s,
    `SELECT c.__$start_lsn AS lsn, COUNT(*) AS n FROM ${fn} GROUP BY c.__$start_lsn ORDER BY c.__$start_lsn`,
  );
  assert.deepEqual(
    all.map((r) => [(r[0] as Buffer).toString('hex'), r[1]]),
    lsns.map((l) => [l, 10n]),
  );

  let first: SqlValue[][] = [];
  const decoded = await valuesDecodedDuring(async () => {
    first = await rows(
      s,
      `SELECT TOP (1) c.__$start_lsn AS lsn, sys.fn_cdc_map_lsn_to_time(c.__$start_lsn) AS t
         FROM ${fn} GROUP BY c.__$start_lsn ORDER BY c.__$start_lsn OPTION (MAXDOP 1)`,
    );
  });
  assert.equal(first.length, 1);
  assert.equal((first[0]?.[0] as Buffer).toString('hex'), lsns[0]);
  assert.notEqual(first[0]?.[1], null);
  // The first transaction's 10 rows and the next one's first (which ends the group), each its 3 key slots in the
  // walk, its operation and its LSN: ~55. Before, every group was built first: all 110 rows, ~550 values.
  assert.ok(decoded < changeRows * 2, `${decoded} values decoded for the first of ${lsns.length} transactions`);

  // Over a derived table that selects the function's LSN plainly (the plan's capped count per transaction,
  // `SELECT t.l, COUNT_BIG(*) FROM (SELECT TOP (n) c.__$start_lsn AS l FROM fn(…) AS c) AS t GROUP BY t.l`): the
  // derived table delivers the function's order, so its GROUP BY streams too — the same groups, and TOP (1) stops
  // after the first transaction. Before, the derived table declared no order and the groups were hashed.
  const derived = (top: string, inner: string) =>
    `SELECT ${top} t.l, COUNT_BIG(*) AS n FROM (SELECT ${inner} c.__$start_lsn AS l, c.__$seqval AS q FROM ${fn}) AS t
      GROUP BY t.l ORDER BY t.l`;
  const capped = await rows(s, derived('', 'TOP (35)'));
  assert.deepEqual(
    capped.map((r) => [(r[0] as Buffer).toString('hex'), r[1]]),
    [
      [lsns[0], 10n],
      [lsns[1], 10n],
      [lsns[2], 10n],
      [lsns[3], 5n],
    ],
  );
  let firstOfDerived: SqlValue[][] = [];
  const decodedDerived = await valuesDecodedDuring(async () => {
    firstOfDerived = await rows(s, derived('TOP (1)', ''));
  });
  assert.deepEqual(
    firstOfDerived.map((r) => [(r[0] as Buffer).toString('hex'), r[1]]),
    [[lsns[0], 10n]],
  );
  assert.ok(
    decodedDerived < changeRows * 2,
    `${decodedDerived} values decoded for the first of ${lsns.length} transactions over a derived table`,
  );
});

test('GROUP BY on a clustered key prefix equals the hashed GROUP BY: aggregates, NULLs, binary, key order, DESC', async () => {
  const e = engineWithClaims();
  const s = await connect(e);
  await run(
    s,
    `CREATE TABLE dbo.G (a int NOT NULL, b varbinary(8) NOT NULL, c int NOT NULL, v int NULL,
       CONSTRAINT pk_g PRIMARY KEY CLUSTERED (a, b, c));
     CREATE TABLE dbo.D (a int NOT NULL, c int NOT NULL, v int NULL, CONSTRAINT pk_d PRIMARY KEY CLUSTERED (a DESC, c));
     CREATE TABLE dbo.N (k int NULL, v int NULL);`,
  );
  const values: string[] = [];
  for (let a = 0; a < 4; a++)
    ['0x01', '0x0100', '0x02', '0x0200FF'].forEach((b, bi) => {
      // 0x01 and 0x0100 are one key value (binary compares as if padded with zeros): c keeps the rows distinct.
      for (let c = bi * 3; c < bi * 3 + 3; c++)
        values.push(`(${a}, ${b}, ${c}, ${(a * 7 + c) % 5 === 0 ? 'NULL' : a + c})`);
    });
  await rows(s, `INSERT INTO dbo.G VALUES ${values.join(', ')}`);
  await rows(s, `INSERT INTO dbo.D SELECT a, c, v FROM dbo.G WHERE b = 0x01 AND c < 3`);
  await rows(s, `INSERT INTO dbo.N VALUES (NULL, 1), (2, 2), (NULL, 3), (1, 4)`);

  // On a, on (a, b) and (b, a): 0x01 and 0x0100 group together, as SQL Server compares binary values.
  const plainAB = await rows(s, 'SELECT a, b, v FROM dbo.G ORDER BY a, b, c');
  assert.deepEqual(
    await rows(s, 'SELECT a, b, COUNT(*), SUM(v) FROM dbo.G GROUP BY a, b ORDER BY a'),
    grouped(plainAB, 2).map((r) => [r[0], r[1], r[2], r[3]]),
  );
  const ab = await rows(s, 'SELECT a, b, COUNT(*), SUM(v) FROM dbo.G GROUP BY a, b');
  assert.equal(ab.length, 4 * 3);
  assert.deepEqual(await rows(s, 'SELECT a, b, COUNT(*), SUM(v) FROM dbo.G GROUP BY b, a'), ab);
  const plainA = await rows(s, 'SELECT a, v FROM dbo.G ORDER BY a');
  assert.deepEqual(await rows(s, 'SELECT a, COUNT(*), SUM(v) FROM dbo.G GROUP BY a'), grouped(plainA, 1));
  assert.deepEqual(await rows(s, 'SELECT TOP (2) a, COUNT(*) FROM dbo.G GROUP BY a ORDER BY a'), [
    [0n, 12n],
    [1n, 12n],
  ]);
  // ORDER BY against the delivered order still sorts; DISTINCT and HAVING still apply.
  assert.deepEqual(await rows(s, 'SELECT TOP (2) a, COUNT(*) FROM dbo.G GROUP BY a ORDER BY a DESC'), [
    [3n, 12n],
    [2n, 12n],
  ]);
  assert.deepEqual(await rows(s, 'SELECT a FROM dbo.G GROUP BY a HAVING SUM(v) > 65 ORDER BY a'), [[2n], [3n]]);
  assert.deepEqual(await rows(s, 'SELECT COUNT(DISTINCT c), a FROM dbo.G WHERE c > 0 GROUP BY a'), [
    [11n, 0n],
    [11n, 1n],
    [11n, 2n],
    [11n, 3n],
  ]);
  // A DESC clustered key: groups in its order, and ORDER BY a DESC is delivered.
  assert.deepEqual(await rows(s, 'SELECT TOP (3) a, COUNT(*) FROM dbo.D GROUP BY a ORDER BY a DESC'), [
    [3n, 3n],
    [2n, 3n],
    [1n, 3n],
  ]);
  // A heap (no delivered order) keeps the hashed path; NULL is a group of its own.
  assert.deepEqual(await rows(s, 'SELECT k, SUM(v) FROM dbo.N GROUP BY k ORDER BY k'), [
    [null, 4n],
    [1n, 4n],
    [2n, 2n],
  ]);
});
