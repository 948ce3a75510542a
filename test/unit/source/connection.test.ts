import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { AccessToken, TokenCredential } from '@azure/identity';
import type { SourceConfig } from '../../../src/config/types.js';
import { durationOf } from '../../../src/config/duration.js';
import { assertNoDirtyReads, buildPoolConfig } from '../../../src/source/connection.js';
import { createSecretProvider, SecretUnavailableError } from '../../../src/config/secret-provider.js';
import { SourceThrottle } from '../../../src/source/throttle.js';
import { LatencyMonitor } from '../../../src/source/latency-monitor.js';
import { transientReason, withTransientRetry } from '../../../src/source/transient.js';
import { SourceQueryError, TransientSourceError } from '../../../src/source/errors.js';

const base: SourceConfig = {
  host: 'ag-listener.claims.internal',
  port: 1433,
  database: 'Claims',
  auth: { type: 'sql-login', user: 'tidemark', password: { kind: 'value', value: 'pw-from-env', fromEnv: ['TM_PW'] } },
  encrypt: true,
  trustServerCertificate: false,
  readOnlyIntent: true,
  appName: 'tidemark',
  connectTimeout: durationOf(15_000),
  requestTimeout: durationOf(120_000),
  pool: { max: 4, min: 0, idleTimeout: durationOf(30_000) },
  maxConcurrentQueries: 4,
};

test('pool config: TLS with a CA file, read-only intent, appName, timeouts, SQL login password from the provider', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tm-ca-'));
  writeFileSync(join(dir, 'ca.pem'), '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
  const cfg = await buildPoolConfig({ ...base, caFile: join(dir, 'ca.pem') }, { secrets: createSecretProvider() });
  assert.equal(cfg.server, 'ag-listener.claims.internal');
  assert.equal(cfg.user, 'tidemark');
  assert.equal(cfg.password, 'pw-from-env');
  assert.equal(cfg.options?.encrypt, true);
  assert.equal(cfg.options?.trustServerCertificate, false);
  assert.equal(cfg.options?.readOnlyIntent, true);
  assert.equal(cfg.options?.appName, 'tidemark');
  assert.match(
    String((cfg.options as Record<string, { ca?: string }>).cryptoCredentialsDetails?.ca),
    /BEGIN CERTIFICATE/,
  );
  assert.equal(cfg.connectionTimeout, 15_000);
  assert.equal(cfg.requestTimeout, 120_000);
  assert.deepEqual(cfg.pool, { max: 4, min: 0, idleTimeoutMillis: 30_000 });
});

test('Entra ID: a token credential, no password', async () => {
  const fake: TokenCredential = {
    getToken: () => Promise.resolve({ token: 't', expiresOnTimestamp: 0 } as AccessToken),
  };
  const cfg = await buildPoolConfig(
    { ...base, auth: { type: 'entra-managed-identity' } },
    { secrets: createSecretProvider(), credential: () => fake },
  );
  assert.equal(cfg.password, undefined);
  assert.deepEqual((cfg as unknown as { authentication: unknown }).authentication, {
    type: 'token-credential',
    options: { credential: fake },
  });
});

test('Key Vault secrets go through the same provider; failures name the secret, never a value', async () => {
  let calls = 0;
  const provider = createSecretProvider({
    vaultClient: () => ({
      getSecret: (name: string) => {
        calls++;
        if (name === 'missing') return Promise.reject(Object.assign(new Error('nope'), { statusCode: 404 }));
        return Promise.resolve({ value: 's3cret' });
      },
    }),
  });
  const ref = { kind: 'keyVault', vaultUrl: 'https://kv.vault.azure.net', secretName: 'sql-password' } as const;
  assert.equal(await provider.resolve(ref), 's3cret');
  assert.equal(await provider.resolve(ref), 's3cret');
  assert.equal(calls, 1, 'cached');
  await assert.rejects(provider.resolve({ ...ref, secretName: 'missing' }), (e: unknown) => {
    assert.ok(e instanceof SecretUnavailableError);
    assert.match(e.message, /'missing' in https:\/\/kv\.vault\.azure\.net could not be read: no such secret/);
    return true;
  });
});

test('transient errors: an explicit list; permanent ones keep only value-free text', async () => {
  assert.equal(transientReason({ number: 1205 }), 'deadlock victim (1205)');
  assert.equal(transientReason({ code: 'ESOCKET' }), 'connection reset or refused');
  assert.equal(
    transientReason({ originalError: { info: { number: 40613 } } }),
    'database not currently available (40613)',
  );
  assert.equal(transientReason({ number: 229 }), undefined);
  let n = 0;
  const out = await withTransientRetry(
    'q',
    () => (++n < 3 ? Promise.reject(Object.assign(new Error('deadlock'), { number: 1205 })) : Promise.resolve(42)),
    { attempts: 4, initialDelayMs: 1, maxDelayMs: 2 },
  );
  assert.equal(out, 42);
  await assert.rejects(
    withTransientRetry('q', () => Promise.reject(Object.assign(new Error('x'), { number: 1205 })), {
      attempts: 2,
      initialDelayMs: 1,
      maxDelayMs: 1,
    }),
    TransientSourceError,
  );
  await assert.rejects(
    withTransientRetry('q', () =>
      Promise.reject(
        Object.assign(new Error('Violation of PRIMARY KEY constraint. The duplicate key value is (123-45-6789).'), {
          number: 2627,
        }),
      ),
    ),
    (e: unknown) => e instanceof SourceQueryError && !e.message.includes('123-45-6789'),
  );
});

test('lock-skipping hints are refused', () => {
  assert.throws(() => assertNoDirtyReads('SELECT * FROM t WITH (NOLOCK)'));
  assert.throws(() => assertNoDirtyReads('SELECT * FROM t WITH (READPAST)'));
  assert.throws(() => assertNoDirtyReads('SET TRANSACTION ISOLATION LEVEL READ UNCOMMITTED'));
  assertNoDirtyReads('SELECT a FROM t OPTION (MAXDOP 1)');
});

test('throttle: N queries at once, rows/s cap, back-off on latency above the baseline, reported', async () => {
  const th = new SourceThrottle({ maxConcurrentQueries: 1, maxRowsPerSecond: 1000, backoffPauseMs: 20 });
  const r1 = await th.acquire();
  let second = false;
  const p = th.acquire().then((r) => {
    second = true;
    return r;
  });
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(second, false, 'the second query waits for the slot');
  r1();
  (await p)();
  for (let i = 0; i < 10; i++) th.observeLatency('metadata', 1);
  for (let i = 0; i < 10; i++) th.observeLatency('read', 10);
  assert.equal(th.stats.backoffs, 0, 'a slower operation is compared with its own baseline');
  assert.equal(th.stats.baselineLatencyMs, 10);
  th.observeLatency('read', 200);
  assert.equal(th.stats.backoffs, 1);
  assert.equal(th.stats.currentRowsPerSecond, 500);
  const t0 = Date.now();
  (await th.acquire())();
  assert.ok(Date.now() - t0 >= 15, 'the next query paused');
  assert.ok(th.stats.backoffWaitMs >= 20);
  // 500 rows/s with a one-second burst: 750 rows wait about half a second.
  const t1 = Date.now();
  await th.rows(750);
  assert.ok(Date.now() - t1 >= 400, `waited ${Date.now() - t1} ms`);
  assert.ok(th.stats.rateWaitMs >= 400);
  th.observeLatency('read', 10);
  assert.ok(th.stats.currentRowsPerSecond > 500, 'recovers with normal latency');
});

test('throttle: a count over a window is not a latency sample, so a big window does not pause a quiet source', () => {
  const th = new SourceThrottle({ maxConcurrentQueries: 1, maxRowsPerSecond: 1000, backoffPauseMs: 20 });
  // Small windows' capped counts, then a burst's: ten times slower because it counts more, not because the source
  // is busy. Before, the burst's count tripped the 3x rule and paused the next query (2 s by default).
  // The query's issuer says so (QueryOptions.sizeDependent), whatever the operation is called.
  for (const op of ['cdc.probe_count', 'rowversion.plan_count', 'cdc.split_probe', 'ct.split_count']) {
    for (let i = 0; i < 10; i++) th.observeLatency(op, 20, { sizeDependent: true });
    th.observeLatency(op, 400, { sizeDependent: true });
  }
  assert.equal(th.stats.backoffs, 0, 'no back-off for a count over a large window');
  assert.equal(th.stats.currentRowsPerSecond, 1000);
  assert.equal(th.stats.maxLatencyMs, 400, 'still reported as the highest latency seen');
  // A query whose time does not grow with the window still backs off at 3x its baseline.
  for (let i = 0; i < 10; i++) th.observeLatency('cdc.bounds', 20);
  th.observeLatency('cdc.bounds', 400);
  assert.equal(th.stats.backoffs, 1);
});

test('throttle: a count named like one but not flagged size-dependent is a latency sample (the flag decides)', () => {
  const th = new SourceThrottle({ maxConcurrentQueries: 1, maxRowsPerSecond: 1000, backoffPauseMs: 20 });
  // Before, the operation's name decided: a `*.split_count` was never a sample, whoever issued it. Now a query is
  // size-dependent only when its issuer says so, so dropping the flag shows up here and in
  // test/integration/source/size-dependent-queries.test.ts, not as a silent 2 s pause in a burst.
  for (let i = 0; i < 10; i++) th.observeLatency('ct.split_count', 20);
  th.observeLatency('ct.split_count', 400);
  assert.equal(th.stats.backoffs, 1, 'an unflagged slow sample backs off at 3x its baseline');
});

test('throttle: the pause after a slow query lasts as long as that query took, at most backoffPauseMs', async () => {
  // Default backoffPauseMs (2 s). Before, any slow sample paused the next query 2 s: a 120 ms catalog query on a
  // loaded server cost a window 2 s, the plan's whole p95 at a 10 s cadence.
  const th = new SourceThrottle({ maxConcurrentQueries: 1, maxRowsPerSecond: 1000 });
  for (let i = 0; i < 10; i++) th.observeLatency('cdc.bounds', 10);
  th.observeLatency('cdc.bounds', 120);
  assert.equal(th.stats.backoffs, 1, 'still a back-off: 12x the baseline');
  assert.equal(th.stats.currentRowsPerSecond, 500, 'the cap still halves');
  (await th.acquire())();
  assert.equal(th.stats.backoffWaitMs, 120, 'the next query waited as long as the slow one took');
  // A query slower than backoffPauseMs pauses backoffPauseMs.
  const capped = new SourceThrottle({ maxConcurrentQueries: 1, maxRowsPerSecond: 1000, backoffPauseMs: 30 });
  for (let i = 0; i < 10; i++) capped.observeLatency('read', 10);
  capped.observeLatency('read', 400);
  (await capped.acquire())();
  assert.equal(capped.stats.backoffWaitMs, 30);
});

test('throttle: once a table uses the application-latency back-off, the 3x rule no longer pauses or halves', async () => {
  const th = new SourceThrottle({ maxConcurrentQueries: 1, maxRowsPerSecond: 1000, backoffPauseMs: 20 });
  for (let i = 0; i < 10; i++) th.observeLatency('cdc.bounds', 10);
  th.observeLatency('cdc.bounds', 400);
  assert.equal(th.stats.backoffs, 1, 'without it, the 3x rule backs off');
  assert.equal(th.stats.currentRowsPerSecond, 500);
  (await th.acquire())();
  // The monitor a table's `limits.latencyBackoff` attaches to its connection (SourceConnection.tableBackoff); no
  // probe runs here: its thread starts with the first table, and this test asks only what attaching it changes.
  const monitor = new LatencyMonitor(th, { source: base }, { statement: 'SELECT 1', intervalMs: 250 });
  assert.equal(th.stats.currentRowsPerSecond, 1000, 'the rate the 3x rule halved is restored');
  th.observeLatency('cdc.bounds', 400);
  th.observeLatency('read', 10);
  th.observeLatency('read', 5000);
  assert.equal(th.stats.backoffs, 1, 'no more back-offs of its own: the application-latency back-off paces reads');
  assert.equal(th.stats.currentRowsPerSecond, 1000);
  assert.equal(th.stats.maxLatencyMs, 5000, 'the samples still report the highest latency');
  const waited = th.stats.backoffWaitMs;
  (await th.acquire())();
  assert.equal(th.stats.backoffWaitMs, waited, 'no pause of its own');
  // The monitor's own decisions still pause the next query (latency-monitor.ts).
  th.countBackoff(15);
  (await th.acquire())();
  assert.equal(th.stats.backoffWaitMs, waited + 15);
  await monitor.close();
});
