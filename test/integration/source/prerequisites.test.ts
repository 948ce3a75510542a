import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { SIM_CREDENTIALS } from '../../../sim/index.js';
import { assertPrerequisites, checkPrerequisites } from '../../../src/source/prerequisites.js';
import { PrerequisiteError } from '../../../src/source/errors.js';
import type { SourceConnection } from '../../../src/source/connection.js';
import { startSourceSim, type SourceSim } from '../../support/source-sim.js';

let s: SourceSim;
let sa: SourceConnection;
let extractor: SourceConnection;
let owner: SourceConnection;
let nobody: SourceConnection;

before(async () => {
  s = await startSourceSim({
    logins: [
      // A user with no role: no SELECT anywhere (the simulator's GRANT/DENY statements are not wired yet).
      {
        name: 'tm_nobody',
        password: 'Nobody!Sim2019',
        defaultDatabase: 'Claims',
        databases: [{ name: 'Claims', roles: [] }],
      },
      {
        name: 'tm_owner',
        password: 'Owner!Sim2019',
        defaultDatabase: 'Claims',
        databases: [{ name: 'Claims', roles: ['db_owner'] }],
      },
    ],
  });
  await s.admin.request().batch(`
    CREATE TABLE dbo.pr_noidx (id int NOT NULL PRIMARY KEY, v int NULL, rv rowversion NOT NULL, updated_at datetime2(7) NULL);
    CREATE TABLE dbo.pr_ok (id int IDENTITY(1,1) PRIMARY KEY, v int NULL, rv rowversion NOT NULL);
    CREATE INDEX IX_pr_ok_rv ON dbo.pr_ok (rv);
    CREATE TABLE dbo.pr_denied (id int IDENTITY(1,1) PRIMARY KEY, ssn varchar(11) NULL);`);
  sa = await s.connect();
  extractor = await s.connect({ user: SIM_CREDENTIALS.extractor.user, password: SIM_CREDENTIALS.extractor.password });
  owner = await s.connect({ user: 'tm_owner', password: 'Owner!Sim2019' });
  nobody = await s.connect({ user: 'tm_nobody', password: 'Nobody!Sim2019' });
});
after(() => s?.stop());

test('every problem at once, each with the SQL that fixes it', async () => {
  const r = await checkPrerequisites(extractor, 'dbo', 'pr_noidx', { strategy: 'rowversion', column: 'rv' });
  assert.equal(r.ok, false);
  const codes = r.problems.map((p) => p.code).sort();
  assert.deepEqual(codes, ['rowversion.no_index', 'snapshot.off']);
  const noIdx = r.problems.find((p) => p.code === 'rowversion.no_index')!;
  assert.match(noIdx.fixSql, /^CREATE NONCLUSTERED INDEX \[IX_pr_noidx_rv\] ON \[dbo\]\.\[pr_noidx\] \(\[rv\]\)/);
  const cdc = await checkPrerequisites(extractor, 'dbo', 'pr_noidx', { strategy: 'cdc' });
  assert.deepEqual(
    cdc.problems.map((p) => [p.code, p.severity]),
    [
      ['cdc.db_not_enabled', 'error'],
      ['cdc.table_not_enabled', 'error'],
    ],
  );
  assert.match(cdc.problems[0]!.fixSql, /sp_cdc_enable_db/);
  assert.match(cdc.problems[1]!.fixSql, /sp_cdc_enable_table @source_schema = N'dbo', @source_name = N'pr_noidx'/);
  await assert.rejects(
    assertPrerequisites(extractor, 'dbo', 'pr_noidx', { strategy: 'rowversion', column: 'rv' }),
    (e: unknown) =>
      e instanceof PrerequisiteError && e.problems.length === 2 && /fix: CREATE NONCLUSTERED/.test(e.message),
  );
});

test('missing SELECT is an error with its GRANT; excess privilege is a warning', async () => {
  const denied = await checkPrerequisites(nobody, 'dbo', 'pr_denied', { strategy: 'identity', column: 'id' });
  const sel = denied.problems.find((p) => p.code === 'permission.select');
  assert.ok(sel, JSON.stringify(denied.problems));
  assert.equal(sel.fixSql, 'GRANT SELECT ON [dbo].[pr_denied] TO [tm_nobody];');
  assert.ok(
    !JSON.stringify(denied.problems).includes('ssn'),
    'no column values or names of denied data beyond the table',
  );

  const good = await checkPrerequisites(extractor, 'dbo', 'pr_ok', { strategy: 'rowversion', column: 'rv' });
  assert.deepEqual(
    good.problems.map((p) => p.code),
    ['snapshot.off'],
  );
  assert.equal(good.ok, true);

  const asSa = await checkPrerequisites(sa, 'dbo', 'pr_ok', { strategy: 'rowversion', column: 'rv' });
  assert.deepEqual(
    asSa.problems.filter((p) => p.code.startsWith('privilege')).map((p) => [p.code, p.severity]),
    [['privilege.sysadmin', 'warning']],
  );
  const asOwner = await checkPrerequisites(owner, 'dbo', 'pr_ok', { strategy: 'rowversion', column: 'rv' });
  assert.deepEqual(
    asOwner.problems.filter((p) => p.code.startsWith('privilege')).map((p) => [p.code, p.severity]),
    [['privilege.db_owner', 'warning']],
  );
  assert.equal(asOwner.ok, true);
});
