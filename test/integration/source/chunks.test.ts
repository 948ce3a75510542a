import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { nextChunkBoundary, readChunk } from '../../../src/source/chunks.js';
import { rowversionPositioner } from '../../../src/source/strategies/rowversion.js';
import { discoverTable } from '../../../src/source/discovery.js';
import type { SourceConnection } from '../../../src/source/connection.js';
import type { LakeValue } from '../../../src/domain/values.js';
import { startSourceSim, type SourceSim } from '../../support/source-sim.js';
import { consumeSlowly } from '../../support/slow-consumer.js';

let s: SourceSim;
let conn: SourceConnection;

before(async () => {
  s = await startSourceSim();
  await s.admin.request().batch(`ALTER DATABASE Claims SET ALLOW_SNAPSHOT_ISOLATION ON;
    CREATE TABLE dbo.ck_t (claim_id int NOT NULL, line_no smallint NOT NULL, service_date date NOT NULL,
      note nvarchar(max) NULL, amount decimal(18,2) NULL, rv rowversion NOT NULL, PRIMARY KEY (claim_id, line_no));
    DECLARE @c int = 1;
    WHILE @c <= 50 BEGIN
      INSERT INTO dbo.ck_t (claim_id, line_no, service_date, note, amount) VALUES
        (@c, 1, DATEADD(day, @c, '2026-01-01'), REPLICATE(N'n', 300), @c * 1.25),
        (@c, 2, DATEADD(day, @c, '2026-01-01'), NULL, NULL),
        (@c, 3, DATEADD(day, @c, '2026-01-01'), N'x', 0.01);
      SET @c += 1;
    END`);
  conn = await s.connect();
});
after(() => s?.stop());

const positioner = rowversionPositioner('rv');

async function readAll(after?: readonly LakeValue[], upTo?: readonly LakeValue[], limit = 1000) {
  const d = await discoverTable(conn, 'dbo', 'ck_t');
  const rows = [];
  const gen = readChunk(conn, d, { limit, positioner, ...(after ? { after } : {}), ...(upTo ? { upTo } : {}) });
  for (;;) {
    const n = await gen.next();
    if (n.done) return { rows, summary: n.value };
    rows.push(...n.value.rows);
  }
}

test('keyset chunks over a composite key cover every row exactly once', async () => {
  const d = await discoverTable(conn, 'dbo', 'ck_t');
  assert.deepEqual(d.key, ['claim_id', 'line_no']);
  const seen: string[] = [];
  let after: readonly LakeValue[] | undefined;
  for (let i = 0; i < 100; i++) {
    const { rows, summary } = await readAll(after, undefined, 7);
    if (rows.length === 0) break;
    seen.push(...rows.map((r) => JSON.stringify(r.values.slice(0, 2))));
    assert.ok(rows.every((r) => r.op === 'r'));
    after = summary.lastKey!;
  }
  assert.equal(seen.length, 150);
  assert.equal(new Set(seen).size, 150);
  const boundary = await nextChunkBoundary(conn, d, [10, 2], 4);
  assert.deepEqual(boundary, [11, 3]);
  const { rows } = await readAll([10, 2], boundary);
  assert.deepEqual(
    rows.map((r) => r.values.slice(0, 2)),
    [
      [10, 3],
      [11, 1],
      [11, 2],
      [11, 3],
    ],
  );
});

test('business-date filter selects a backfill range', async () => {
  const d = await discoverTable(conn, 'dbo', 'ck_t');
  const rows = [];
  for await (const b of readChunk(conn, d, {
    limit: 1000,
    positioner,
    businessDate: { column: 'service_date', from: '2026-01-05', to: '2026-01-08' },
  }))
    rows.push(...b.rows);
  assert.deepEqual([...new Set(rows.map((r) => r.values[0]))], [4, 5, 6]);
});

test('a consumer that stops early leaves the connection and its snapshot transaction usable', async () => {
  const d = await discoverTable(conn, 'dbo', 'ck_t');
  for (let i = 0; i < 3; i++) {
    for await (const b of readChunk(conn, d, { limit: 1000, positioner, batchRows: 10, snapshot: true })) {
      assert.ok(b.rows.length > 0);
      break;
    }
  }
  const { rows } = await readAll(undefined, undefined, 5);
  assert.equal(rows.length, 5);
});

test('a chunk read hands its rows on in small batches while the consumer is slow (rows stay young: docs/performance.md)', async () => {
  await s.admin.request()
    .batch(`CREATE TABLE dbo.ck_many (id int NOT NULL PRIMARY KEY, v nvarchar(40) NOT NULL, rv rowversion);
    DECLARE @i int = 1;
    WHILE @i <= 3000 BEGIN INSERT INTO dbo.ck_many (id, v) VALUES (@i, CONCAT(N'value ', @i)); SET @i += 1; END`);
  const d = await discoverTable(conn, 'dbo', 'ck_many');
  const { rows, largest } = await consumeSlowly(readChunk(conn, d, { limit: 10_000, positioner }));
  assert.deepEqual(
    rows.map((r) => r.values[0]),
    Array.from({ length: 3000 }, (_v, i) => i + 1),
    'every row once, in key order',
  );
  assert.ok(largest <= 256, `batches of at most 256 rows (largest ${largest})`);
});
