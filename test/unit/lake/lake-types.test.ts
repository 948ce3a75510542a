import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LakeValueError, dateToDays, decimalToUnscaled, timestampToUnit } from '../../../src/lake/lake-types.js';
import { unscaledToDecimalText } from '../../../src/domain/values.js';

test('decimals parse exactly, pad to the scale, and never round', () => {
  assert.equal(decimalToUnscaled('c', '0.29', 18, 2), 29n);
  assert.equal(decimalToUnscaled('c', '-1.5', 18, 2), -150n);
  assert.equal(decimalToUnscaled('c', '12.300', 18, 2), 1230n);
  assert.throws(() => decimalToUnscaled('c', { unscaled: 12345n, scale: 4 }, 18, 2), LakeValueError);
  assert.equal(decimalToUnscaled('c', { unscaled: 12300n, scale: 4 }, 18, 2), 123n);
  assert.throws(() => decimalToUnscaled('c', '12.345', 18, 2), LakeValueError);
  assert.throws(() => decimalToUnscaled('c', '1e5', 18, 2), LakeValueError);
  assert.throws(() => decimalToUnscaled('c', '123456789012345678', 18, 2), /precision 18/);
  const big = '99999999999999999999999999999999999.999';
  assert.equal(unscaledToDecimalText(decimalToUnscaled('c', big, 38, 3), 3), big);
  assert.equal(unscaledToDecimalText(-5n, 2), '-0.05');
});

test('errors name the column and the reason, never the value', () => {
  try {
    decimalToUnscaled('billed_amount', '123456.789', 18, 2);
    assert.fail('expected an error');
  } catch (err) {
    assert.ok(err instanceof LakeValueError);
    assert.equal(err.column, 'billed_amount');
    assert.doesNotMatch(err.message, /123456/);
  }
});

test('dates and timestamps', () => {
  assert.equal(dateToDays('d', '1970-01-02'), 1);
  assert.equal(dateToDays('d', '0001-01-01'), -719162);
  assert.throws(() => dateToDays('d', '2026-02-30'), LakeValueError);
  assert.equal(timestampToUnit('t', 1_000_000_100n, 7), 1_000_000_100n);
  assert.equal(timestampToUnit('t', 1_000_000_000n, 6), 1_000_000n);
  assert.throws(() => timestampToUnit('t', 1_000_000_100n, 6), /finer/);
});
