import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { createLogger, maskSecretsInText, withContext, withSerializedErrors } from '../../../src/util/logger.js';

function capture(phiColumns: string[] = []) {
  const stream = new PassThrough();
  const lines: Record<string, unknown>[] = [];
  stream.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n'))
      if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
  });
  return { logger: createLogger({ name: 'test', destination: stream, phiColumns, level: 'debug' }), lines };
}

test('secrets are censored at any nesting depth we log', () => {
  const { logger, lines } = capture();
  logger.info({ source: { auth: { password: 'hunter2' } }, sink: { connectionString: 'AccountKey=abc' } }, 'cfg');
  const text = JSON.stringify(lines);
  assert.ok(!text.includes('hunter2'), text);
  assert.ok(!text.includes('AccountKey=abc'), text);
  assert.match(text, /\[redacted\]/);
});

test('configured PHI columns are censored', () => {
  const { logger, lines } = capture(['PatientName', 'member_ssn']);
  logger.warn({ row: { ClaimId: 7, PatientName: 'Jane Roe', member_ssn: '123-45-6789' } }, 'bad row');
  const text = JSON.stringify(lines);
  assert.ok(!text.includes('Jane Roe'));
  assert.ok(!text.includes('123-45-6789'));
  assert.ok(text.includes('"ClaimId":7'), 'non-PHI columns stay visible');
});

test('correlation fields are carried by child loggers', () => {
  const { logger, lines } = capture();
  withContext(logger, { table: 'dbo.Claims', window: 12, workflowId: 'table-sync/x' }).info('committed');
  assert.equal(lines[0]?.table, 'dbo.Claims');
  assert.equal(lines[0]?.window, 12);
  assert.equal(lines[0]?.workflowId, 'table-sync/x');
  assert.equal(lines[0]?.level, 'info');
});

test('credentials inside free text are masked', () => {
  const masked = maskSecretsInText(
    'DefaultEndpointsProtocol=http;AccountName=dev;AccountKey=Eby8vdM02x==;BlobEndpoint=http://x Password=p@ss; https://a/b?sv=1&sig=SECRETSIG',
  );
  assert.ok(!masked.includes('Eby8vdM02x'));
  assert.ok(!masked.includes('p@ss'));
  assert.ok(!masked.includes('SECRETSIG'));
  assert.ok(masked.includes('AccountName=dev'));
});

test('errors in other libraries’ log metadata keep their message, with credentials masked', () => {
  const { logger, lines } = capture();
  const cause = new Error('login failed; Server=db;Password=hunter2;');
  const error = Object.assign(new Error('cannot connect to the source', { cause }), { type: 'SourceConnectError' });
  // What the Temporal SDK logs for a failed activity: the error under `error`, not pino's `err`.
  logger.warn(withSerializedErrors({ error, durationMs: 12, activityType: 'planWindow' }), 'Activity failed');
  const logged = lines[0]?.error as { type?: string; message?: string; stack?: string };
  assert.match(logged.message ?? '', /^cannot connect to the source: login failed; Server=db;Password=\[redacted\];/);
  assert.equal(logged.type, 'SourceConnectError');
  assert.equal(lines[0]?.durationMs, 12);
  assert.ok(!JSON.stringify(lines).includes('hunter2'));
});
