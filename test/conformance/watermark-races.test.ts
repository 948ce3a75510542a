/**
 * Conformance: the races that make naive watermark extractors lose data (brief §C and §D checklists), each
 * reproduced with two sessions: an uncommitted lower rowversion, an uncommitted lower identity, and an
 * updated_at stamped in the past.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import sql from 'mssql';
import { startSqlTarget, uniqueName, type SqlTarget } from '../support/sql-target.js';

let target: SqlTarget;
let a: sql.ConnectionPool;
let b: sql.ConnectionPool;
const tables: string[] = [];

before(async () => {
  target = await startSqlTarget();
  a = await target.connect();
  b = await target.connect();
});

after(async () => {
  for (const t of tables) await a?.request().batch(`DROP TABLE IF EXISTS dbo.${t}`);
  await a?.close();
  await b?.close();
  await target?.stop();
});

async function table(ddl: (name: string) => string): Promise<string> {
  const name = uniqueName('race');
  tables.push(name);
  await a.request().batch(ddl(name));
  return name;
}

const rvOf = (buf: Buffer): bigint => buf.readBigUInt64BE(0);

async function rvState(p: sql.ConnectionPool): Promise<{ dbts: bigint; minActive: bigint }> {
  const r = await p.request().query('SELECT @@DBTS AS dbts, MIN_ACTIVE_ROWVERSION() AS ma');
  const row = r.recordset[0] as { dbts: Buffer; ma: Buffer };
  return { dbts: rvOf(row.dbts), minActive: rvOf(row.ma) };
}

test('rowversion: an uncommitted lower value holds MIN_ACTIVE_ROWVERSION back; @@DBTS does not', async () => {
  const t = await table(
    (n) => `CREATE TABLE dbo.${n} (id int NOT NULL PRIMARY KEY, v int NOT NULL, rv rowversion NOT NULL)`,
  );
  await a.request().batch(`CREATE INDEX IX_${t}_rv ON dbo.${t} (rv)`);
  await a.request().batch(`INSERT INTO dbo.${t} (id, v) VALUES (0, 0)`);
  const idle = await rvState(a);
  assert.equal(idle.minActive, idle.dbts + 1n);
  // The extractors' last saved watermark.
  const lo = idle.minActive;
  const s1 = new sql.Transaction(a);
  await s1.begin();
  const r1 = await new sql.Request(s1).query(
    `INSERT INTO dbo.${t} (id, v) VALUES (1, 1); SELECT rv FROM dbo.${t} WHERE id = 1`,
  );
  const n = rvOf((r1.recordset[0] as { rv: Buffer }).rv);
  await b.request().batch(`INSERT INTO dbo.${t} (id, v) VALUES (2, 2)`);
  const during = await rvState(b);
  assert.equal(during.dbts, n + 1n);
  assert.equal(during.minActive, n);
  // Naive extractor: rv > last AND rv <= @@DBTS, then saves @@DBTS.
  const naive = await b
    .request()
    .input('lo', sql.VarBinary(8), Buffer.from(lo.toString(16).padStart(16, '0'), 'hex'))
    .input('hi', sql.VarBinary(8), Buffer.from(during.dbts.toString(16).padStart(16, '0'), 'hex'))
    .query(`SELECT id FROM dbo.${t} WHERE rv >= @lo AND rv <= @hi`);
  assert.deepEqual(
    (naive.recordset as { id: number }[]).map((x) => x.id),
    [2],
  );
  // Fenced extractor: rv >= lo AND rv < MIN_ACTIVE_ROWVERSION(), then saves MIN_ACTIVE.
  const fencedHi = during.minActive;
  await s1.commit();
  const after1 = await rvState(b);
  assert.equal(after1.minActive, n + 2n);
  const missed = await b
    .request()
    .input('lo', sql.VarBinary(8), Buffer.from((during.dbts + 1n).toString(16).padStart(16, '0'), 'hex'))
    .query(`SELECT id FROM dbo.${t} WHERE rv >= @lo`);
  assert.deepEqual(missed.recordset, [], 'the naive extractor never sees row 1');
  const fenced = await b
    .request()
    .input('lo', sql.VarBinary(8), Buffer.from(fencedHi.toString(16).padStart(16, '0'), 'hex'))
    .query(`SELECT id FROM dbo.${t} WHERE rv >= @lo ORDER BY id`);
  assert.deepEqual(
    (fenced.recordset as { id: number }[]).map((x) => x.id),
    [1, 2],
  );
});

test('rowversion: an update that sets a column to its current value still changes rv', async () => {
  const t = await table(
    (n) => `CREATE TABLE dbo.${n} (id int NOT NULL PRIMARY KEY, v int NOT NULL, rv rowversion NOT NULL)`,
  );
  await a.request().batch(`INSERT INTO dbo.${t} (id, v) VALUES (1, 5)`);
  const get = async () =>
    rvOf(((await a.request().query(`SELECT rv FROM dbo.${t} WHERE id = 1`)).recordset[0] as { rv: Buffer }).rv);
  const before1 = await get();
  await a.request().batch(`UPDATE dbo.${t} SET v = v WHERE id = 1`);
  assert.ok((await get()) > before1);
});

test('identity: a lower id committed late is skipped by id > max, found by a lookback re-read', async () => {
  const t = await table(
    (n) => `CREATE TABLE dbo.${n} (id int IDENTITY(1,1) NOT NULL PRIMARY KEY, v nvarchar(10) NOT NULL)`,
  );
  const sa = new sql.Transaction(a);
  await sa.begin();
  await new sql.Request(sa).query(`INSERT INTO dbo.${t} (v) VALUES (N'A')`);
  await b.request().batch(`INSERT INTO dbo.${t} (v) VALUES (N'B')`);
  const poll1 = await b.request().query(`SELECT id FROM dbo.${t} WHERE id > 0 ORDER BY id`);
  const ids1 = (poll1.recordset as { id: number }[]).map((x) => x.id);
  const saved = Math.max(...ids1);
  await sa.commit();
  const poll2 = await b.request().input('m', sql.Int, saved).query(`SELECT id FROM dbo.${t} WHERE id > @m`);
  const naiveSeen = new Set([...ids1, ...(poll2.recordset as { id: number }[]).map((x) => x.id)]);
  const all = (await b.request().query(`SELECT id FROM dbo.${t}`)).recordset as { id: number }[];
  const lost = all.map((x) => x.id).filter((id) => !naiveSeen.has(id));
  assert.equal(lost.length, 1, 'the naive id > max extractor loses the late-committed lower id');
  const lookback = await b
    .request()
    .input('m', sql.Int, saved - 10)
    .query(`SELECT id FROM dbo.${t} WHERE id > @m`);
  assert.ok((lookback.recordset as { id: number }[]).some((x) => x.id === lost[0]));
});

test('updated_at: a stamp earlier than the watermark (clock skew) is found only by the lookback window', async () => {
  const t = await table(
    (n) => `CREATE TABLE dbo.${n} (id int NOT NULL PRIMARY KEY, v int NOT NULL, updated_at datetime2(7) NOT NULL)`,
  );
  await a.request().batch(`INSERT INTO dbo.${t} VALUES (1, 1, SYSUTCDATETIME())`);
  // The watermark travels as text: a JS Date would truncate datetime2(7) to milliseconds.
  const wm = (
    (await b.request().query(`SELECT CONVERT(varchar(27), MAX(updated_at), 126) AS m FROM dbo.${t}`)).recordset[0] as {
      m: string;
    }
  ).m;
  // A writer with a clock five minutes behind stamps its row in the past.
  await a.request().batch(`INSERT INTO dbo.${t} VALUES (2, 2, DATEADD(minute, -5, SYSUTCDATETIME()))`);
  const naive = await b
    .request()
    .input('wm', sql.VarChar(27), wm)
    .query(`SELECT id FROM dbo.${t} WHERE updated_at > CAST(@wm AS datetime2(7))`);
  assert.deepEqual(naive.recordset, []);
  const lookback = await b
    .request()
    .input('wm', sql.VarChar(27), wm)
    .query(`SELECT id FROM dbo.${t} WHERE updated_at > DATEADD(minute, -15, CAST(@wm AS datetime2(7)))`);
  assert.ok((lookback.recordset as { id: number }[]).some((x) => x.id === 2));
});
