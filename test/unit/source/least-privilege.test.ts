/**
 * The pure parts of `tidemark grants` and `tidemark doctor`: the script without a catalog to read (whole-table
 * SELECT, a commented gating-role placeholder), Entra users, the retention a table needs, and when a negotiated
 * TLS is a problem. The connected behaviour is tested in test/integration/cli/least-privilege.test.ts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfig, type TidemarkConfig } from '../../../src/config/index.js';
import { extractorGrantScript, tableNeeds, type SelectNeed } from '../../../src/source/grants.js';
import type { TableDiscovery } from '../../../src/source/discovery.js';
import { readableDiscovery } from '../../../src/source/read-columns.js';
import { requiredRetentionMinutes, tlsFinding } from '../../../src/source/source-health.js';

function config(source: string, tables: string): TidemarkConfig {
  const r = parseConfig(
    `version: 1
source:
${source}
sink: { auth: connectionString, connectionString: '\${CS}', container: raw }
temporal: { address: '127.0.0.1:7233' }
nightly: { windowStart: '01:00', duration: 3h }
tables:
${tables}
`,
    { PW: 'x', CS: 'UseDevelopmentStorage=true' },
  );
  assert.ok(r.ok, JSON.stringify(!r.ok && r.errors));
  return r.config;
}

const SQL_LOGIN = `  host: 127.0.0.1
  database: Claims
  auth: { type: sql-login, user: tm_ext, password: '\${PW}' }
  encrypt: false`;

test('offline: SELECT on whole tables, the CDC role a commented placeholder, VIEW CHANGE TRACKING for CT only', () => {
  const c = config(
    SQL_LOGIN,
    `  - { name: dbo.Claims, capture: { strategy: cdc } }
  - { name: dbo.Providers, capture: { strategy: change_tracking } }
  - { name: dbo.Notes, capture: { strategy: updated_at, column: UpdatedAt } }`,
  );
  const script = extractorGrantScript(
    { database: 'Claims', auth: c.source.auth },
    c.tables.map((t) => tableNeeds(t, undefined)),
  );
  assert.match(script, /^CREATE USER \[tm_ext\] FOR LOGIN \[tm_ext\];$/m);
  assert.match(script, /^GRANT SELECT ON \[dbo\]\.\[Claims\] TO \[tm_ext\];$/m);
  assert.match(script, /^-- ALTER ROLE \[<the capture instance's gating role: .*>\] ADD MEMBER \[tm_ext\];$/m);
  assert.match(script, /^GRANT VIEW CHANGE TRACKING ON \[dbo\]\.\[Providers\] TO \[tm_ext\];$/m);
  assert.equal(script.match(/^GRANT VIEW CHANGE TRACKING/gm)?.length, 1);
  assert.match(script, /^GRANT SELECT ON \[dbo\]\.\[Notes\] TO \[tm_ext\];$/m);
  assert.doesNotMatch(script, /^GRANT VIEW DATABASE STATE/m);
  assert.doesNotMatch(script, /PASSWORD = 'x'/);
});

/** What discovery found for a table of these columns (a plain record; `cdcColumns`: one ungated instance). */
function discovered(columns: string[], extra: { rowversion?: string; cdcColumns?: string[] } = {}): TableDiscovery {
  return {
    schema: 'dbo',
    table: 'Notes',
    columns: columns.map((name, i) => ({
      name,
      ordinal: i + 1,
      type: { name: 'int' },
      sqlType: 'int',
      nullable: i > 0,
      identity: false,
      computed: false,
      rowversion: name === extra.rowversion,
    })),
    key: [columns[0]!],
    keySource: 'primary_key',
    indexes: [],
    identityColumn: null,
    rowversionColumn: extra.rowversion ?? null,
    computedColumns: [],
    cdc: {
      tracked: extra.cdcColumns !== undefined,
      instances: extra.cdcColumns
        ? [
            {
              name: 'dbo_Notes',
              startLsn: null,
              createDate: new Date(0),
              supportsNetChanges: false,
              columns: extra.cdcColumns,
              roleName: null,
            },
          ]
        : [],
      unreadable: [],
    },
  } as unknown as TableDiscovery;
}

test('a PHI drop column is neither read nor granted, unless CDC captures it or the read orders on it', () => {
  const c = config(
    SQL_LOGIN,
    `  - { name: dbo.Notes, capture: { strategy: rowversion, column: RowVer }, phi: [{ columns: [Secret, RowVer], action: drop }] }
  - { name: dbo.Claims, capture: { strategy: cdc }, phi: [{ columns: [Secret], action: drop }] }
  - { name: dbo.Lines, capture: { strategy: cdc }, phi: [{ columns: [Secret], action: drop }] }`,
  );
  const [rv, cdc, cdcUncaptured] = c.tables;
  const notes = discovered(['Id', 'Note', 'Secret', 'RowVer'], { rowversion: 'RowVer' });
  // The read: every strategy reads this discovery, without Secret; RowVer orders the read, so it stays.
  assert.deepEqual(
    readableDiscovery(notes, rv!).columns.map((x) => x.name),
    ['Id', 'Note', 'RowVer'],
  );
  const select = (n: ReturnType<typeof tableNeeds>) => n.needs.find((x): x is SelectNeed => x.kind === 'select')!;
  const rvNeed = select(tableNeeds(rv!, notes));
  assert.deepEqual(rvNeed.columns, ['Id', 'Note', 'RowVer']);
  assert.deepEqual(rvNeed.phiDropped, ['RowVer']);
  const script = extractorGrantScript({ database: 'Claims', auth: c.source.auth }, [tableNeeds(rv!, notes)]);
  assert.match(script, /^GRANT SELECT ON \[dbo\]\.\[Notes\] \(\[Id\], \[Note\], \[RowVer\]\) TO \[tm_ext\];$/m);
  assert.match(script, /\[RowVer\]: phi drop, still granted: a key, position or business-date column/);
  // CDC shows an instance's changes only with SELECT on every captured column: a captured Secret stays granted.
  const captured = select(tableNeeds(cdc!, discovered(['Id', 'Secret'], { cdcColumns: ['Id', 'Secret'] })));
  assert.deepEqual(captured.columns, ['Id', 'Secret']);
  assert.match(captured.phiDroppedWhy ?? '', /captured by CDC/);
  // … and one the capture instance leaves out is not.
  const uncaptured = select(tableNeeds(cdcUncaptured!, discovered(['Id', 'Secret'], { cdcColumns: ['Id'] })));
  assert.deepEqual(uncaptured.columns, ['Id']);
  assert.deepEqual(uncaptured.phiDropped, []);
});

test('Entra authentication: a contained user from the external provider, no login', () => {
  const c = config(
    `  host: sql.example.net
  database: Claims
  auth: { type: entra-managed-identity }`,
    `  - { name: dbo.Claims, capture: { strategy: rowversion, column: RowVer } }`,
  );
  const script = extractorGrantScript(
    { database: 'Claims', auth: c.source.auth, user: 'tidemark-worker' },
    c.tables.map((t) => tableNeeds(t, undefined)),
  );
  assert.doesNotMatch(script, /CREATE LOGIN/);
  assert.match(script, /^CREATE USER \[tidemark-worker\] FROM EXTERNAL PROVIDER;$/m);
  assert.match(script, /^GRANT SELECT ON \[dbo\]\.\[Claims\] TO \[tidemark-worker\];$/m);
});

test('retention needed: the longer of cadence and idle commit interval, plus the nightly window, plus a day', () => {
  const c = config(
    SQL_LOGIN,
    `  - { name: dbo.A, capture: { strategy: change_tracking }, cadence: 2h, idleCommitInterval: 1h }
  - { name: dbo.B, capture: { strategy: change_tracking }, cadence: 15m }`,
  );
  assert.equal(requiredRetentionMinutes(c.tables[0]!, c.nightly), 120 + 180 + 1440);
  assert.equal(requiredRetentionMinutes(c.tables[1]!, c.nightly), 60 + 180 + 1440);
  assert.equal(requiredRetentionMinutes(c.tables[1]!, undefined), 60 + 1440);
});

test('TLS: plaintext or an unvalidated certificate is a problem except on loopback', () => {
  const remote = config(
    `  host: sql.example.net
  database: Claims
  auth: { type: entra-default }`,
    `  - { name: dbo.A, capture: { strategy: change_tracking } }`,
  ).source;
  const local = config(SQL_LOGIN, `  - { name: dbo.A, capture: { strategy: change_tracking } }`).source;
  const plain = { protocol: null, cipher: null, certificateValidated: false };
  const trusted = { protocol: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384', certificateValidated: false };
  const validated = { ...trusted, certificateValidated: true };
  assert.equal(tlsFinding(plain, remote).status, 'problem');
  assert.equal(tlsFinding(trusted, remote).status, 'problem');
  assert.equal(tlsFinding(validated, remote).status, 'ok');
  assert.equal(tlsFinding(plain, local).status, 'note');
  assert.equal(tlsFinding(trusted, local).status, 'note');
});
