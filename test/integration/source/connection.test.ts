/** SourceConnection.open from the typed config, end to end: TLS verified against a CA file, appName, read intent. */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { SIM_CREDENTIALS, startSimulator, type Simulator } from '../../../sim/index.js';
import type { SourceConfig } from '../../../src/config/types.js';
import { durationOf } from '../../../src/config/duration.js';
import { SourceConnection } from '../../../src/source/connection.js';
import { createSecretProvider } from '../../../src/config/secret-provider.js';
import { SourceQueryError, TransientSourceError } from '../../../src/source/errors.js';

let sim: Simulator;
let caFile: string;

before(async () => {
  sim = await startSimulator({ port: 0, tls: 'generate' });
  caFile = join(mkdtempSync(join(tmpdir(), 'tm-src-ca-')), 'ca.pem');
  writeFileSync(caFile, sim.certificate!);
});
after(() => sim?.stop());

const config = (over: Partial<SourceConfig> = {}): SourceConfig => ({
  host: 'localhost',
  port: sim.port,
  database: 'Claims',
  auth: {
    type: 'sql-login',
    user: SIM_CREDENTIALS.extractor.user,
    password: { kind: 'value', value: SIM_CREDENTIALS.extractor.password, fromEnv: ['TIDEMARK_SQL_PASSWORD'] },
  },
  encrypt: true,
  trustServerCertificate: false,
  caFile,
  readOnlyIntent: false,
  appName: 'tidemark',
  connectTimeout: durationOf(10_000),
  requestTimeout: durationOf(10_000),
  pool: { max: 2, min: 0, idleTimeout: durationOf(1_000) },
  maxConcurrentQueries: 2,
  ...over,
});

test('opens over TLS verified with the CA file, as appName tidemark, least-privilege login', async () => {
  const conn = await SourceConnection.open(config(), { secrets: createSecretProvider() });
  try {
    const r = await conn.query<{ app: string; who: string }>('probe', 'SELECT APP_NAME() AS app, SUSER_NAME() AS who');
    assert.deepEqual(r[0], { app: 'tidemark', who: 'tidemark_extractor' });
    assert.ok(conn.throttle.snapshot().queries >= 1);
  } finally {
    await conn.close();
  }
});

test('source connections use 32 KiB TDS packets, as the server granted them (a chunk read is one packet per 32 KiB of rows)', async () => {
  const conn = await SourceConnection.open(config(), { secrets: createSecretProvider() });
  try {
    // The size the server granted in its ENVCHANGE is what the driver's message stream now uses, both ways.
    const tedious = (await (conn.pool as unknown as { acquire(o: unknown): Promise<unknown> }).acquire(conn.pool)) as {
      messageIo: { packetSize(): number };
    };
    try {
      assert.equal(tedious.messageIo.packetSize(), 32_767);
    } finally {
      (conn.pool as unknown as { release(c: unknown): void }).release(tedious);
    }
    const r = await conn.query<{ n: number }>('probe', 'SELECT 1 AS n');
    assert.deepEqual(r, [{ n: 1 }]);
  } finally {
    await conn.close();
  }
});

test('an untrusted certificate or a wrong password fails with a clear, secret-free error', async () => {
  await assert.rejects(
    SourceConnection.open(config({ caFile: undefined }), { secrets: createSecretProvider() }),
    (e: unknown) =>
      e instanceof SourceQueryError &&
      /TLS: .*source\.caFile/.test(e.message) &&
      !e.message.includes(SIM_CREDENTIALS.extractor.password),
  );
  await assert.rejects(
    SourceConnection.open(
      config({
        auth: {
          type: 'sql-login',
          user: SIM_CREDENTIALS.extractor.user,
          password: { kind: 'value', value: 'Wrong!Password1', fromEnv: ['X'] },
        },
      }),
      { secrets: createSecretProvider() },
    ),
    (e: unknown) => {
      assert.ok(e instanceof SourceQueryError, String(e));
      assert.equal(e.code, 'ELOGIN');
      assert.match(e.message, /login failed: check source\.auth/);
      assert.ok(!e.message.includes('Wrong!Password1'));
      return true;
    },
  );
});

test('a connection lost mid-stream is a retryable TransientSourceError', async () => {
  // Enough rows that the server is still sending when it stops: at 32 KiB packets the driver's and the
  // loopback socket's buffers held all of 20,000 rows before the stop landed.
  const other = await startSimulator({ port: 0, seed: 3, seedRows: 100_000 });
  const conn = await SourceConnection.open(
    config({
      port: other.port,
      encrypt: false,
      caFile: undefined,
      auth: {
        type: 'sql-login',
        user: SIM_CREDENTIALS.admin.user,
        password: { kind: 'value', value: SIM_CREDENTIALS.admin.password, fromEnv: [] },
      },
    }),
    { secrets: createSecretProvider() },
  );
  try {
    await assert.rejects(
      (async () => {
        let n = 0;
        for await (const b of conn.stream('read', 'SELECT * FROM dbo.ClaimLines', [], { batchRows: 100 })) {
          n += b.rows.length;
          if (n === 100) void other.stop();
        }
      })(),
      (e: unknown) => {
        assert.ok(e instanceof TransientSourceError, String(e));
        assert.equal(e.retryable, true);
        return true;
      },
    );
  } finally {
    await conn.close().catch(() => undefined);
  }
});
