import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  NATIVE_DECIMAL_MAX_PRECISION,
  dateToEpochNanos,
  mapColumn,
  parseDateTimeOffsetText,
} from '../../../src/source/type-mapping.js';
import { UnsupportedTypeError } from '../../../src/source/errors.js';
import { formatIdentityPosition, parseIdentityPosition } from '../../../src/source/strategies/identity.js';
import { textToTicks, ticksToText } from '../../../src/source/ticks.js';

const t = (typeName: string, precision = 0, scale = 0, maxLength = 0) => ({ typeName, precision, scale, maxLength });

test('decimals up to precision 15 are read natively and are exact through toFixed (tedious computes unscaled/10^s)', () => {
  for (let scale = 0; scale <= NATIVE_DECIMAL_MAX_PRECISION; scale++) {
    const r = mapColumn('t', 'c', t('decimal', NATIVE_DECIMAL_MAX_PRECISION, scale));
    assert.equal(r.readAsText, false);
    for (let i = 0; i < 2000; i++) {
      // a random 15-digit unscaled integer, as tedious turns it into a double
      const unscaled = BigInt(Math.floor(Math.random() * 1e15)) * (i % 2 ? -1n : 1n);
      const asDouble = Number(unscaled) / 10 ** scale;
      const digits = (unscaled < 0n ? -unscaled : unscaled).toString().padStart(scale + 1, '0');
      const exact =
        (unscaled < 0n ? '-' : '') +
        (scale ? `${digits.slice(0, digits.length - scale)}.${digits.slice(-scale)}` : digits);
      const got = r.decode(asDouble) as string;
      assert.equal(got.replace(/^-(0\.?0*)$/, '$1'), exact.replace(/^-(0\.?0*)$/, '$1'));
    }
  }
  assert.equal(mapColumn('t', 'c', t('decimal', 16, 2)).readAsText, true);
  assert.match(
    mapColumn('t', 'c', t('decimal', 38, 10)).selectSql('x'),
    /^CAST\(x\.\[c\] AS varchar\(41\)\) AS \[c\]$/,
  );
});

test('datetime2 keeps 100 ns through nanosecondsDelta; datetimeoffset text keeps the offset', () => {
  const d = new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 123));
  Object.defineProperty(d, 'nanosecondsDelta', { value: 4567 / 1e7 });
  assert.equal(dateToEpochNanos(d), BigInt(Date.UTC(2026, 0, 2, 3, 4, 5, 123)) * 1_000_000n + 456_700n);
  assert.deepEqual(parseDateTimeOffsetText('0001-01-01 00:00:00 +14:00'), {
    epochNanos: -62_135_596_800_000n * 1_000_000n - 14n * 3_600_000_000_000n,
    offsetMinutes: 840,
  });
});

test('unsupported types fail with the column named, not a value', () => {
  assert.throws(
    () => mapColumn('dbo.t', 'v', t('sql_variant')),
    (e: unknown) => {
      assert.ok(e instanceof UnsupportedTypeError);
      assert.match(e.message, /dbo\.t\.v: SQL type sql_variant/);
      return true;
    },
  );
});

test('positions: identity gaps and updated_at ticks round-trip and order as strings', () => {
  const p = { highWater: 105n, gaps: [{ lo: 100n, hi: 100n, seenAt: 1764000000 }] };
  assert.deepEqual(parseIdentityPosition(formatIdentityPosition(p)), p);
  assert.ok(formatIdentityPosition({ highWater: 99n, gaps: [] }) < formatIdentityPosition(p));
  for (const text of ['0001-01-01 00:00:00.0000000', '2026-11-24 14:00:35.5008318', '9999-12-31 23:59:59.9999999'])
    assert.equal(ticksToText(textToTicks(text)), text);
  assert.equal(textToTicks('0001-01-01 00:00:00.0000001'), 1n);
});
