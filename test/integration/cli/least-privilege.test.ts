/**
 * Least privilege, scripted and checked: `tidemark grants` and `tidemark doctor` against the simulator's
 * security model (logins, users, roles, GRANT/DENY/REVOKE with column lists, CDC gating roles), the real mssql
 * driver over TCP, Azurite and a Temporal dev server:
 *
 * - a login created from the `grants` script has nothing missing and nothing in excess (doctor exits 0);
 * - each missing permission, per strategy (a column's SELECT, VIEW CHANGE TRACKING, the CDC gating role, a
 *   DENY) and each excess (sysadmin, db_owner, db_datareader, db_datawriter, VIEW DATABASE STATE, a write
 *   permission on a table, directly or through a role) is named, with a statement that fixes it — and running
 *   those statements makes the report clean again;
 * - the TLS doctor reports is what the connection negotiated.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, test } from 'node:test';
import sql from 'mssql';
import { main } from '../../../src/cli/main.js';
import type { DoctorFinding } from '../../../src/cli/doctor.js';
import { SourceConnection } from '../../../src/source/connection.js';
import { negotiatedTls } from '../../../src/source/source-health.js';
import { SIM_CREDENTIALS, startSimulator } from '../../../sim/index.js';
import { azuriteForTests, temporalForTests } from '../../support/stack.js';
import {
  CLAIMS_PIPELINE_TABLES,
  pipelineConfig,
  startClaimsSource,
  type ClaimsSource,
} from '../../../scripts/demo/harness.js';

const LEAST = { user: 'tm_least', password: 'Least!Priv2026x' };
const SUPER = { user: 'tm_super', password: 'Super!Priv2026x' };

let source: ClaimsSource;
let dir: string;
let env: Record<string, string>;
let yaml: string;
let grantScript = '';

/** A config file for `user` (the pipeline's tables, Azurite, the test Temporal). */
function configFor(user: string, password: string): { file: string; env: Record<string, string> } {
  const file = join(dir, `${user}.yaml`);
  writeFileSync(file, yaml.replace(`user: ${SIM_CREDENTIALS.extractor.user}`, `user: ${user}`));
  return { file, env: { ...env, TIDEMARK_SOURCE_PASSWORD: password } };
}

async function run(
  argv: string[],
  runEnv: Record<string, string>,
): Promise<{ code: number; out: string; err: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c: Buffer) => (out += c.toString()));
  stderr.on('data', (c: Buffer) => (err += c.toString()));
  const code = await main(argv, { stdout, stderr, env: runEnv, cwd: dir });
  return { code, out, err };
}

interface DoctorRun {
  code: number;
  ok: boolean;
  findings: DoctorFinding[];
  /** Findings that make doctor fail. */
  bad: DoctorFinding[];
}

async function doctor(user = LEAST): Promise<DoctorRun> {
  const c = configFor(user.user, user.password);
  const r = await run(['doctor', '--json', '--config', c.file], c.env);
  const body = JSON.parse(r.out) as { ok: boolean; findings: DoctorFinding[] };
  const bad = body.findings.filter((f) => ['missing', 'excess', 'problem'].includes(f.status));
  return { code: r.code, ok: body.ok, findings: body.findings, bad };
}

const find = (d: DoctorRun, scope: string, status: DoctorFinding['status'], check: string) =>
  d.findings.find((f) => f.scope === scope && f.status === status && f.check === check);

const describe = (fs: readonly DoctorFinding[]) => fs.map((f) => `${f.scope} ${f.status} ${f.check}: ${f.message}`);

before(async () => {
  source = await startClaimsSource({ workload: { rate: 0, longTransactionMs: 50, addColumnAt: [], widenAt: 100_000 } });
  await source.workload.run({ operations: 30 });
  await source.workload.drain();
  await source.admin.request().batch(`
    CREATE TABLE dbo.LpGated (Id int NOT NULL PRIMARY KEY, Note nvarchar(50) NULL);
    INSERT INTO dbo.LpGated (Id, Note) VALUES (1, N'a');`);
  await source.admin
    .request()
    .batch(
      `EXEC sys.sp_cdc_enable_table @source_schema = N'dbo', @source_name = N'LpGated', @role_name = N'lp_cdc_reader', @supports_net_changes = 0`,
    );
  await source.admin.request().batch(`EXEC sys.sp_cdc_scan @maxtrans = 500, @maxscans = 10, @continuous = 0`);
  source.sim.engine.admin.createLogin({
    name: SUPER.user,
    password: SUPER.password,
    sysadmin: true,
    defaultDatabase: 'Claims',
  });

  dir = mkdtempSync(join(tmpdir(), 'tidemark-lp-'));
  const cfg = pipelineConfig({
    sourcePort: source.sim.port,
    azuriteConnectionString: await azuriteForTests(),
    temporalAddress: await temporalForTests(),
    taskQueue: 'least-privilege',
    container: `lp-${process.pid}`,
    tables: [
      CLAIMS_PIPELINE_TABLES.cdc!,
      CLAIMS_PIPELINE_TABLES.change_tracking!,
      CLAIMS_PIPELINE_TABLES.rowversion!,
      CLAIMS_PIPELINE_TABLES.updated_at!,
      CLAIMS_PIPELINE_TABLES.identity!,
      { name: 'dbo.LpGated', capture: '{ strategy: cdc }' },
    ],
  });
  yaml = cfg.yaml;
  env = cfg.env;
  // The container exists (provisioned, as in production).
  const { AzureBlobStore } = await import('../../../src/lake/blob-store.js');
  await new AzureBlobStore({
    connectionString: env.TIDEMARK_SINK_CONNECTION_STRING!,
    container: cfg.config.sink.container,
  }).ensureContainer();
});

after(async () => {
  await source?.stop();
});

test('grants prints CREATE LOGIN/USER without a password and exactly what each strategy reads', async () => {
  // A DBA runs it with their own login (sa here), naming the extractor to create.
  const dba = configFor(SIM_CREDENTIALS.admin.user, SIM_CREDENTIALS.admin.password);
  const r = await run(['grants', '--config', dba.file, '--login', LEAST.user], dba.env);
  assert.equal(r.code, 0, r.err);
  grantScript = r.out;
  const s = grantScript;
  assert.match(s, /CREATE LOGIN \[tm_least\] WITH PASSWORD = '<a generated password[^']*>'/);
  assert.ok(!s.includes(SIM_CREDENTIALS.admin.password) && !s.includes(LEAST.password), 'no password in the script');
  assert.match(s, /CREATE USER \[tm_least\] FOR LOGIN \[tm_least\];/);
  // Column lists, not whole tables.
  assert.match(s, /GRANT SELECT ON \[dbo\]\.\[LpGated\] \(\[Id\], \[Note\]\) TO \[tm_least\];/);
  assert.match(s, /GRANT SELECT ON \[dbo\]\.\[Claims\] \(\[ClaimId\], [^)]*\) TO \[tm_least\];/);
  assert.doesNotMatch(s, /GRANT SELECT ON \[dbo\]\.\[\w+\] TO/, 'no table-wide SELECT when the columns are known');
  // Per strategy: CT's VIEW CHANGE TRACKING on its table only; the CDC gating role where there is one.
  assert.match(s, /GRANT VIEW CHANGE TRACKING ON \[dbo\]\.\[Providers\] TO \[tm_least\];/);
  assert.equal(s.match(/VIEW CHANGE TRACKING ON/g)?.length, 1);
  assert.match(s, /ALTER ROLE \[lp_cdc_reader\] ADD MEMBER \[tm_least\];/);
  assert.match(s, /capture instance 'dbo_Claims' has no gating role/);
  // Never more than reading.
  assert.doesNotMatch(s, /^(?!--).*(VIEW DATABASE STATE|db_owner|db_datareader|INSERT|UPDATE|DELETE|CONTROL)/m);
  // The PHI column the config drops is said to be granted only because the read selects the whole row.
  assert.match(s, /\[PatientName\]: phi drop/);
});

test('a login created from the grants script: nothing missing, nothing in excess, doctor exits 0', async () => {
  assert.ok(grantScript, 'the grants test ran first');
  await source.admin.request().batch(grantScript.replace(/<a generated password[^']*>/, LEAST.password));
  const d = await doctor();
  assert.deepEqual(describe(d.bad), []);
  assert.equal(d.code, 0);
  assert.equal(d.ok, true);
  for (const t of ['Claims', 'Providers', 'ClaimPayments', 'ProviderNotes', 'EligibilityChecks', 'LpGated'])
    assert.ok(find(d, `dbo.${t}`, 'ok', 'permissions'), `dbo.${t} has what its strategy reads`);
  assert.ok(find(d, 'storage', 'ok', 'container'));
  assert.ok(find(d, 'temporal', 'ok', 'reachable'));
  assert.ok(find(d, 'dbo.Providers', 'ok', 'ct.retention'));
  assert.ok(find(d, 'dbo.Claims', 'ok', 'snapshot_isolation'));
  // Loopback without TLS: a note, not a fault.
  assert.equal(d.findings.find((f) => f.check === 'tls')?.status, 'note');
  const text = await run(['doctor', '--config', configFor(LEAST.user, LEAST.password).file], {
    ...env,
    TIDEMARK_SOURCE_PASSWORD: LEAST.password,
  });
  assert.equal(text.code, 0);
  assert.match(text.out, /\ndoctor: all good, \d+ checks passed/);
});

test('each missing permission is named per strategy, with the statement that grants it', async () => {
  await source.admin.request().batch(`
    REVOKE SELECT ON dbo.Claims (ClaimStatus) FROM tm_least;
    REVOKE SELECT ON dbo.Providers (ProviderName) FROM tm_least;
    REVOKE VIEW CHANGE TRACKING ON dbo.Providers FROM tm_least;
    REVOKE SELECT ON dbo.ClaimPayments (Amount) FROM tm_least;
    DENY SELECT ON dbo.ProviderNotes (NoteText) TO tm_least;
    REVOKE SELECT ON dbo.EligibilityChecks (MemberId) FROM tm_least;
    ALTER ROLE lp_cdc_reader DROP MEMBER tm_least;`);
  const d = await doctor();
  assert.equal(d.code, 1);
  const expect: Array<[string, string, RegExp]> = [
    ['dbo.Claims', 'select', /^GRANT SELECT ON \[dbo\]\.\[Claims\] \(\[ClaimStatus\]\) TO \[tm_least\];$/],
    ['dbo.Providers', 'select', /^GRANT SELECT ON \[dbo\]\.\[Providers\] \(\[ProviderName\]\) TO \[tm_least\];$/],
    [
      'dbo.Providers',
      'view_change_tracking',
      /^GRANT VIEW CHANGE TRACKING ON \[dbo\]\.\[Providers\] TO \[tm_least\];$/,
    ],
    ['dbo.ClaimPayments', 'select', /^GRANT SELECT ON \[dbo\]\.\[ClaimPayments\] \(\[Amount\]\) TO \[tm_least\];$/],
    ['dbo.ProviderNotes', 'select', /^GRANT SELECT ON \[dbo\]\.\[ProviderNotes\] \(\[NoteText\]\) TO \[tm_least\];$/],
    ['dbo.EligibilityChecks', 'select', /^GRANT SELECT ON \[dbo\]\.\[EligibilityChecks\] \(\[MemberId\]\) TO/],
    ['dbo.LpGated', 'cdc_role', /^ALTER ROLE \[<the capture instance's gating role: .*>\] ADD MEMBER \[tm_least\];$/],
  ];
  for (const [scope, check, fix] of expect) {
    const f = find(d, scope, 'missing', check);
    assert.ok(f, `${scope} ${check} is named missing; got ${describe(d.bad).join('\n')}`);
    assert.match(f.fix ?? '', fix);
  }
  assert.match(find(d, 'dbo.ProviderNotes', 'missing', 'select')?.message ?? '', /DENY SELECT .* overrides any GRANT/);
  assert.equal(d.bad.length, expect.length, describe(d.bad).join('\n'));
  assert.ok(!d.findings.some((f) => f.status === 'excess'));
  const least = configFor(LEAST.user, LEAST.password);
  const text = await run(['doctor', '--config', least.file], least.env);
  assert.equal(text.code, 1);
  assert.match(
    text.out,
    /\n {2}MISSING {2}view_change_tracking: .*\n {11}fix: GRANT VIEW CHANGE TRACKING ON \[dbo\]\.\[Providers\]/,
  );
  assert.match(text.out, /\ndoctor: 7 missing, 0 excess, 0 problems.*\n$/);

  // The fixes (the DENY is removed first, as the message says), then the report is clean again.
  await source.admin.request().batch(`
    REVOKE SELECT ON dbo.ProviderNotes (NoteText) FROM tm_least;
    ALTER ROLE lp_cdc_reader ADD MEMBER tm_least;
    ${d.bad
      .filter((f) => f.check !== 'cdc_role')
      .map((f) => f.fix)
      .join('\n')}`);
  const again = await doctor();
  assert.deepEqual(describe(again.bad), []);
  assert.equal(again.code, 0);
});

test('each excess is named with the statement that removes it, and removing them leaves nothing missing', async () => {
  await source.admin.request().batch(`ALTER ROLE db_owner ADD MEMBER tm_least;`);
  const owner = await doctor();
  assert.equal(owner.code, 1);
  assert.equal(
    find(owner, 'login', 'excess', 'db_owner')?.fix?.split('  --')[0],
    'ALTER ROLE [db_owner] DROP MEMBER [tm_least];',
  );
  await source.admin.request().batch(`ALTER ROLE db_owner DROP MEMBER tm_least;`);

  const sysadmin = await doctor(SUPER);
  assert.equal(sysadmin.code, 1);
  assert.match(
    find(sysadmin, 'login', 'excess', 'sysadmin')?.fix ?? '',
    /^ALTER SERVER ROLE \[sysadmin\] DROP MEMBER \[tm_super\];/,
  );

  await source.admin.request().batch(`
    ALTER ROLE db_datareader ADD MEMBER tm_least;
    ALTER ROLE db_datawriter ADD MEMBER tm_least;
    GRANT VIEW DATABASE STATE TO tm_least;
    CREATE ROLE lp_writers;
    GRANT DELETE ON dbo.ClaimPayments TO lp_writers;
    ALTER ROLE lp_writers ADD MEMBER tm_least;`);
  const writer = await doctor();
  assert.equal(writer.code, 1);
  assert.match(
    find(writer, 'login', 'excess', 'db_datareader')?.fix ?? '',
    /^ALTER ROLE \[db_datareader\] DROP MEMBER \[tm_least\];/,
  );
  assert.equal(
    find(writer, 'login', 'excess', 'db_datawriter')?.fix,
    'ALTER ROLE [db_datawriter] DROP MEMBER [tm_least];',
  );
  assert.equal(
    find(writer, 'login', 'excess', 'view_database_state')?.fix,
    'REVOKE VIEW DATABASE STATE FROM [tm_least];',
  );
  // DELETE through lp_writers is explained by db_datawriter here; without it, it is named on the table.
  await source.admin
    .request()
    .batch(
      `ALTER ROLE db_datawriter DROP MEMBER tm_least; GRANT UPDATE ON dbo.Providers TO tm_least; GRANT CONTROL ON dbo.ProviderNotes TO tm_least; GRANT ALTER ON dbo.EligibilityChecks TO tm_least;`,
    );
  const tables = await doctor();
  const del = find(tables, 'dbo.ClaimPayments', 'excess', 'delete');
  assert.equal(del?.fix, 'REVOKE DELETE ON [dbo].[ClaimPayments] FROM [tm_least];');
  assert.match(del?.message ?? '', /through one of its roles .*\[lp_writers\]/);
  assert.equal(
    find(tables, 'dbo.Providers', 'excess', 'update')?.fix,
    'REVOKE UPDATE ON [dbo].[Providers] FROM [tm_least];',
  );
  assert.equal(
    find(tables, 'dbo.ProviderNotes', 'excess', 'control')?.fix,
    'REVOKE CONTROL ON [dbo].[ProviderNotes] FROM [tm_least];',
  );
  assert.deepEqual(
    tables.bad.filter((f) => f.scope === 'dbo.ProviderNotes').map((f) => f.check),
    ['control'],
    'CONTROL is named alone: the permissions it implies are not revoked one by one',
  );
  assert.equal(
    find(tables, 'dbo.EligibilityChecks', 'excess', 'alter')?.fix,
    'REVOKE ALTER ON [dbo].[EligibilityChecks] FROM [tm_least];',
  );
  assert.ok(!tables.findings.some((f) => f.status === 'missing'), describe(tables.bad).join('\n'));

  // Removing them (the role's grant where it was made) leaves a clean report: nothing the extractor needs went.
  await source.admin.request().batch(`
    ${tables.bad
      .filter((f) => f.check !== 'delete')
      .map((f) => f.fix?.split('  --')[0])
      .join('\n')}
    REVOKE DELETE ON dbo.ClaimPayments FROM lp_writers;`);
  const clean = await doctor();
  assert.deepEqual(describe(clean.bad), []);
});

test('doctor names short Change Tracking retention and snapshot isolation off, with the statements that fix them', async () => {
  await source.admin.request().batch(`
    ALTER DATABASE Claims SET CHANGE_TRACKING (CHANGE_RETENTION = 12 HOURS);
    ALTER DATABASE Claims SET ALLOW_SNAPSHOT_ISOLATION OFF;`);
  try {
    const d = await doctor();
    assert.equal(d.code, 1);
    const retention = find(d, 'dbo.Providers', 'problem', 'ct.retention');
    // cadence 1m, idle commit 1h, nightly window 2h, plus a day: 27h.
    assert.match(retention?.message ?? '', /retention 12h is shorter than 27h/);
    assert.equal(retention?.fix, 'ALTER DATABASE [Claims] SET CHANGE_TRACKING (CHANGE_RETENTION = 27 HOURS);');
    for (const t of ['Claims', 'ClaimPayments', 'LpGated'])
      assert.ok(
        d.bad.some(
          (f) =>
            f.scope === `dbo.${t}` && f.check.includes('snapshot') && f.fix?.includes('ALLOW_SNAPSHOT_ISOLATION ON'),
        ),
        `dbo.${t}: snapshot isolation off is named`,
      );
    assert.ok(!d.bad.some((f) => f.status === 'missing' || f.status === 'excess'), describe(d.bad).join('\n'));
    await source.admin.request().batch(`${retention?.fix ?? ''}`);
    const again = await doctor();
    assert.ok(find(again, 'dbo.Providers', 'ok', 'ct.retention'));
  } finally {
    await source.admin.request().batch(`
      ALTER DATABASE Claims SET CHANGE_TRACKING (CHANGE_RETENTION = 2 DAYS);
      ALTER DATABASE Claims SET ALLOW_SNAPSHOT_ISOLATION ON;`);
  }
});

test('doctor reports the TLS the driver negotiated on the connection', async () => {
  const sim = await startSimulator({ port: 0, tls: 'generate' });
  const pool = await new sql.ConnectionPool({
    server: sim.host,
    port: sim.port,
    user: SIM_CREDENTIALS.admin.user,
    password: SIM_CREDENTIALS.admin.password,
    database: 'master',
    pool: { max: 1, min: 0 },
    options: { encrypt: true, trustServerCertificate: true },
  }).connect();
  const conn = new SourceConnection(pool, { maxConcurrentQueries: 1, maxRowsPerSecond: 1000 });
  try {
    const tls = await negotiatedTls(conn);
    assert.match(tls.protocol ?? '', /^TLSv1\.[23]$/);
    assert.equal(tls.certificateValidated, false, 'trustServerCertificate: not validated');
  } finally {
    await conn.close();
    await sim.stop();
  }
  const plain = new SourceConnection(source.admin, { maxConcurrentQueries: 1, maxRowsPerSecond: 1000 });
  assert.equal((await negotiatedTls(plain)).protocol, null);
});
