import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nodeMajor, nodeRuntimeWarning } from '../../../src/util/node-runtime.js';

test('nodeMajor reads the major of a process.version string', () => {
  assert.equal(nodeMajor('v24.21.0'), 24);
  assert.equal(nodeMajor('20.20.2'), 20);
  assert.ok(Number.isNaN(nodeMajor('nightly')));
});

test('a worker on Node 20 is warned, with the version to run instead; Node 22 and later are not', () => {
  const w = nodeRuntimeWarning('v20.20.2');
  assert.ok(w, 'Node 20 gets a warning');
  assert.match(w, /v20\.20\.2/);
  assert.match(w, /end of life/);
  assert.match(w, /Node 24/);
  assert.equal(nodeRuntimeWarning('v22.12.0'), null);
  assert.equal(nodeRuntimeWarning('v24.21.0'), null);
  // Something unreadable is not second-guessed.
  assert.equal(nodeRuntimeWarning('nightly'), null);
});

test(
  "npm scripts run on the Node that npm install pins, not the machine's",
  { skip: !process.env.npm_lifecycle_event },
  () => {
    // Through npm (`npm test`, `npm run worker`), node_modules/.bin/node — package.json devDependency `node`, Node 24
    // — comes first on PATH; a file run by hand with another node is skipped.
    assert.equal(nodeRuntimeWarning(process.version), null, `npm ran the tests on ${process.version}`);
  },
);
