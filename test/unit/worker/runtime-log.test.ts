/**
 * The Temporal SDK's own log entries in the worker's log (installRuntimeLogger, src/worker-runtime-log.ts): an
 * activity this worker does not register — a newer version's, during a rolling upgrade — is one WARN line that
 * names the upgrade, without the task's encoded input; every other SDK error stays an ERROR with its error.
 *
 * The entries are logged through the installed Runtime's logger, as the SDK's worker logs them (the message and
 * metadata are what @temporalio/worker 1.24 writes for a task it cannot start: worker.js, "Error while processing
 * ActivityTask.start"); test/e2e/sub-range-upgrade.test.ts sees the same line from a real worker.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, test } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { Runtime } from '@temporalio/worker';
import { installRuntimeLogger } from '../../../src/worker.js';
import { createLogger } from '../../../src/util/logger.js';

// The installed Runtime keeps the process alive: shut it down so the test file ends.
after(() => Runtime.instance().shutdown());

const lines: Record<string, unknown>[] = [];
const destination = new Writable({
  write(chunk: Buffer, _enc, done) {
    for (const l of chunk.toString().split('\n')) if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
    done();
  },
});
installRuntimeLogger(createLogger({ name: 'runtime-log-test', level: 'debug', destination }));
/** The lines, once `n` have arrived (the Runtime's logger hands entries over asynchronously). */
const logged = async (n: number) => {
  for (let k = 0; k < 100 && lines.length < n; k++) await new Promise((r) => setTimeout(r, 20));
  await new Promise((r) => setTimeout(r, 50)); // and no more than n
  return lines;
};

test('an activity this worker does not register (a rolling upgrade) is one WARN line naming the upgrade, without the task', async () => {
  lines.length = 0;
  const message =
    'Activity function extractSubRange is not registered on this Worker, available activities: ["planWindow","extractWindow"]';
  const error = ApplicationFailure.create({ type: 'NotFoundError', message, nonRetryable: false });
  Runtime.instance().logger.error(`Error while processing ActivityTask.start: ${message}`, {
    sdkComponent: 'worker',
    taskQueue: 'tidemark',
    activityId: '7',
    activityType: 'extractSubRange',
    attempt: 3,
    workflowId: 'tidemark-table-Claims.dbo.Notes',
    error,
    task: JSON.stringify({ start: { input: [{ data: 'eyJ3aW5kb3ciOnt9fQ==' }] } }),
    taskEncoded: 'CgR0YXNrEgdleHRyYWN0U3ViUmFuZ2U=',
  });
  assert.equal((await logged(1)).length, 1, JSON.stringify(lines));
  const line = lines[0]!;
  assert.equal(line.level, 'warn', 'expected during an upgrade: not an ERROR');
  assert.match(String(line.msg), /extractSubRange is not registered on this worker: a newer Tidemark version/);
  assert.match(String(line.msg), /rolling upgrade/);
  assert.match(String(line.msg), /Rolling upgrades and sub-range reads/);
  assert.equal(line.activityType, 'extractSubRange');
  assert.equal(line.workflowId, 'tidemark-table-Claims.dbo.Notes');
  assert.equal(line.attempt, 3);
  assert.equal(line.errorType, 'NotFoundError');
  assert.equal(line.component, 'temporal');
  for (const key of ['task', 'taskEncoded', 'error']) assert.equal(line[key], undefined, `no ${key} in the line`);
  assert.ok(!JSON.stringify(line).includes('eyJ3aW5kb3ciOnt9fQ=='), 'no activity input');
});

test('any other SDK error stays an ERROR with its error message', async () => {
  lines.length = 0;
  const message = 'Failed to parse activity args for activity extractWindow: Unexpected token';
  Runtime.instance().logger.error(`Error while processing ActivityTask.start: ${message}`, {
    activityType: 'extractWindow',
    error: ApplicationFailure.create({ message, nonRetryable: false }),
  });
  Runtime.instance().logger.warn('Activity failed', { activityType: 'planWindow', error: new Error('source down') });
  assert.deepEqual(
    (await logged(2)).map((l) => l.level),
    ['error', 'warn'],
  );
  assert.match(String(lines[0]!.msg), /^Error while processing ActivityTask\.start: Failed to parse/);
  assert.match(String((lines[0]!.error as { message?: string }).message), /Failed to parse activity args/);
  assert.match(String((lines[1]!.error as { message?: string }).message), /source down/);
});
