import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { defaultPayloadConverter } from '@temporalio/common';
import { AesGcmPayloadCodec } from '../../../src/temporal/payload-codec.js';
import { CodecServerConfigError, startCodecServer } from '../../../src/temporal/codec-server.js';

const codec = new AesGcmPayloadCodec([{ id: 'k1', key: randomBytes(32) }]);
const b64 = (b: Uint8Array | null | undefined) => Buffer.from(b ?? []).toString('base64');

async function sealedBody(): Promise<string> {
  const [p] = await codec.encode([defaultPayloadConverter.toPayload({ position: '0000002a' })]);
  const metadata = Object.fromEntries(Object.entries(p!.metadata!).map(([k, v]) => [k, b64(v)]));
  return JSON.stringify({ payloads: [{ metadata, data: b64(p!.data) }] });
}

test('the codec server decodes for a caller with the token, under a namespace prefix too, and refuses the rest', async () => {
  const server = await startCodecServer({ codec, port: 0, token: 's3cret', corsOrigins: ['http://localhost:8233'] });
  try {
    const body = await sealedBody();
    const post = (path: string, headers: Record<string, string> = {}) =>
      fetch(`${server.url}${path}`, {
        method: 'POST',
        body,
        headers: { 'Content-Type': 'application/json', ...headers },
      });
    assert.equal((await post('/decode')).status, 401, 'no token');
    assert.equal((await post('/decode', { Authorization: 'Bearer wrong' })).status, 401, 'wrong token');
    for (const path of ['/decode', '/default/decode']) {
      const ok = await post(path, { Authorization: 'Bearer s3cret' });
      assert.equal(ok.status, 200, path);
      const out = (await ok.json()) as { payloads: { data: string }[] };
      assert.deepEqual(JSON.parse(Buffer.from(out.payloads[0]!.data, 'base64').toString('utf8')), {
        position: '0000002a',
      });
    }
    assert.equal((await post('/other', { Authorization: 'Bearer s3cret' })).status, 404);
    assert.equal((await fetch(`${server.url}/decode`)).status, 405);
    const bad = await fetch(`${server.url}/decode`, {
      method: 'POST',
      body: '{',
      headers: { Authorization: 'Bearer s3cret' },
    });
    assert.equal(bad.status, 400);
    const pre = await fetch(`${server.url}/decode`, {
      method: 'OPTIONS',
      headers: { Origin: 'http://localhost:8233' },
    });
    assert.equal(pre.headers.get('access-control-allow-origin'), 'http://localhost:8233');
    const foreign = await fetch(`${server.url}/decode`, {
      method: 'OPTIONS',
      headers: { Origin: 'http://evil.example' },
    });
    assert.equal(foreign.headers.get('access-control-allow-origin'), null, 'other origins get no CORS grant');
  } finally {
    await server.close();
  }
});

test('off loopback the codec server will not start without a token', async () => {
  await assert.rejects(startCodecServer({ codec, port: 0, host: '0.0.0.0' }), CodecServerConfigError);
});
