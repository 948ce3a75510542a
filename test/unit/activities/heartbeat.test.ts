/**
 * The activities' heartbeat ticker (src/activities/heartbeat.ts) in a mock activity context: an activity that
 * records no heartbeat for longer than its heartbeat timeout — a read asleep in the rows/s throttle — still
 * heartbeats, with the latest details it recorded.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { MockActivityEnvironment } from '@temporalio/testing';
import { heartbeat, keepAlive, tickMs } from '../../../src/activities/heartbeat.js';

test('an activity silent for 4 heartbeat timeouts heartbeats on time, repeating its latest details', async () => {
  const env = new MockActivityEnvironment({ heartbeatTimeoutMs: 400 });
  const beats: { at: number; details: unknown }[] = [];
  env.on('heartbeat', (details: unknown) => beats.push({ at: Date.now(), details }));
  const t0 = Date.now();
  const slowRead = keepAlive(async (_input: object) => {
    heartbeat({ segments: 1 });
    await sleep(1600); // e.g. one 5,000-row batch at 15 rows/s sleeps minutes in the throttle
    return 'done';
  });
  assert.equal(await env.run(slowRead, {}), 'done');
  const end = Date.now();
  const times = [t0, ...beats.map((b) => b.at), end];
  const longestSilence = Math.max(...times.slice(1).map((t, i) => t - times[i]!));
  assert.ok(longestSilence < 400, `never silent for the heartbeat timeout (longest gap ${longestSilence} ms)`);
  assert.ok(beats.every((b) => JSON.stringify(b.details) === '{"segments":1}'));
  const count = beats.length;
  await sleep(300);
  assert.equal(beats.length, count, 'the ticker stops with the activity');
});

test('until the activity records details, the ticker repeats the previous attempt’s (a retry keeps them)', async () => {
  const env = new MockActivityEnvironment({ heartbeatTimeoutMs: 400, heartbeatDetails: { segments: 3 } });
  const beats: unknown[] = [];
  env.on('heartbeat', (d: unknown) => beats.push(d));
  await env.run(
    keepAlive(() => sleep(300)),
    {},
  );
  assert.ok(beats.length > 0);
  assert.ok(beats.every((d) => JSON.stringify(d) === '{"segments":3}'));
});

test('tick: a quarter of the heartbeat timeout, between 200 ms and 5 s', () => {
  assert.equal(tickMs(30_000), 5000);
  assert.equal(tickMs(2000), 500);
  assert.equal(tickMs(100), 200);
  assert.equal(tickMs(undefined), 5000);
});
