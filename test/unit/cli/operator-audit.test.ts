/** The parts of the operator audit that need no storage: the Entra principal, config digests, `--since`. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSince } from '../../../src/cli/audit.js';
import { auditedConfig, principalOfToken } from '../../../src/cli/support/operator-audit.js';
import { parseDuration } from '../../../src/config/duration.js';
import { parseConfig } from '../../../src/config/index.js';

const jwt = (claims: object) =>
  ['e30', Buffer.from(JSON.stringify(claims)).toString('base64url'), 'c2lnbmF0dXJl'].join('.');

test('the Entra principal is read from the storage token: user, or the app of a managed identity', () => {
  assert.deepEqual(principalOfToken(jwt({ oid: 'o-1', tid: 't-1', upn: 'ops@example.org', appid: 'a-1' })), {
    objectId: 'o-1',
    tenantId: 't-1',
    name: 'ops@example.org',
    appId: 'a-1',
  });
  assert.deepEqual(principalOfToken(jwt({ oid: 'o-2', azp: 'mi-app' })), { objectId: 'o-2', appId: 'mi-app' });
  assert.equal(principalOfToken('not-a-token'), undefined);
  assert.equal(principalOfToken(jwt({})), undefined);
});

const yaml = (password: string, cadence = '15m') => ({
  text: `
source: { host: 127.0.0.1, database: Claims, auth: { type: sql-login, user: x, password: '\${PW}' } }
sink: { connectionString: '\${CONN}', container: raw }
temporal: { address: 127.0.0.1:7233 }
tables:
  - { name: dbo.Claims, capture: cdc, cadence: ${cadence} }
`,
  env: {
    PW: password,
    CONN: `AccountName=a;AccountKey=${Buffer.from(password).toString('base64')};BlobEndpoint=http://127.0.0.1:1/a`,
  },
});

function digests(password: string, cadence?: string) {
  const { text, env } = yaml(password, cadence);
  const r = parseConfig(text, env);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return auditedConfig(r.config, '/etc/tidemark.yaml');
}

test('config digests: a rotated secret is no change and never digested; a changed table is named', () => {
  const a = digests('first-Secret-1');
  const b = digests('second-Secret-2');
  assert.equal(a.digest, b.digest, 'secrets are masked before digesting');
  const c = digests('first-Secret-1', '5m');
  const changed = Object.keys(a.sections).filter((k) => a.sections[k] !== c.sections[k]);
  assert.deepEqual(changed, ['tables/Claims.dbo.Claims']);
});

test('--since takes a date, a time or a duration back from now', () => {
  const now = new Date('2026-12-06T12:00:00Z');
  assert.equal(parseSince('2026-12-01', now, parseDuration).toISOString(), '2026-12-01T00:00:00.000Z');
  assert.equal(parseSince('2026-12-01T08:00Z', now, parseDuration).toISOString(), '2026-12-01T08:00:00.000Z');
  assert.equal(parseSince('24h', now, parseDuration).toISOString(), '2026-12-05T12:00:00.000Z');
  assert.throws(() => parseSince('last week', now, parseDuration), /neither a date\/time nor a duration/);
});
