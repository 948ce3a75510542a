/**
 * Storage that cannot be reached is named (issue 12, item 8): the endpoint (the account URL, or the connection
 * string's BlobEndpoint; never a key or SAS), the container and the path, and what to check. Before, a failed
 * container check said "… during container of  …; retry" with a blank name.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AzureBlobStore } from '../../../src/lake/blob-store.js';
import { BlobStoreError } from '../../../src/lake/errors.js';
import { azuriteConnectionString } from '../../../scripts/stack/azurite.js';
import { freePort } from '../../../scripts/stack/process.js';

/** The error a promise rejects with (failing the test if it resolves). */
async function failure(p: Promise<unknown>): Promise<Error> {
  return p.then(
    () => assert.fail('it succeeded against a closed port'),
    (e: unknown) => e as Error,
  );
}

const ACCOUNT_KEY = /AccountKey=([^;]+)/.exec(azuriteConnectionString('h', 1))![1]!;

test('a container check against storage that is down names the endpoint and container, and what to do', async () => {
  const port = await freePort(); // nothing listens there
  const store = new AzureBlobStore({
    connectionString: azuriteConnectionString('127.0.0.1', port),
    container: 'raw-lake',
    maxTries: 1,
  });
  const err = await failure(store.ensureContainer());
  assert.ok(err instanceof BlobStoreError);
  assert.equal(err.retryable, true, 'a network failure is transient');
  assert.match(
    err.message,
    new RegExp(`^Cannot reach blob storage at http://127\\.0\\.0\\.1:${port}/devstoreaccount1 `),
  );
  assert.match(err.message, /container "raw-lake"/);
  assert.match(err.message, /npm run stack:up/);
  assert.match(err.message, /BlobEndpoint in the connection string/);
  assert.ok(!err.message.includes(ACCOUNT_KEY), 'the account key is never in a message');

  const put = await failure(store.putIfAbsent('tables/t/_manifests/1.json', '{}'));
  assert.match(put.message, /during the write of tables\/t\/_manifests\/1\.json in container "raw-lake"/);
});

test('an account URL with a SAS is named without its query', async () => {
  const port = await freePort();
  const store = new AzureBlobStore({
    connectionString: `BlobEndpoint=http://127.0.0.1:${port}/devstoreaccount1;SharedAccessSignature=sv=2024-01-01&sig=c2VjcmV0`,
    container: 'raw',
    maxTries: 1,
  });
  const err = await failure(store.get('x.json'));
  assert.match(err.message, new RegExp(`at http://127\\.0\\.0\\.1:${port}/devstoreaccount1 \\(`));
  assert.doesNotMatch(err.message, /sig=|c2VjcmV0|sv=2024/);
});
