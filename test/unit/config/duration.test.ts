import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDuration, parseDuration } from '../../../src/config/index.js';

test('durations parse to milliseconds with canonical text', () => {
  assert.deepEqual(parseDuration('15m'), { ms: 900_000, text: '15m' });
  assert.deepEqual(parseDuration('30s'), { ms: 30_000, text: '30s' });
  assert.deepEqual(parseDuration('2h'), { ms: 7_200_000, text: '2h' });
  assert.deepEqual(parseDuration('30d'), { ms: 2_592_000_000, text: '30d' });
  assert.deepEqual(parseDuration('500ms'), { ms: 500, text: '500ms' });
  assert.deepEqual(parseDuration('90m'), { ms: 5_400_000, text: '1h30m' });
  assert.deepEqual(parseDuration('1h30m'), { ms: 5_400_000, text: '1h30m' });
  assert.deepEqual(parseDuration('0s'), { ms: 0, text: '0s' });
});

test('bare numbers, decimals, unknown units and words are not durations', () => {
  for (const text of ['15', '1.5h', '15 minutes', '15M', '-5m', 'm', '', '1w', '5mm']) {
    assert.equal(parseDuration(text), undefined, text);
  }
});

test('formatDuration puts the largest units first', () => {
  assert.equal(formatDuration(86_400_000 + 61_000), '1d1m1s');
  assert.equal(formatDuration(0), '0s');
});
