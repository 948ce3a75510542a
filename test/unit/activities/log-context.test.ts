/**
 * Log correlation (issue 16): what an activity logs — through the deps' logger, a child logger or a module far
 * below, after awaits — carries the table, the window (or job and chunk), the workflow and activity ids, once each.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { MockActivityEnvironment } from '@temporalio/testing';
import { logContextInterceptor, withLogContext } from '../../../src/activities/log-context.js';
import { createLogger } from '../../../src/util/logger.js';

function capture() {
  const stream = new PassThrough();
  const raw: string[] = [];
  stream.on('data', (chunk: Buffer) => raw.push(...chunk.toString('utf8').split('\n').filter(Boolean)));
  return { logger: createLogger({ name: 'test', destination: stream, level: 'debug' }), raw };
}

const INFO = {
  activityId: '7',
  activityType: 'commitManifest',
  workflowExecution: { workflowId: 'table-sync/Claims.dbo.Claims', runId: 'run-1' },
};

test("a window's activity: every line carries table, window, workflow and activity ids, each once", async () => {
  const { logger, raw } = capture();
  const activity = withLogContext(async (input: { table: { id: string }; window: { seq: number; kind: string } }) => {
    logger.info('root logger, before an await');
    await sleep(5);
    logger.child({ table: input.table.id }).info({ rows: 3 }, 'child logger with its own table binding');
    await Promise.resolve().then(() => logger.debug('in a continuation'));
  });
  const env = new MockActivityEnvironment(INFO);
  await env.run(activity, { table: { id: 'Claims.dbo.Claims' }, window: { seq: 12, kind: 'changes' } });
  logger.info('after the activity');
  assert.equal(raw.length, 4);
  for (const line of raw.slice(0, 3)) {
    const l = JSON.parse(line) as Record<string, unknown>;
    assert.equal(l.table, 'Claims.dbo.Claims', line);
    assert.equal(l.window, 12, line);
    assert.equal(l.workflowId, 'table-sync/Claims.dbo.Claims', line);
    assert.equal(l.runId, 'run-1', line);
    assert.equal(l.activityId, '7', line);
    assert.equal(l.activityType, 'commitManifest', line);
    assert.equal(l.job, undefined, line);
    assert.equal(line.split('"table":').length, 2, `table once: ${line}`);
  }
  const outside = JSON.parse(raw[3]!) as Record<string, unknown>;
  assert.equal(outside.table, undefined, 'nothing leaks out of the activity');
  assert.equal(outside.workflowId, undefined);
});

test("a job's chunk: the job kind and chunk index (the job id is its workflow id)", async () => {
  const { logger, raw } = capture();
  const activity = withLogContext(async (_input: object) => {
    await sleep(1);
    logger.info({ table: 'Claims.dbo.Claims' }, 'a line with its own table field');
  });
  const env = new MockActivityEnvironment({
    ...INFO,
    activityType: 'runChunk',
    workflowExecution: { workflowId: 'snapshot/Claims.dbo.Claims/initial', runId: 'run-2' },
  });
  await env.run(activity, {
    table: { id: 'Claims.dbo.Claims' },
    job: { kind: 'snapshot' as const, reason: 'initial' },
    chunk: { index: 3, after: null, upTo: null },
    firstSeq: 5,
  });
  const l = JSON.parse(raw[0]!) as Record<string, unknown>;
  assert.equal(l.job, 'snapshot');
  assert.equal(l.chunk, 3);
  assert.equal(l.workflowId, 'snapshot/Claims.dbo.Claims/initial');
  assert.equal(l.activityId, '7');
  assert.equal(raw[0]!.split('"table":').length, 2, `table once: ${raw[0]}`);
});

test("the SDK's own activity log lines (Activity failed) get the table and window through its interceptor", async () => {
  const interceptors = logContextInterceptor({} as never);
  const input = { table: { id: 'Claims.dbo.Claims' }, window: { seq: 9, kind: 'snapshot', keyRange: { index: 2 } } };
  await interceptors.inbound!.execute!({ args: [input], headers: {} }, () => Promise.resolve(undefined));
  const attributes = interceptors.outbound!.getLogAttributes!({ activityId: '7', workflowId: 'w' }, (a) => a);
  assert.deepEqual(attributes, {
    activityId: '7',
    workflowId: 'w',
    table: 'Claims.dbo.Claims',
    window: 9,
    job: 'snapshot',
    chunk: 2,
  });
});
