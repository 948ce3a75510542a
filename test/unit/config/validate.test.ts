import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, ENV, PASSWORD, invalid, issueAt, valid, variant } from './fixtures.js';
import { parseConfig } from '../../../src/config/index.js';

test('the minimal config is valid and gets the documented defaults', () => {
  const config = valid(BASE);
  assert.equal(config.version, 1);
  assert.equal(config.source.port, 1433);
  assert.equal(config.source.encrypt, true);
  assert.equal(config.source.trustServerCertificate, false);
  assert.equal(config.source.readOnlyIntent, true);
  assert.equal(config.source.appName, 'tidemark');
  assert.equal(config.source.maxConcurrentQueries, 4);
  assert.equal(config.sink.auth, 'connectionString', 'auth follows from connectionString');
  assert.equal(config.sink.prefix, '');
  assert.equal(config.temporal.namespace, 'default');
  assert.equal(config.temporal.taskQueue, 'tidemark');
  assert.equal(config.temporal.tls, undefined);
  const [table] = config.tables;
  assert.ok(table);
  assert.equal(table.schema, 'dbo');
  assert.equal(table.table, 'Claims');
  assert.equal(table.cadence.text, '15m');
  assert.equal(table.cadence.ms, 900_000);
  assert.equal(table.idleCommitInterval.text, '1h', 'an idle table commits an empty window at most hourly');
  assert.deepEqual(table.limits, {
    maxRowsPerSecond: 5000,
    maxRowsPerWindow: 1_000_000,
    subRangeRows: 100_000,
    queryTimeout: config.source.requestTimeout,
  });
  assert.deepEqual(table.phi, []);
});

test('five mistakes are reported at once, each with its path and a fix, in file order', () => {
  const text = `
source:
  hots: 127.0.0.1
  database: Claims
  port: 99999
  auth: { type: sql-login, user: tidemark_extractor, password: '\${PW}' }
sink:
  connectionString: \${CONN}
  container: raw
temporal:
  address: 127.0.0.1:7233
tables:
  - name: dbo.Claims
    capture: { strategy: cdc }
    cadence: 15
  - name: dbo.ClaimPayments
    capture: { strategy: rowversion }
nightly:
  windowStart: "25:00"
`;
  const issues = invalid(text);
  assert.deepEqual(
    issues.map((i) => i.path),
    ['source.hots', 'source.port', 'tables[0].cadence', 'tables[1].capture.column', 'nightly.windowStart'],
  );
  // The misspelled `hots` is one issue ("did you mean `host`"), not also a "missing host".
  assert.match(issueAt(issues, 'source.hots').fix, /did you mean `host`/);
  for (const issue of issues) {
    assert.ok(issue.message.length > 0 && issue.fix.length > 0, issue.path);
    assert.equal(typeof issue.line, 'number', issue.path);
  }
  assert.equal(issueAt(issues, 'tables[1].capture.column').line, 17);
});

test('a YAML syntax error is reported once, with its line', () => {
  const issues = invalid('source:\n  host: x\n  auth: { password: ${PW} }\n');
  assert.equal(issues.length, 1);
  assert.equal(issues[0]?.path, '(file)');
  assert.match(issues[0]?.message ?? '', /YAML syntax/);
  assert.match(issues[0]?.fix ?? '', /quote values that contain/);
  assert.equal(issues[0]?.line, 3);
});

test('a repeated key is an error, not a silent override', () => {
  const issues = invalid(`${BASE}\ntemporal:\n  address: 10.0.0.1:7233\n`);
  assert.match(issues[0]?.message ?? '', /unique/i);
});

test('an empty file says where to start', () => {
  for (const text of ['', '# only a comment\n', '~\n']) {
    const issues = invalid(text);
    assert.equal(issues.length, 1, JSON.stringify(issues));
    assert.match(issueAt(issues, '(root)').fix, /tidemark\.example\.yaml/);
  }
});

test('a missing section and a missing required key are reported at their paths', () => {
  const issues = invalid(
    variant((d) => {
      delete (d as Record<string, unknown>).temporal;
      delete d.source.database;
    }),
  );
  assert.match(issueAt(issues, 'temporal').message, /missing section/);
  const db = issueAt(issues, 'source.database');
  assert.match(db.message, /missing/);
  assert.match(db.fix, /add `database:/);
});

test('unknown keys are errors, with "did you mean" when close and the allowed keys otherwise', () => {
  const issues = invalid(
    variant((d) => {
      d.source.readOnlyIntnet = true;
      d.sink.zzz = 1;
      d.tables[0]!.schedule = '5m';
      d.extra = 1;
    }),
  );
  assert.match(issueAt(issues, 'source.readOnlyIntnet').fix, /did you mean `readOnlyIntent`/);
  assert.match(issueAt(issues, 'sink.zzz').fix, /keys allowed here: .*container/);
  assert.match(issueAt(issues, 'tables[0].schedule').fix, /did you mean `cadence`/);
  assert.match(issueAt(issues, 'extra').message, /unknown key/);
});

test('wrong types and out-of-range numbers say what is expected', () => {
  const issues = invalid(
    variant((d) => {
      d.source.port = 'abc';
      d.source.encrypt = 'yes';
      d.source.pool = { max: 0 };
      d.tables[0]!.limits = { maxRowsPerSecond: 1.5 };
    }),
  );
  assert.match(issueAt(issues, 'source.port').message, /whole number/);
  assert.match(issueAt(issues, 'source.encrypt').fix, /true.*false/);
  assert.match(issueAt(issues, 'source.pool.max').message, /between 1 and 100/);
  assert.match(issueAt(issues, 'tables[0].limits.maxRowsPerSecond').message, /whole number/);
});

test('enum values get a "did you mean"', () => {
  const issues = invalid(variant((d) => (d.tables[0]!.capture = { strategy: 'change-tracking' })));
  const issue = issueAt(issues, 'tables[0].capture.strategy');
  assert.match(issue.message, /"change-tracking" is not a valid capture strategy/);
  assert.match(issue.fix, /did you mean `strategy: change_tracking`/);
});

test('each strategy takes its own parameters, with defaults', () => {
  const config = valid(
    variant((d) => {
      d.tables = [
        { name: 'dbo.A', capture: { strategy: 'cdc', captureInstance: 'dbo_A_v2' } },
        { name: 'dbo.B', capture: 'change_tracking' },
        { name: 'dbo.C', capture: { strategy: 'rowversion', column: 'RowVer' } },
        { name: 'dbo.D', capture: { strategy: 'updated_at', column: 'UpdatedAt' } },
        { name: 'dbo.E', capture: { strategy: 'identity', column: 'Id' } },
      ];
      d.nightly = { windowStart: '01:00' };
    }),
  );
  assert.deepEqual(
    config.tables.map((t) => t.capture),
    [
      { strategy: 'cdc', captureInstance: 'dbo_A_v2' },
      { strategy: 'change_tracking' },
      { strategy: 'rowversion', column: 'RowVer' },
      {
        strategy: 'updated_at',
        column: 'UpdatedAt',
        lookback: { ms: 900_000, text: '15m' },
        safetyLag: { ms: 120_000, text: '2m' },
      },
      { strategy: 'identity', column: 'Id' },
    ],
  );
  assert.deepEqual(config.nightly, { windowStart: '01:00', duration: { ms: 7_200_000, text: '2h' }, timezone: 'UTC' });
});

test('a parameter of another strategy is refused, naming the strategies that take it', () => {
  const issues = invalid(variant((d) => (d.tables[0]!.capture = { strategy: 'cdc', column: 'RowVer' })));
  const issue = issueAt(issues, 'tables[0].capture.column');
  assert.match(issue.message, /used by capture strategy rowversion, updated_at, identity, not cdc/);
});

test('missing capture and strategy parameters point at the exact key', () => {
  const issues = invalid(
    variant((d) => {
      delete d.tables[0]!.capture;
      d.tables.push({ name: 'dbo.B', capture: { strategy: 'identity' } });
      d.nightly = { windowStart: '01:00' };
    }),
  );
  assert.match(issueAt(issues, 'tables[0].capture').fix, /strategy: cdc/);
  assert.match(issueAt(issues, 'tables[1].capture.column').fix, /add `column: Id`/);
});

test('durations: a unit is required, and the cadence is at least 5s', () => {
  const issues = invalid(
    variant((d) => {
      d.tables[0]!.cadence = 15;
      d.tables.push({ name: 'dbo.B', capture: 'cdc', cadence: '4s' });
      d.tables.push({ name: 'dbo.C', capture: 'cdc', cadence: '5s' });
    }),
  );
  assert.match(issueAt(issues, 'tables[0].cadence').fix, /add a unit: `cadence: 15m`/);
  assert.match(issueAt(issues, 'tables[1].cadence').message, /at least 5s/);
  assert.ok(!issues.some((i) => i.path === 'tables[2].cadence'), 'a 5-second cadence is accepted');
  const idle = invalid(variant((d) => (d.tables[0]!.idleCommitInterval = '2d')));
  assert.match(issueAt(idle, 'tables[0].idleCommitInterval').message, /at most 1d, got 2d/);
});

test('table names are schema-qualified and listed once', () => {
  const issues = invalid(
    variant((d) => {
      d.tables.push(
        { name: 'Claims', capture: 'cdc' },
        { name: '[dbo].[X]', capture: 'cdc' },
        { name: 'DBO.claims', capture: 'cdc' },
      );
    }),
  );
  assert.match(issueAt(issues, 'tables[1].name').fix, /schema\.table/);
  issueAt(issues, 'tables[2].name');
  assert.match(issueAt(issues, 'tables[3].name').message, /already listed at tables\[0\]/);
});

test('tables must be a non-empty list', () => {
  assert.match(issueAt(invalid(variant((d) => (d.tables = []))), 'tables').message, /no tables/);
  const notAList = issueAt(invalid(variant((d) => (d.tables = 'dbo.Claims' as never))), 'tables');
  assert.match(notAList.message, /a list/);
  assert.match(notAList.fix, /tables: \[\{ name: dbo\.Claims/);
});

test('a secret written literally in the file is refused without echoing it', () => {
  const issues = invalid(variant((d) => ((d.source.auth as Record<string, unknown>).password = PASSWORD)));
  const issue = issueAt(issues, 'source.auth.password');
  assert.match(issue.message, /written literally/);
  assert.match(issue.fix, /\$\{TIDEMARK_SOURCE_PASSWORD\}.*keyVault/);
  assert.ok(!JSON.stringify(issues).includes(PASSWORD));
});

test('a Key Vault reference is accepted as a secret, and checked', () => {
  const ok = valid(
    variant((d) => {
      (d.source.auth as Record<string, unknown>).password = {
        keyVault: { vaultUrl: 'https://kv-tidemark.vault.azure.net/', secretName: 'sql-password' },
      };
    }),
  );
  assert.deepEqual(ok.source.auth.type === 'sql-login' && ok.source.auth.password, {
    kind: 'keyVault',
    vaultUrl: 'https://kv-tidemark.vault.azure.net',
    secretName: 'sql-password',
  });
  const issues = invalid(
    variant((d) => {
      (d.source.auth as Record<string, unknown>).password = { keyVault: { vaultUrl: 'http://kv', secretNmae: 'x' } };
    }),
  );
  assert.match(issueAt(issues, 'source.auth.password.keyVault.vaultUrl').message, /not a Key Vault URL/);
  assert.match(issueAt(issues, 'source.auth.password.keyVault.secretNmae').fix, /did you mean `secretName`/);
  assert.equal(issues.length, 2, 'the misspelled secretName is not reported again as missing');
});

test('Entra ID auth variants take their own keys', () => {
  const sp = valid(
    variant((d) => {
      d.source.auth = {
        type: 'entra-service-principal',
        tenantId: '11111111-2222-3333-4444-555555555555',
        clientId: '66666666-7777-8888-9999-000000000000',
        clientSecret: '${PW}',
      };
    }),
  );
  assert.equal(sp.source.auth.type, 'entra-service-principal');
  assert.equal(valid(variant((d) => (d.source.auth = { type: 'entra-default' }))).source.auth.type, 'entra-default');
  const issues = invalid(
    variant((d) => (d.source.auth = { type: 'entra-managed-identity', user: 'x', clientId: 'nope' })),
  );
  assert.match(issueAt(issues, 'source.auth.user').message, /used by auth type sql-login, not entra-managed-identity/);
  assert.match(issueAt(issues, 'source.auth.clientId').message, /not a GUID/);
  const missing = invalid(variant((d) => (d.source.auth = { type: 'entra-service-principal' })));
  for (const key of ['tenantId', 'clientId', 'clientSecret']) issueAt(missing, `source.auth.${key}`);
});

test('encryption off or an unverified certificate is refused except for a loopback host', () => {
  const issues = invalid(
    variant((d) => {
      d.source.host = 'sql01.corp.example';
      d.source.encrypt = false;
      d.source.trustServerCertificate = true;
    }),
  );
  assert.match(issueAt(issues, 'source.encrypt').message, /clear text/);
  assert.match(issueAt(issues, 'source.trustServerCertificate').fix, /caFile/);
  valid(
    variant((d) => {
      d.source.encrypt = false;
      d.source.trustServerCertificate = true;
    }),
  );
});

test('a document that is not a map is one issue, not one per missing section', () => {
  const issues = invalid('- a\n- b\n');
  assert.deepEqual(
    issues.map((i) => i.path),
    ['(root)'],
  );
});

test('loopback IPv6 is a host, not host:port', () => {
  const config = valid(
    variant((d) => {
      d.source.host = '::1';
      d.source.encrypt = false;
    }),
  );
  assert.equal(config.source.host, '::1');
});

test('source host must be a host, not a URL or host:port', () => {
  assert.match(issueAt(invalid(variant((d) => (d.source.host = 'tcp://sql01'))), 'source.host').message, /URL/);
  assert.match(issueAt(invalid(variant((d) => (d.source.host = 'sql01:1433'))), 'source.host').fix, /port/);
});

test('maxConcurrentQueries above pool.max and pool.min above pool.max are refused', () => {
  const issues = invalid(
    variant((d) => {
      d.source.maxConcurrentQueries = 8;
      d.source.pool = { max: 4, min: 5 };
    }),
  );
  assert.match(issueAt(issues, 'source.maxConcurrentQueries').fix, /pool\.max/);
  issueAt(issues, 'source.pool.min');
});

test('sink: one of accountUrl / connectionString, https, no SAS in the URL, valid container', () => {
  const both = invalid(variant((d) => (d.sink.accountUrl = 'https://acct.blob.core.windows.net')));
  assert.match(issueAt(both, 'sink.connectionString').message, /both/);
  const url = valid(
    variant((d) => {
      delete d.sink.connectionString;
      d.sink.accountUrl = 'https://acct.blob.core.windows.net/';
      d.sink.prefix = 'claims/v1/';
    }),
  );
  assert.deepEqual(url.sink, {
    auth: 'defaultAzureCredential',
    accountUrl: 'https://acct.blob.core.windows.net',
    container: 'raw',
    prefix: 'claims/v1',
  });
  const issues = invalid(
    variant((d) => {
      delete d.sink.connectionString;
      d.sink.accountUrl = 'https://acct.blob.core.windows.net/?sv=2024&sig=abc';
      d.sink.container = 'Raw_Data';
      d.sink.prefix = '/x';
    }),
  );
  assert.match(issueAt(issues, 'sink.accountUrl').message, /query string/);
  assert.match(issueAt(issues, 'sink.container').message, /not a valid container name/);
  assert.match(issueAt(issues, 'sink.prefix').message, /starts with/);
  const http = invalid(
    variant((d) => {
      delete d.sink.connectionString;
      d.sink.accountUrl = 'http://acct.blob.core.windows.net';
    }),
  );
  assert.match(issueAt(http, 'sink.accountUrl').message, /not https/);
  const mismatch = invalid(variant((d) => (d.sink.auth = 'defaultAzureCredential')));
  assert.match(issueAt(mismatch, 'sink.accountUrl').message, /missing/);
});

test('sink.stateContainer: a separate container for the watermark (WORM data container); not the same one', () => {
  const ok = valid(variant((d) => (d.sink.stateContainer = 'raw-state')));
  assert.equal(ok.sink.stateContainer, 'raw-state');
  assert.equal(valid(BASE).sink.stateContainer, undefined);
  const same = invalid(variant((d) => (d.sink.stateContainer = 'raw')));
  assert.match(issueAt(same, 'sink.stateContainer').fix, /leave stateContainer out/);
  const bad = invalid(variant((d) => (d.sink.stateContainer = 'Raw_State')));
  assert.match(issueAt(bad, 'sink.stateContainer').message, /not a valid container name/);
});

test("sink.parquet: the data files' codec (zstd, snappy) and zstd level, each mistake with its fix", () => {
  assert.equal(valid(BASE).sink.parquet, undefined, "absent: the writer's default (zstd, level 3)");
  const set = (parquet: unknown) => variant((d) => (d.sink.parquet = parquet));
  assert.deepEqual(valid(set({ compression: 'zstd', zstdLevel: 1 })).sink.parquet, { codec: 'zstd', level: 1 });
  assert.deepEqual(valid(set({ zstdLevel: 6 })).sink.parquet, { codec: 'zstd', level: 6 });
  assert.deepEqual(valid(set({ compression: 'snappy' })).sink.parquet, { codec: 'snappy' });

  const unknown = issueAt(invalid(set({ compression: 'zstandard' })), 'sink.parquet.compression');
  assert.match(unknown.message, /"zstandard" is not a valid Parquet compression codec/);
  const refused = issueAt(invalid(set({ compression: 'uncompressed' })), 'sink.parquet.compression');
  assert.match(refused.message, /not offered for data files: .*5–6 times the bytes/);
  assert.equal(refused.fix, 'write one of: zstd, snappy (zstd is the default)');
  assert.match(issueAt(invalid(set({ compression: 'lz4_raw' })), 'sink.parquet.compression').message, /snappy/);
  const range = issueAt(invalid(set({ zstdLevel: 22 })), 'sink.parquet.zstdLevel');
  assert.match(range.message, /the zstd level must be between 1 and 19, got 22/);
  const notZstd = issueAt(invalid(set({ compression: 'snappy', zstdLevel: 3 })), 'sink.parquet.zstdLevel');
  assert.match(notZstd.message, /zstdLevel is set but compression is snappy/);
  assert.match(notZstd.fix, /remove `zstdLevel`, or write `compression: zstd`/);
  assert.match(issueAt(invalid(set({ codec: 'zstd' })), 'sink.parquet.codec').message, /unknown|not a known/i);
});

test('a malformed connection string is reported without echoing it', () => {
  const env = { ...ENV, CONN: 'AccountKey=S3CRETKEY;nothing-else' };
  const issues = invalid(BASE, env);
  issueAt(issues, 'sink.connectionString');
  assert.ok(!JSON.stringify(issues).includes('S3CRETKEY'));
  const remote = invalid(BASE, {
    ...ENV,
    CONN: 'AccountName=a;AccountKey=k;BlobEndpoint=http://a.blob.core.windows.net',
  });
  assert.match(issueAt(remote, 'sink.connectionString').message, /not https/);
});

test('temporal: address shape, mTLS pairs, API key implies TLS and excludes client certificates', () => {
  assert.match(
    issueAt(invalid(variant((d) => (d.temporal.address = 'http://x:7233'))), 'temporal.address').fix,
    /no scheme/,
  );
  const pair = invalid(variant((d) => (d.temporal.tls = { certFile: 'c.pem' })));
  assert.match(issueAt(pair, 'temporal.tls.keyFile').message, /private key/);
  const apiKey = valid(variant((d) => (d.temporal.apiKey = '${PW}')));
  assert.deepEqual(apiKey.temporal.tls, {});
  const plain = invalid(
    variant((d) => {
      d.temporal.apiKey = '${PW}';
      d.temporal.tls = false;
    }),
  );
  assert.match(issueAt(plain, 'temporal.tls').message, /without TLS/);
  const both = invalid(
    variant((d) => {
      d.temporal.apiKey = '${PW}';
      d.temporal.tls = { certFile: 'c.pem', keyFile: 'k.pem' };
    }),
  );
  issueAt(both, 'temporal.tls.certFile');
});

test('file paths resolve against the config directory and must exist when checked', () => {
  const text = variant((d) => (d.temporal.tls = { caFile: 'certs/ca.pem', certFile: '/abs/c.pem', keyFile: 'k.pem' }));
  const config = valid(text, ENV, { baseDir: '/etc/tidemark' });
  assert.deepEqual(config.temporal.tls, {
    caFile: '/etc/tidemark/certs/ca.pem',
    certFile: '/abs/c.pem',
    keyFile: '/etc/tidemark/k.pem',
  });
  const issues = invalid(text, ENV, { baseDir: '/etc/tidemark', fileExists: (p) => p === '/abs/c.pem' });
  assert.match(issueAt(issues, 'temporal.tls.caFile').message, /not found: \/etc\/tidemark\/certs\/ca\.pem/);
  issueAt(issues, 'temporal.tls.keyFile');
});

test('strategies that cannot see deletes need the nightly window', () => {
  const issues = invalid(
    variant((d) => d.tables.push({ name: 'dbo.P', capture: { strategy: 'rowversion', column: 'RowVer' } })),
  );
  const issue = issueAt(issues, 'nightly');
  assert.match(issue.message, /dbo\.P \(rowversion\) cannot see deletes/);
  assert.match(issue.fix, /windowStart/);
});

test('nightly: time of day, time zone, duration bounds', () => {
  const issues = invalid(
    variant((d) => (d.nightly = { windowStart: '1am', timezone: 'Mars/Olympus', duration: '13h' })),
  );
  assert.match(issueAt(issues, 'nightly.windowStart').fix, /HH:MM/);
  assert.match(issueAt(issues, 'nightly.timezone').message, /IANA/);
  assert.match(issueAt(issues, 'nightly.duration').message, /at most 12h/);
});

test('PHI policy: actions, one rule per column, key columns land as they are, hashing needs a key', () => {
  const config = valid(
    variant((d) => {
      d.tables[0]!.key = 'ClaimId';
      d.tables[0]!.phi = [
        { columns: ['MemberId'], action: 'hash' },
        { columns: 'PatientName', action: 'drop' },
        { columns: 'ClaimId', action: 'keep' },
      ];
      d.privacy = { hashKey: '${HASH}' };
    }),
  );
  assert.deepEqual(config.tables[0]?.key, ['ClaimId']);
  assert.deepEqual(config.tables[0]?.phi, [
    { columns: ['MemberId'], action: 'hash' },
    { columns: ['PatientName'], action: 'drop' },
    { columns: ['ClaimId'], action: 'keep' },
  ]);
  // config check and the worker apply one rule (src/config/phi-key-rule.ts): before, config check accepted
  // `hash` on a key column — and suggested it for a dropped one — and the worker then refused the table.
  const hashedKey = invalid(
    variant((d) => {
      d.tables[0]!.key = ['ClaimId'];
      d.tables[0]!.phi = [{ columns: ['MemberId', 'ClaimId'], action: 'hash' }];
      d.privacy = { hashKey: '${HASH}' };
    }),
  );
  assert.match(issueAt(hashedKey, 'tables[0].phi[0].action').message, /ClaimId is a key column and cannot be hashed/);
  assert.doesNotMatch(issueAt(hashedKey, 'tables[0].phi[0].action').fix, /action: hash/);
  const issues = invalid(
    variant((d) => {
      d.tables[0]!.key = ['ClaimId'];
      d.tables[0]!.phi = [
        { columns: ['ClaimId'], action: 'drop' },
        { columns: ['Ssn'], action: 'encrypt' },
        { columns: ['claimid'], action: 'hash' },
      ];
    }),
  );
  assert.match(issueAt(issues, 'tables[0].phi[0].action').message, /key column and cannot be dropped/);
  assert.doesNotMatch(issueAt(issues, 'tables[0].phi[0].action').fix, /action: hash/);
  assert.match(issueAt(issues, 'tables[0].phi[1].action').fix, /drop, hash, keep/);
  assert.match(issueAt(issues, 'tables[0].phi[2].columns').message, /already has a PHI rule/);
  assert.match(issueAt(issues, 'privacy').message, /hash PHI columns/);
  const short = invalid(
    variant((d) => {
      d.tables[0]!.phi = [{ columns: ['MemberId'], action: 'hash' }];
      d.privacy = { hashKey: '${SHORT}' };
    }),
    { ...ENV, SHORT: 'abc' },
  );
  assert.match(issueAt(short, 'privacy.hashKey').message, /shorter than 32/);
});

test('an unsupported format version is refused', () => {
  assert.match(issueAt(invalid(`version: 2\n${BASE}`), 'version').fix, /version: 1/);
});

test('parseConfig never throws on odd input', () => {
  for (const text of ['[]', '42', '"text"', 'source: 5', 'tables: {}', '- a\n- b', 'a: &x [*x]']) {
    const result = parseConfig(text, ENV);
    assert.equal(result.ok, false, text);
  }
});

test('lineage: an endpoint, an optional key from the environment, the lake copy; no credentials in the URL', () => {
  const config = valid(
    variant((d) => {
      d.lineage = { endpoint: 'http://marquez:5000/', apiKey: '${HASH}', lake: true };
    }),
  );
  assert.equal(config.lineage?.endpoint, 'http://marquez:5000', 'trailing slash removed: <endpoint>/api/v1/lineage');
  assert.equal(config.lineage?.apiKey?.kind, 'value');
  assert.equal(config.lineage?.lake, true);
  assert.equal(valid(variant((d) => (d.lineage = { lake: true }))).lineage?.endpoint, undefined);
  const issues = invalid(
    variant((d) => {
      d.lineage = { endpoint: 'https://user:secret@marquez:5000', apiKey: 'literal-key', lake: 'yes' };
    }),
  );
  assert.match(issueAt(issues, 'lineage.endpoint').message, /credentials or a query/);
  assert.doesNotMatch(JSON.stringify(issues), /user:secret/, 'the URL is not echoed');
  assert.ok(issueAt(issues, 'lineage.apiKey'));
  assert.ok(issueAt(issues, 'lineage.lake'));
  assert.match(
    issueAt(invalid(variant((d) => (d.lineage = { endpoint: 'ftp://x' }))), 'lineage.endpoint').message,
    /http/,
  );
});
