import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig, phiColumnNames, readConfigFile } from '../../../src/config/index.js';
import { ENV, PASSWORD, variant } from './fixtures.js';

const EXAMPLE = join(import.meta.dirname, '../../../tidemark.example.yaml');
const EXAMPLE_ENV = { TIDEMARK_SOURCE_PASSWORD: PASSWORD, TIDEMARK_PHI_HASH_KEY: 'k'.repeat(40) };

test('tidemark.example.yaml validates: the seed tables plus one table per strategy', async () => {
  const config = await loadConfig(EXAMPLE, { env: EXAMPLE_ENV });
  assert.deepEqual(
    config.tables.map((t) => [t.name, t.capture.strategy]),
    [
      ['dbo.Claims', 'cdc'],
      ['dbo.ClaimLines', 'cdc'],
      ['dbo.Providers', 'change_tracking'],
      ['dbo.ClaimPayments', 'rowversion'],
      ['dbo.ProviderNotes', 'updated_at'],
      ['dbo.EligibilityChecks', 'identity'],
    ],
  );
  assert.equal(config.source.host, '127.0.0.1');
  assert.equal(config.source.port, 14330);
  assert.equal(config.source.database, 'Claims');
  assert.deepEqual(config.source.auth.type === 'sql-login' && config.source.auth.user, 'tidemark_extractor');
  assert.equal(config.sink.auth, 'connectionString');
  assert.equal(config.sink.container, 'raw');
  assert.deepEqual(
    [config.temporal.address, config.temporal.namespace, config.temporal.taskQueue],
    ['127.0.0.1:7233', 'default', 'tidemark'],
  );
  assert.deepEqual(phiColumnNames(config).sort(), ['MemberId', 'NoteText', 'PatientDateOfBirth', 'PatientName']);
});

test('the example without its environment names exactly the two variables to set', async () => {
  const result = await readConfigFile(EXAMPLE, { env: {} });
  assert.equal(result.ok, false);
  assert.deepEqual(!result.ok && result.errors.map((e) => [e.path, e.message]), [
    ['source.auth.password', 'environment variable TIDEMARK_SOURCE_PASSWORD is not set'],
    ['privacy.hashKey', 'environment variable TIDEMARK_PHI_HASH_KEY is not set'],
  ]);
});

test('loadConfig throws a non-retryable ConfigError with every issue, naming the file, never a secret', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tidemark-config-'));
  try {
    const file = join(dir, 'bad.yaml');
    await writeFile(
      file,
      variant((d) => ((d.source.auth as Record<string, unknown>).password = PASSWORD)).replace('cdc', 'cdx'),
    );
    await assert.rejects(loadConfig(file, { env: ENV }), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.equal(error.name, 'ConfigError');
      assert.equal(error.retryable, false);
      assert.equal(error.file, file);
      assert.deepEqual(
        error.issues.map((i) => i.path),
        ['source.auth.password', 'tables[0].capture.strategy'],
      );
      assert.ok(!error.message.includes(PASSWORD) && !JSON.stringify(error.issues).includes(PASSWORD));
      return true;
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a missing file is an issue, not a crash', async () => {
  const result = await readConfigFile('/nonexistent/tidemark.yaml', { env: ENV });
  assert.equal(result.ok, false);
  assert.match(!result.ok ? (result.errors[0]?.message ?? '') : '', /file not found/);
});
