import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, ENV, PASSWORD, invalid, issueAt, valid, variant } from './fixtures.js';

test('${NAME} is replaced by the variable, in any string value', () => {
  const config = valid(
    variant((d) => (d.source.database = '${DB}')),
    { ...ENV, DB: 'ClaimsProd' },
  );
  assert.equal(config.source.database, 'ClaimsProd');
});

test('a missing variable is an error at its path, naming the variable and the fix', () => {
  const issues = invalid(variant((d) => (d.source.database = '${TIDEMARK_DB}')));
  const issue = issueAt(issues, 'source.database');
  assert.match(issue.message, /environment variable TIDEMARK_DB is not set/);
  assert.match(issue.fix, /TIDEMARK_DB:-default/);
  assert.equal(issues.length, 1, 'the empty value it leaves is not reported a second time');
});

test('a missing secret variable is reported at the secret path', () => {
  const issues = invalid(BASE, { CONN: ENV.CONN });
  issueAt(issues, 'source.auth.password');
  assert.equal(issues.length, 1);
});

test('${NAME:-default} uses the default when the variable is unset or empty, the value otherwise', () => {
  const text = variant((d) => (d.temporal.namespace = '${NS:-claims-dev}'));
  assert.equal(valid(text).temporal.namespace, 'claims-dev');
  assert.equal(valid(text, { ...ENV, NS: '' }).temporal.namespace, 'claims-dev');
  assert.equal(valid(text, { ...ENV, NS: 'claims-prod' }).temporal.namespace, 'claims-prod');
});

test('interpolation works inside text and joins several variables', () => {
  const config = valid(
    variant((d) => (d.temporal.address = '${T_HOST}:${T_PORT:-7233}')),
    { ...ENV, T_HOST: 'temporal.local' },
  );
  assert.equal(config.temporal.address, 'temporal.local:7233');
});

test('numbers and booleans can come from the environment', () => {
  const config = valid(
    variant((d) => {
      d.source.port = '${PORT}';
      d.source.readOnlyIntent = '${RO}';
    }),
    { ...ENV, PORT: '14330', RO: 'false' },
  );
  assert.equal(config.source.port, 14330);
  assert.equal(config.source.readOnlyIntent, false);
});

test('$${ is a literal ${, and substituted values are not scanned again', () => {
  const config = valid(variant((d) => (d.source.appName = 'tm$${x}')));
  assert.equal(config.source.appName, 'tm${x}');
  const tricky = '${NOT_A_REF}';
  const again = valid(BASE, { ...ENV, PW: tricky });
  assert.equal(
    again.source.auth.type === 'sql-login' &&
      again.source.auth.password.kind === 'value' &&
      again.source.auth.password.value,
    tricky,
  );
});

test('malformed references are errors with the syntax in the fix', () => {
  const issues = invalid(
    variant((d) => {
      d.source.database = '${UNCLOSED';
      d.temporal.namespace = '${1BAD}';
    }),
  );
  assert.match(issueAt(issues, 'source.database').message, /not closed/);
  assert.match(issueAt(issues, 'temporal.namespace').message, /not a valid environment variable reference/);
});

test('a value from the environment is never echoed in a message', () => {
  const issues = invalid(variant((d) => (d.source.port = '${PW}')));
  const issue = issueAt(issues, 'source.port');
  assert.match(issue.message, /the value of \$\{PW\}/);
  assert.ok(!JSON.stringify(issues).includes(PASSWORD));
});

test('keys are not interpolated', () => {
  const issues = invalid(
    variant((d) => (d.source['${X}'] = 1)),
    { ...ENV, X: 'port' },
  );
  assert.match(issueAt(issues, 'source["${X}"]').message, /unknown key/);
});
