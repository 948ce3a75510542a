import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BlobServiceClient } from '@azure/storage-blob';
import { freePort, isAlive, portIsOpen } from '../../../scripts/stack/process.js';
import { stackDown, stackStatus, stackUp, readStackState } from '../../../scripts/stack/stack.js';
import { azuriteForTests } from '../../support/stack.js';

// The Temporal binaries are installed once into the project's own .tidemark/venv.
const toolsDir = join(process.cwd(), '.tidemark');

test('stack up starts Azurite and Temporal with its Web UI, status sees them, down leaves no process behind', async () => {
  const stateDir = mkdtempSync(join(tmpdir(), 'tidemark-stack-'));
  const [azuritePort, temporalPort, temporalUiPort] = [await freePort(), await freePort(), await freePort()];
  const lines: string[] = [];
  const state = await stackUp(
    { stateDir, toolsDir, host: '127.0.0.1', azuritePort, temporalPort, temporalUiPort },
    (l) => lines.push(l),
  );
  try {
    assert.equal(state.temporalUi, `http://127.0.0.1:${temporalUiPort}`);
    const ui = await fetch(state.temporalUi);
    assert.equal(ui.status, 200, 'the Temporal Web UI answers');
    const blob = BlobServiceClient.fromConnectionString(state.azuriteConnectionString);
    const container = blob.getContainerClient(`stack-${Date.now()}`);
    await container.create();
    await container.getBlockBlobClient('hello.txt').upload('hi', 2);
    const body = await container.getBlockBlobClient('hello.txt').downloadToBuffer();
    assert.equal(body.toString(), 'hi', 'Azurite stores and returns a blob');
    const status = await stackStatus(stateDir);
    assert.deepEqual(
      status.map((s) => [s.name, s.running, s.listening]),
      [
        ['azurite', true, true],
        ['temporal', true, true],
      ],
    );
    // A second `up` while running does not start duplicates.
    const again = await stackUp(
      { stateDir, toolsDir, host: '127.0.0.1', azuritePort, temporalPort, temporalUiPort },
      () => {},
    );
    assert.deepEqual(
      again.services.map((s) => s.pid),
      state.services.map((s) => s.pid),
    );
  } finally {
    const results = await stackDown(stateDir);
    assert.deepEqual(results.map((r) => r.name).sort(), ['azurite', 'temporal']);
  }
  for (const s of state.services) assert.equal(isAlive(s.pid), false, `${s.name} (pid ${s.pid}) is gone`);
  for (const port of [azuritePort, temporalPort, temporalUiPort])
    assert.equal(await portIsOpen('127.0.0.1', port), false);
  assert.equal(readStackState(stateDir), undefined);
});

test('a port already in use is reported with what to do, and nothing is left running', async () => {
  const stateDir = mkdtempSync(join(tmpdir(), 'tidemark-stack-'));
  const busy = new URL(`http://${/BlobEndpoint=http:\/\/([^/]+)/.exec(await azuriteForTests())?.[1]}`);
  await assert.rejects(
    stackUp(
      {
        stateDir,
        host: '127.0.0.1',
        azuritePort: Number(busy.port),
        temporalPort: await freePort(),
        temporalUiPort: await freePort(),
      },
      () => {},
    ),
    /Port \d+ on 127\.0\.0\.1 is already in use.*stack:down/s,
  );
  assert.equal(readStackState(stateDir), undefined);
});
