import { test } from 'node:test';
import assert from 'node:assert/strict';
import { maskConnectionString, maskSecrets, MASK, renderConfig } from '../../../src/config/index.js';
import { ACCOUNT_KEY, ENV, HASH_KEY, PASSWORD, valid, variant } from './fixtures.js';

const CLIENT_SECRET = 'cs~Very.Secret_0987';
const API_KEY = 'tmprl-apikey-ABCDEF123456';
const SAS = 'sv=2024-05-04&ss=b&srt=co&sp=rwl&se=2030-01-01&sig=SIGNATUREabc%3D';

function everySecretConfig() {
  return valid(
    variant((d) => {
      d.source.auth = {
        type: 'entra-service-principal',
        tenantId: '11111111-2222-3333-4444-555555555555',
        clientId: '66666666-7777-8888-9999-000000000000',
        clientSecret: '${CS}',
      };
      d.temporal.apiKey = '${API}';
      d.tables[0]!.phi = [{ columns: ['MemberId'], action: 'hash' }];
      d.privacy = { hashKey: '${HASH}' };
    }),
    { ...ENV, CS: CLIENT_SECRET, API: API_KEY },
  );
}

test('the resolved config really holds the secrets (so masking has something to do)', () => {
  const text = JSON.stringify(everySecretConfig());
  for (const secret of [CLIENT_SECRET, API_KEY, ACCOUNT_KEY, HASH_KEY]) assert.ok(text.includes(secret), secret);
});

test('maskSecrets masks every secret: client secret, API key, account key, hash key, password', () => {
  const masked = JSON.stringify(maskSecrets(everySecretConfig()));
  for (const secret of [CLIENT_SECRET, API_KEY, ACCOUNT_KEY, HASH_KEY]) assert.ok(!masked.includes(secret), secret);
  assert.ok(masked.includes(MASK));
  const withPassword = JSON.stringify(maskSecrets(valid(variant(() => undefined))));
  assert.ok(!withPassword.includes(PASSWORD));
});

test('masking keeps what an operator needs: endpoints, account name, where each secret comes from', () => {
  const rendered = renderConfig(everySecretConfig());
  assert.match(rendered, /AccountName=devstoreaccount1/);
  assert.match(rendered, /BlobEndpoint=http:\/\/127\.0\.0\.1:10000\/devstoreaccount1/);
  assert.match(rendered, /AccountKey=\[redacted\]/);
  assert.match(rendered, /clientSecret: "\[redacted\] \(from \$\{CS\}\)"/);
  assert.match(rendered, /apiKey: "\[redacted\] \(from \$\{API\}\)"/);
  assert.match(rendered, /cadence: 15m/, 'durations print as text');
  for (const secret of [CLIENT_SECRET, API_KEY, ACCOUNT_KEY, HASH_KEY]) assert.ok(!rendered.includes(secret), secret);
});

test('connection strings: SAS and unknown parts are masked (allow-list), public parts kept', () => {
  const masked = maskConnectionString(
    `BlobEndpoint=https://acct.blob.core.windows.net/;SharedAccessSignature=${SAS};SomeFutureSecret=xyz`,
  );
  assert.equal(
    masked,
    `BlobEndpoint=https://acct.blob.core.windows.net/;SharedAccessSignature=${MASK};SomeFutureSecret=${MASK}`,
  );
  assert.ok(!maskConnectionString(`BlobEndpoint=https://a.blob.core.windows.net/?${SAS}`).includes('SIGNATUREabc'));
});

test('Key Vault references are kept: they name a secret, they are not one', () => {
  const config = valid(
    variant((d) => {
      (d.source.auth as Record<string, unknown>).password = {
        keyVault: { vaultUrl: 'https://kv-tidemark.vault.azure.net', secretName: 'sql-password' },
      };
    }),
  );
  const rendered = renderConfig(config);
  assert.match(rendered, /keyVault:\s+vaultUrl: https:\/\/kv-tidemark\.vault\.azure\.net\s+secretName: sql-password/);
});

test('masking does not change the config it is given', () => {
  const config = everySecretConfig();
  const before = JSON.stringify(config);
  maskSecrets(config);
  assert.equal(JSON.stringify(config), before);
});
