import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import {
  AesGcmPayloadCodec,
  ENCRYPTED_ENCODING,
  KEY_ID_METADATA,
  PayloadDecryptionError,
  PayloadKeyError,
  parsePayloadKeys,
} from '../../../src/temporal/payload-codec.js';

const k1 = { id: 'k1', key: randomBytes(32) };
const k2 = { id: 'k2', key: randomBytes(32) };
const value = {
  table: 'Claims.dbo.ClaimLines',
  path: 'raw/Claims/dbo/ClaimLines/_manifests/00000042.json',
  position: '0000002a000001f40003',
};
const plain = (): Payload => defaultPayloadConverter.toPayload(value);
const str = (b: Uint8Array | null | undefined) => Buffer.from(b ?? []).toString('utf8');

test('a sealed payload round-trips and shows neither the value nor its inner encoding', async () => {
  const codec = new AesGcmPayloadCodec([k1]);
  const [sealed] = await codec.encode([plain()]);
  assert.equal(str(sealed!.metadata!.encoding), ENCRYPTED_ENCODING);
  assert.equal(str(sealed!.metadata![KEY_ID_METADATA]), 'k1');
  const bytes = Buffer.from(sealed!.data!);
  for (const needle of [value.table, value.path, value.position, 'json/plain'])
    assert.equal(bytes.includes(needle), false, `ciphertext contains ${needle}`);
  const [opened] = await codec.decode([sealed!]);
  assert.deepEqual(defaultPayloadConverter.fromPayload(opened!), value);
  const [again] = await codec.encode([plain()]);
  assert.notDeepEqual(Buffer.from(again!.data!), bytes, 'a fresh IV per payload');
});

test('rotation: the first key seals, older keys still open what they sealed; a dropped key is named', async () => {
  const [old] = await new AesGcmPayloadCodec([k1]).encode([plain()]);
  const rotated = new AesGcmPayloadCodec([k2, k1]);
  assert.deepEqual(defaultPayloadConverter.fromPayload((await rotated.decode([old!]))[0]!), value);
  const [fresh] = await rotated.encode([plain()]);
  assert.equal(str(fresh!.metadata![KEY_ID_METADATA]), 'k2');
  await assert.rejects(new AesGcmPayloadCodec([k2]).decode([old!]), (e: unknown) => {
    assert.ok(e instanceof PayloadDecryptionError);
    assert.match(e.message, /payload key 'k1', which this process does not have/);
    return true;
  });
});

test('a tampered or relabelled payload does not open', async () => {
  const codec = new AesGcmPayloadCodec([k1, { id: 'k1b', key: k1.key }]);
  const [sealed] = await codec.encode([plain()]);
  const flipped = Buffer.from(sealed!.data!);
  flipped[20] = flipped[20]! ^ 1;
  await assert.rejects(codec.decode([{ ...sealed!, data: flipped }]), PayloadDecryptionError);
  // Same key bytes under another id: the id is authenticated, so the relabelled payload is refused.
  const relabelled = { ...sealed!, metadata: { ...sealed!.metadata!, [KEY_ID_METADATA]: Buffer.from('k1b') } };
  await assert.rejects(codec.decode([relabelled]), PayloadDecryptionError);
});

test('payloads written before encryption was turned on pass through decode unchanged', async () => {
  const p = plain();
  assert.deepEqual(await new AesGcmPayloadCodec([k1]).decode([p]), [p]);
});

test('keys: id:base64 pairs, 32 bytes each, distinct ids, with messages that say what to do', () => {
  const b64 = randomBytes(32).toString('base64');
  const keys = parsePayloadKeys(`new:${b64}, old:${randomBytes(32).toString('base64')}`);
  assert.deepEqual(
    keys.map((k) => [k.id, k.key.length]),
    [
      ['new', 32],
      ['old', 32],
    ],
  );
  assert.throws(() => new AesGcmPayloadCodec(parsePayloadKeys(`a:${randomBytes(16).toString('base64')}`)), /32 bytes/);
  assert.throws(() => new AesGcmPayloadCodec(parsePayloadKeys(`a:${b64} a:${b64}`)), /given twice/);
  assert.throws(() => parsePayloadKeys(b64), PayloadKeyError);
  assert.throws(() => parsePayloadKeys('a:not-base64!'), /openssl rand -base64 32/);
});
