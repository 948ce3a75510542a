import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  LakeValueError,
  dateToDays,
  decimalToUnscaled,
  smallDecimalTextToUnscaled,
  storedTimestamp,
  timeText,
  uuidText,
} from '../../../src/lake/lake-types.js';
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
  assert.deepEqual(storedTimestamp('t', 1_000_000_100n, 7), { micros: 1_000_000n, hundredNs: 1 });
  assert.deepEqual(storedTimestamp('t', 1_000_000_000n, 6), { micros: 1_000_000n, hundredNs: 0 });
  assert.throws(() => storedTimestamp('t', 1_000_000_100n, 6), /finer/);
  // Before 1970 the microseconds are floored, so the 100 ns digit stays 0..9: -100 ns = -1 µs + 9 × 100 ns.
  assert.deepEqual(storedTimestamp('t', -100n, 7), { micros: -1n, hundredNs: 9 });
  assert.deepEqual(storedTimestamp('t', -1_000n, 7), { micros: -1n, hundredNs: 0 });
  // 0001-01-01 and 9999-12-31T23:59:59.9999999 (a period-end sentinel) both fit.
  const sentinel = 253402300799n * 1_000_000_000n + 999_999_900n;
  assert.deepEqual(storedTimestamp('t', sentinel, 7), { micros: 253402300799_999_999n, hundredNs: 9 });
  const first = -62135596800n * 1_000_000_000n;
  assert.deepEqual(storedTimestamp('t', first, 7), { micros: -62135596800_000_000n, hundredNs: 0 });
});

test('time as fixed-width text with 7 digits; uuid as lowercase text', () => {
  assert.equal(timeText('t', 0n, 0), '00:00:00.0000000');
  assert.equal(timeText('t', 86_399_999_999_900n, 7), '23:59:59.9999999');
  assert.equal(timeText('t', 3_723_400_000_000n, 3), '01:02:03.4000000');
  assert.throws(() => timeText('t', 3_723_400_000_100n, 6), /finer/);
  assert.throws(() => timeText('t', 86_400_000_000_000n, 7), /outside/);
  assert.equal(uuidText('u', '6F9619FF-8B86-D011-B42D-00C04FC964FF'), '6f9619ff-8b86-d011-b42d-00c04fc964ff');
  assert.throws(() => uuidText('u', 'not-a-uuid'), LakeValueError);
});

test('the writer fast path for short decimal text agrees with the exact parse, or declines', () => {
  const texts = ['0.29', '-1.50', '1', '-0', '-0.00', '0.5', '12.3', '999999999.99', '1234567.89', '1.234'];
  texts.push('12.300', '+1.00', '.5', '1.', '-', '', ' 1.00', '1e5', '0001.00', '99999999999999.99', '9999999.99');
  texts.push('10000000.00', '123456789012345', '-9999999999999.9');
  for (let i = 0; i < 2000; i++) texts.push(((i * 7919) % 100003) / 100 - 400 + '', (i * 0.37 - 300).toFixed(2));
  for (const [precision, scale] of [
    [9, 2],
    [18, 2],
    [4, 0],
    [15, 3],
    [38, 2],
  ] as const) {
    for (const text of texts) {
      let exact: bigint | undefined;
      try {
        exact = decimalToUnscaled('c', text, precision, scale);
      } catch {
        exact = undefined;
      }
      const fast = smallDecimalTextToUnscaled(text, precision, scale);
      if (fast !== undefined) {
        assert.equal(exact, BigInt(fast), `${text} at (${precision},${scale})`);
        assert.ok(Object.is(fast, 0) || fast !== 0, 'never -0');
      }
    }
  }
  // The common case does take the fast path.
  assert.equal(smallDecimalTextToUnscaled('150.25', 18, 2), 15025);
  assert.equal(smallDecimalTextToUnscaled('-0.07', 9, 2), -7);
  assert.equal(smallDecimalTextToUnscaled('1', 9, 2), 100);
});

test('storedTimestamp splits exactly like the floor division it replaces, for every digit count', () => {
  const reference = (ns: bigint, digits: number) => {
    if (ns % 10n ** BigInt(9 - digits) !== 0n) return 'finer';
    let micros = ns / 1000n;
    if (ns < 0n && micros * 1000n !== ns) micros -= 1n;
    return { micros, hundredNs: Number((ns - micros * 1000n) / 100n) };
  };
  const values: bigint[] = [0n, 1n, -1n, 100n, -100n, 999n, -999n, 1000n, -1000n, -1001n, 1_764_000_000_123_456_700n];
  for (let i = 0; i < 500; i++) {
    const v = BigInt(i * 7_919_113) * BigInt(10 ** (i % 8)) * (i % 2 ? -1n : 1n);
    values.push(v, v + 100n, v - 1_000n, v * 1000n);
  }
  for (const digits of [0, 1, 2, 3, 4, 5, 6, 7])
    for (const ns of values) {
      const want = reference(ns, digits);
      if (want === 'finer') assert.throws(() => storedTimestamp('t', ns, digits), /finer/, `${ns} (${digits})`);
      else assert.deepEqual(storedTimestamp('t', ns, digits), want, `${ns} (${digits})`);
    }
});
