import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { AzureBlobStore, classifyBlobError, md5OfBytes } from '../../../src/lake/blob-store.js';
import {
  BlobAccessDeniedError,
  BlobAlreadyExistsError,
  ConditionNotMetError,
  ContainerNotFoundError,
} from '../../../src/lake/errors.js';
import { freshStore, tempDir } from '../../support/lake.js';
import { azuriteForTests } from '../../support/stack.js';

test('putIfAbsent creates once; a second create is BlobAlreadyExistsError and leaves the first content', async () => {
  const { store } = await freshStore();
  const first = await store.putIfAbsent('a/b.json', '{"v":1}');
  assert.equal(first.md5, md5OfBytes(Buffer.from('{"v":1}')));
  await assert.rejects(store.putIfAbsent('a/b.json', '{"v":2}'), BlobAlreadyExistsError);
  const got = await store.get('a/b.json');
  assert.equal(got?.body.toString(), '{"v":1}');
  assert.equal(got?.etag, first.etag);
  assert.equal(await store.get('a/missing.json'), undefined);
  assert.equal(await store.exists('a/b.json'), true);
  assert.equal(await store.exists('a/missing.json'), false);
});

test('replaceIfMatch is a compare-and-swap on the ETag', async () => {
  const { store } = await freshStore();
  const v1 = await store.putIfAbsent('state.json', '1');
  const v2 = await store.replaceIfMatch('state.json', '2', v1.etag);
  await assert.rejects(store.replaceIfMatch('state.json', '3', v1.etag), ConditionNotMetError);
  assert.equal((await store.get('state.json'))?.body.toString(), '2');
  assert.notEqual(v2.etag, v1.etag);
});

test('streaming upload and download keep the MD5; an upload over an existing blob is refused', async () => {
  const { store } = await freshStore();
  const dir = tempDir();
  const src = join(dir, 'src.bin');
  const bytes = randomBytes(9 * 1024 * 1024 + 17); // more than two 4 MiB blocks
  writeFileSync(src, bytes);
  const up = await store.uploadFileIfAbsent('data/x.parquet', src);
  assert.equal(up.bytes, bytes.length);
  assert.equal(up.md5, md5OfBytes(bytes));
  await assert.rejects(store.uploadFileIfAbsent('data/x.parquet', src), BlobAlreadyExistsError);
  // The store's properties carry the size and the MD5 computed while uploading (what validation checks).
  assert.deepEqual(await store.properties('data/x.parquet'), { bytes: bytes.length, md5: up.md5 });
  assert.equal(await store.properties('data/missing.parquet'), undefined);
  const down = await store.downloadToFile('data/x.parquet', join(dir, 'down.bin'));
  assert.equal(down.md5, up.md5);
  assert.deepEqual(readFileSync(join(dir, 'down.bin')), bytes);
  const listed = [];
  for await (const item of store.list('data/')) listed.push(item);
  assert.deepEqual(
    listed.map((i) => [i.path, i.bytes, i.md5]),
    [['data/x.parquet', bytes.length, up.md5]],
  );
});

test('a missing container and bad credentials are permanent errors that say what to do', async () => {
  const connectionString = await azuriteForTests();
  const missing = new AzureBlobStore({ connectionString, container: `nope-${Date.now()}`, maxTries: 1 });
  await assert.rejects(missing.putIfAbsent('x', 'y'), (err: unknown) => {
    assert.ok(err instanceof ContainerNotFoundError);
    assert.equal(err.retryable, false);
    assert.match(err.message, /create it/);
    return true;
  });
  await assert.rejects(missing.exists('x'), ContainerNotFoundError);
  const wrongKey = connectionString.replace(/AccountKey=[^;]+/, `AccountKey=${randomBytes(64).toString('base64')}`);
  const denied = new AzureBlobStore({ connectionString: wrongKey, container: 'any', maxTries: 1 });
  await assert.rejects(denied.putIfAbsent('x', 'y'), (err: unknown) => {
    assert.ok(err instanceof BlobAccessDeniedError);
    assert.doesNotMatch(err.message, /AccountKey|Eby8/);
    return true;
  });
});

test('classification: 5xx, 429 and network errors are transient; others are permanent', () => {
  assert.equal(classifyBlobError({ statusCode: 503 }, 'put', 'p', 'c').retryable, true);
  assert.equal(classifyBlobError({ statusCode: 429 }, 'put', 'p', 'c').retryable, true);
  assert.equal(classifyBlobError({ code: 'ECONNREFUSED' }, 'get', 'p', 'c').retryable, true);
  assert.equal(classifyBlobError({ statusCode: 400, code: 'InvalidInput' }, 'put', 'p', 'c').retryable, false);
  assert.ok(classifyBlobError({ statusCode: 412 }, 'replace', 'p', 'c') instanceof ConditionNotMetError);
});
