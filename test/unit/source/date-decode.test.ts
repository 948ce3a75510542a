/**
 * The driver's datetime2 / date shortcut (src/source/date-decode.ts) reads every value exactly as tedious' own
 * reader does — epoch milliseconds and `nanosecondsDelta` — by calling both on the same bytes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  driverValueReader,
  fastDateDecodeInstalled,
  installFastDateDecode,
  type DriverValueReader,
} from '../../../src/source/date-decode.js';

type Read = DriverValueReader['valueParser']['readValue'];

/**
 * Runs `fn` with the shortcut installed on the driver's reader — `fast` the wrapped readValue, `original` tedious'
 * own — and checks that restoring it puts tedious' reader back.
 */
function withShortcut(fn: (fast: Read, original: Read, reader: DriverValueReader) => void): void {
  const reader = driverValueReader();
  const original: Read = reader.valueParser.readValue;
  const result = installFastDateDecode(reader);
  assert.ok(result.installed, result.installed ? '' : result.reason);
  try {
    const fast = reader.valueParser.readValue;
    assert.notEqual(fast, original, "the driver's readValue is wrapped");
    fn(fast, original, reader);
  } finally {
    result.restore();
  }
  assert.equal(reader.valueParser.readValue, original, 'restore puts tedious back');
}

type Dt = Date & { nanosecondsDelta?: number };

/** The TDS bytes of a datetime2(scale): length, time of day in 10^-scale s units (3–5 bytes), days since 0001-01-01. */
function datetime2Bytes(scale: number, units: number, days: number): Buffer {
  const timeBytes = scale <= 2 ? 3 : scale <= 4 ? 4 : 5;
  const b = Buffer.alloc(1 + timeBytes + 3);
  b[0] = timeBytes + 3;
  b.writeUIntLE(units, 1, timeBytes);
  b.writeUIntLE(days, 1 + timeBytes, 3);
  return b;
}

/** Days since 0001-01-01 of a calendar date (proleptic Gregorian, as SQL Server's). */
function dayNumber(y: number, m: number, d: number): number {
  const t = new Date(0);
  t.setUTCFullYear(y, m - 1, d);
  return Math.round(t.getTime() / 86_400_000) + 719_162;
}

/** A small deterministic generator, so a failure names the same value every run. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1_664_525) + 1_013_904_223) >>> 0;
    return s / 2 ** 32;
  };
}

function samples(): { scale: number; bytes: Buffer; what: string }[] {
  const days = [
    dayNumber(1, 1, 1),
    dayNumber(9999, 12, 31),
    dayNumber(1969, 12, 31),
    dayNumber(1970, 1, 1),
    dayNumber(1600, 2, 29),
    dayNumber(1900, 2, 28),
    dayNumber(1900, 3, 1),
    dayNumber(2000, 2, 29),
    dayNumber(2024, 2, 29),
    dayNumber(1752, 9, 14),
    dayNumber(2026, 1, 2),
  ];
  assert.equal(days[0], 0);
  assert.equal(days[1], 3_652_058);
  const out: { scale: number; bytes: Buffer; what: string }[] = [];
  const rand = prng(14);
  for (let scale = 0; scale <= 7; scale++) {
    const perDay = 86_400 * 10 ** scale;
    const units = [0, 1, perDay - 1, Math.floor(perDay / 2), 10 ** scale - 1, 10 ** scale];
    for (let i = 0; i < 200; i++) units.push(Math.floor(rand() * perDay));
    for (const d of days)
      for (const u of units) out.push({ scale, bytes: datetime2Bytes(scale, u, d), what: `scale ${scale} ${u} ${d}` });
    for (let i = 0; i < 500; i++) {
      const d = Math.floor(rand() * 3_652_059);
      const u = Math.floor(rand() * perDay);
      out.push({ scale, bytes: datetime2Bytes(scale, u, d), what: `scale ${scale} ${u} ${d}` });
    }
  }
  return out;
}

function assertSame(got: { value: unknown; offset: number }, want: { value: unknown; offset: number }, what: string) {
  assert.equal(got.offset, want.offset, what);
  if (want.value === null) return assert.equal(got.value, null, what);
  const g = got.value as Dt;
  const w = want.value as Dt;
  assert.ok(g instanceof Date, what);
  assert.equal(g.getTime(), w.getTime(), what);
  assert.equal(g.nanosecondsDelta, w.nanosecondsDelta, what);
  assert.deepEqual(
    Object.getOwnPropertyDescriptor(g, 'nanosecondsDelta'),
    Object.getOwnPropertyDescriptor(w, 'nanosecondsDelta'),
    what,
  );
  assert.deepEqual(Object.keys(g), Object.keys(w), what);
}

test('every datetime2 (scales 0–7, 0001-01-01 to 9999-12-31, leap days, NULL) reads as tedious reads it', () =>
  withShortcut((fast, original, reader) => {
    assert.ok(fastDateDecodeInstalled(reader));
    const opts = { useUTC: true };
    let n = 0;
    for (const { scale, bytes, what } of samples()) {
      const metadata = { type: { name: 'DateTime2' }, scale };
      assertSame(fast(bytes, 0, metadata, opts), original(bytes, 0, metadata, opts), what);
      // At an offset inside a larger buffer (tedious' row buffers), followed by other bytes.
      const inRow = Buffer.concat([Buffer.from([9, 9, 9]), bytes, Buffer.from([7, 7])]);
      assertSame(fast(inRow, 3, metadata, opts), original(inRow, 3, metadata, opts), `${what} in a row`);
      n++;
    }
    assert.ok(n > 10_000, `${n} values`);
    // The two ends of the range, spelled out.
    const max = fast(datetime2Bytes(7, 863_999_999_999, 3_652_058), 0, { type: { name: 'DateTime2' }, scale: 7 }, opts);
    assert.equal((max.value as Dt).toISOString(), '9999-12-31T23:59:59.999Z');
    assert.equal((max.value as Dt).nanosecondsDelta, 0.0009999);
    const min = fast(datetime2Bytes(7, 0, 0), 0, { type: { name: 'DateTime2' }, scale: 7 }, opts);
    assert.equal((min.value as Dt).toISOString(), '0001-01-01T00:00:00.000Z');
    // NULL (length 0).
    for (let scale = 0; scale <= 7; scale++)
      assertSame(
        fast(Buffer.from([0]), 0, { type: { name: 'DateTime2' }, scale }, opts),
        original(Buffer.from([0]), 0, { type: { name: 'DateTime2' }, scale }, opts),
        `NULL scale ${scale}`,
      );
  }));

test("a datetime2 not wholly buffered, useUTC off, odd bytes and other types take tedious' own reader", () =>
  withShortcut((fast, original) => {
    const metadata = { type: { name: 'DateTime2' }, scale: 7 };
    const whole = datetime2Bytes(7, 123_456_789, 738_000);
    // Cut short: the same "not enough data" error, with the same byte count, for the row parser to wait on.
    for (let cut = 0; cut < whole.length; cut++) {
      const part = whole.subarray(0, cut);
      let want: unknown;
      let got: unknown;
      try {
        original(part, 0, metadata, { useUTC: true });
      } catch (e) {
        want = e;
      }
      try {
        fast(part, 0, metadata, { useUTC: true });
      } catch (e) {
        got = e;
      }
      assert.ok(want instanceof Error && got instanceof Error, `cut at ${cut}`);
      assert.equal(got.constructor, want.constructor, `cut at ${cut}`);
      assert.equal((got as { byteCount?: number }).byteCount, (want as { byteCount?: number }).byteCount);
    }
    // useUTC off: local wall-clock Dates, tedious' way.
    assertSame(fast(whole, 0, metadata, { useUTC: false }), original(whole, 0, metadata, { useUTC: false }), 'local');
    // A time of day beyond 24 hours (no server sends it): tedious' result, whatever it is.
    const odd = datetime2Bytes(7, 2 ** 40 - 1, 100);
    assertSame(fast(odd, 0, metadata, { useUTC: true }), original(odd, 0, metadata, { useUTC: true }), 'odd');
    // Another type is untouched: a time(7) is tedious' Date on 1970-01-01.
    const time = whole.subarray(0, 6);
    time[0] = 5;
    const tm = { type: { name: 'Time' }, scale: 7 };
    assertSame(fast(time, 0, tm, { useUTC: true }), original(time, 0, tm, { useUTC: true }), 'time');
    // A date cut short, and a date with useUTC off.
    const date = Buffer.from([3, 0x10, 0x27, 0x0b]);
    const dm = { type: { name: 'Date' } };
    assertSame(fast(date, 0, dm, { useUTC: false }), original(date, 0, dm, { useUTC: false }), 'local date');
    assert.throws(
      () => fast(date.subarray(0, 3), 0, dm, { useUTC: true }),
      (e: unknown) => e instanceof Error && e.constructor.name === 'NotEnoughDataError',
    );
  }));

test('every date (all 3,652,059 days from 0001-01-01 to 9999-12-31, and NULL) reads as tedious reads it', () =>
  withShortcut((fast, original) => {
    const metadata = { type: { name: 'Date' } };
    const opts = { useUTC: true };
    const bytes = Buffer.from([7, 3, 0, 0, 0, 7]);
    for (let days = 0; days <= 3_652_058; days++) {
      bytes.writeUIntLE(days, 2, 3);
      const got = fast(bytes, 1, metadata, opts);
      const want = original(bytes, 1, metadata, opts);
      if (got.offset !== want.offset || (got.value as Date).getTime() !== (want.value as Date).getTime())
        assert.fail(
          `day ${days}: ${String(got.value)} at ${got.offset}, tedious ${String(want.value)} at ${want.offset}`,
        );
    }
    assertSame(fast(Buffer.from([0]), 0, metadata, opts), original(Buffer.from([0]), 0, metadata, opts), 'NULL');
    const max = fast(Buffer.from([3, 0xda, 0xb9, 0x37]), 0, metadata, opts);
    assert.equal((max.value as Date).toISOString(), '9999-12-31T00:00:00.000Z');
  }));

test('the shortcut refuses another tedious major, or a module without what it wraps, and says why', () => {
  const real = driverValueReader();
  const other = installFastDateDecode({ ...real, version: '20.0.0', valueParser: { ...real.valueParser } });
  assert.deepEqual(other.installed, false);
  assert.match(other.installed ? '' : other.reason, /tedious 20\.0\.0 is not the 19\.x/);
  const shapeless = installFastDateDecode({
    ...real,
    valueParser: {} as DriverValueReader['valueParser'],
  });
  assert.equal(shapeless.installed, false);
  assert.match(shapeless.installed ? '' : shapeless.reason, /no value-parser readValue/);
  assert.equal(fastDateDecodeInstalled(real), false, 'the real driver is left as published');
});

test('installing twice wraps once', () => {
  const reader = driverValueReader();
  const original = reader.valueParser.readValue;
  const first = installFastDateDecode(reader);
  const wrapped = reader.valueParser.readValue;
  const second = installFastDateDecode(reader);
  assert.ok(first.installed && second.installed);
  assert.equal(reader.valueParser.readValue, wrapped);
  first.restore();
  assert.equal(reader.valueParser.readValue, original);
});
