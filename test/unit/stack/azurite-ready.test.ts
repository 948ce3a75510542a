/**
 * Azurite's start waits for it to answer, long enough for a loaded machine (issue 14: a 30 s deadline failed four
 * bench starts beside test runs), and when it does give up, it says what to do and leaves no Azurite behind.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  AZURITE_READY_ENV,
  azuriteAnswers,
  azuriteReadyTimeoutMs,
  startAzurite,
} from '../../../scripts/stack/azurite.js';
import { freePort, portIsOpen } from '../../../scripts/stack/process.js';

test('the start waits 120 s by default, or the seconds TIDEMARK_AZURITE_READY_TIMEOUT_S says', () => {
  assert.equal(azuriteReadyTimeoutMs({}), 120_000);
  assert.equal(azuriteReadyTimeoutMs({ [AZURITE_READY_ENV]: '300' }), 300_000);
  assert.throws(() => azuriteReadyTimeoutMs({ [AZURITE_READY_ENV]: 'soon' }), /not a number of seconds: set it to/);
});

test('a start that runs out of time says what to do and stops the Azurite it spawned', async () => {
  const port = await freePort();
  const logFile = join(tmpdir(), `tidemark-azurite-ready-${process.pid}.log`);
  await assert.rejects(
    startAzurite({ host: '127.0.0.1', port, logFile, detached: false, readyTimeoutMs: 1 }),
    (e: Error) => {
      assert.match(e.message, /Azurite was not ready after 0 s/);
      assert.match(
        e.message,
        /wait for them to end and start again, or give it longer with TIDEMARK_AZURITE_READY_TIMEOUT_S/,
      );
      return true;
    },
  );
  // The half-started Azurite is gone: nothing comes to listen on its port.
  await sleep(3000);
  assert.equal(await portIsOpen('127.0.0.1', port), false, 'no Azurite left listening');
});

test('a start returns once Azurite answers HTTP', async () => {
  const port = await freePort();
  const logFile = join(tmpdir(), `tidemark-azurite-ready-${process.pid}-ok.log`);
  const service = await startAzurite({ host: '127.0.0.1', port, logFile, detached: false });
  try {
    assert.equal(await azuriteAnswers('127.0.0.1', port), true);
  } finally {
    service.child.kill('SIGTERM');
  }
});
