/**
 * Encryption in transit by default (HIPAA transmission security): a plaintext or unverified connection to a host
 * off this machine is refused for each of the three connections Tidemark makes (SQL Server, Blob Storage,
 * Temporal), each with a message that says what was wrong and what to do; loopback is the one, explicit,
 * exception (the simulator, Azurite, the Temporal dev server).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ENV, invalid, issueAt, valid, variant } from './fixtures.js';
import { TemporalPlaintextError, temporalConnectionSettings } from '../../../src/temporal/connect.js';

const noSecrets = (): Promise<string> => Promise.reject(new Error('no secret expected'));

test('SQL Server: encrypt false or an unverified certificate off loopback is refused; on loopback allowed', () => {
  const plain = invalid(
    variant((d) => {
      d.source.host = 'sql01.corp.example';
      d.source.encrypt = false;
    }),
  );
  const encrypt = issueAt(plain, 'source.encrypt');
  assert.match(encrypt.message, /encrypt is off for sql01\.corp\.example: .*clear text/);
  assert.match(encrypt.fix, /remove `encrypt: false`.*loopback/);
  const unverified = invalid(
    variant((d) => {
      d.source.host = '10.1.2.3';
      d.source.trustServerCertificate = true;
    }),
  );
  const trust = issueAt(unverified, 'source.trustServerCertificate');
  assert.match(trust.message, /skips verifying 10\.1\.2\.3's certificate/);
  assert.match(trust.fix, /caFile/);
  const remote = valid(variant((d) => (d.source.host = 'sql01.corp.example')));
  assert.equal(remote.source.encrypt, true, 'encrypted by default');
  assert.equal(remote.source.trustServerCertificate, false, 'certificate verified by default');
  for (const host of ['127.0.0.1', 'localhost', '::1'])
    valid(
      variant((d) => {
        d.source.host = host;
        d.source.encrypt = false;
        d.source.trustServerCertificate = true;
      }),
    );
});

test('Blob Storage: an http endpoint off loopback is refused (account URL and connection string); Azurite allowed', () => {
  const url = invalid(
    variant((d) => {
      delete d.sink.connectionString;
      d.sink.accountUrl = 'http://acct.blob.core.windows.net';
    }),
  );
  assert.match(issueAt(url, 'sink.accountUrl').message, /is not https/);
  assert.match(issueAt(url, 'sink.accountUrl').fix, /https:\/\/.*loopback/);
  const endpoint = invalid(
    variant(() => undefined),
    {
      ...ENV,
      CONN: 'AccountName=acct;AccountKey=k;BlobEndpoint=http://acct.blob.core.windows.net',
    },
  );
  assert.match(issueAt(endpoint, 'sink.connectionString').message, /BlobEndpoint is not https/);
  const protocol = invalid(
    variant(() => undefined),
    {
      ...ENV,
      CONN: 'DefaultEndpointsProtocol=http;AccountName=acct;AccountKey=k;EndpointSuffix=core.windows.net',
    },
  );
  assert.match(issueAt(protocol, 'sink.connectionString').message, /DefaultEndpointsProtocol=http/);
  assert.match(issueAt(protocol, 'sink.connectionString').fix, /https/);
  valid(
    variant((d) => {
      delete d.sink.connectionString;
      d.sink.accountUrl = 'http://127.0.0.1:10000/devstoreaccount1';
    }),
  );
  valid(
    variant(() => undefined),
    { ...ENV, CONN: 'UseDevelopmentStorage=true' },
  );
});

test('Temporal: TLS is the default off loopback and `tls: false` there is refused; loopback may be plaintext', () => {
  const remote = valid(variant((d) => (d.temporal.address = 'temporal.corp.example:7233')));
  assert.deepEqual(remote.temporal.tls, {}, 'TLS with the system CAs when `tls` is left out');
  const plain = invalid(
    variant((d) => {
      d.temporal.address = '10.0.0.7:7233';
      d.temporal.tls = false;
    }),
  );
  const issue = issueAt(plain, 'temporal.tls');
  assert.match(issue.message, /tls is off for 10\.0\.0\.7:7233: .*clear text/);
  assert.match(issue.fix, /remove `tls: false`.*loopback/);
  const v6 = invalid(
    variant((d) => {
      d.temporal.address = '[fd00::7]:7233';
      d.temporal.tls = false;
    }),
  );
  issueAt(v6, 'temporal.tls');
  for (const address of ['127.0.0.1:7233', 'localhost:7233', '[::1]:7233']) {
    const local = valid(
      variant((d) => {
        d.temporal.address = address;
        d.temporal.tls = false;
      }),
    );
    assert.equal(local.temporal.tls, undefined, `${address}: plaintext allowed on loopback`);
  }
});

test('Temporal: a plaintext connection off loopback is refused at connect time too (configs built in code)', async () => {
  await assert.rejects(
    temporalConnectionSettings(
      { address: 'temporal.corp.example:7233', namespace: 'default', taskQueue: 't' },
      noSecrets,
    ),
    (err: unknown) => {
      assert.ok(err instanceof TemporalPlaintextError);
      assert.match(err.message, /refusing to connect to Temporal at temporal\.corp\.example:7233 without TLS/);
      assert.match(err.message, /Set `temporal\.tls`/);
      return true;
    },
  );
  const tls = await temporalConnectionSettings(
    { address: 'temporal.corp.example:7233', namespace: 'default', taskQueue: 't', tls: {} },
    noSecrets,
  );
  assert.deepEqual(tls.tls, {});
  const local = await temporalConnectionSettings(
    { address: '127.0.0.1:7233', namespace: 'default', taskQueue: 't' },
    noSecrets,
  );
  assert.equal(local.tls, undefined);
});
