/**
 * A faster read of datetime2 and date values for the driver: tedious (with `useUTC`, as our connections set it) reads each
 * datetime2 as two `Date`s — one from `Date.UTC` for the time of day, a second from `Date.UTC(2000, 0, day, …, +time)`
 * — and defines a `nanosecondsDelta` property on each: about 16% of the driver's CPU per row on claim lines
 * (docs/performance.md, "The driver's own cost per row"). {@link installFastDateDecode} wraps tedious'
 * `readValue` so that a datetime2 is read as ONE `Date` with the same epoch milliseconds — whole days since
 * 0001-01-01 less the 719,162 days to 1970, times 86,400,000, plus the time of day's ticks truncated to
 * milliseconds, the integer arithmetic `Date.UTC` does — and the same `nanosecondsDelta` (the same expression as
 * tedious', non-enumerable, read-only). Every other value takes tedious' own reader, unchanged: other types, NULL,
 * `useUTC` off, a length other than 6–8 bytes, a time of day not below 24 hours (bytes no server sends; tedious'
 * result there depends on its two `Date`s' separate range checks), and a value not wholly in the buffer (tedious'
 * reader raises its own "not enough data" for the row parser to wait for the next packet).
 *
 * A `date` (3 bytes of days since 0001-01-01) is read the same way, as `new Date((days − 719,162) × 86,400,000)`
 * instead of tedious' `new Date(Date.UTC(2000, 0, days − 730,118))`: tedious builds one `Date` there already, so
 * this saves only the `Date.UTC` call (about half of that read; the unit test checks every one of the 3,652,059
 * days a date can hold). `time` and `datetimeoffset` keep tedious' readers (not on the row path we measured).
 *
 * Guards: installed only on tedious 19.x (the wrapped `readValue` of lib/value-parser.js, which the row parsers
 * call through its module's exports, is tedious' internal API), only when the module has the shape it wraps, and
 * only when, at install time, the shortcut reads a set of sample values exactly as tedious does. Otherwise it
 * returns why, and the driver stays as published.
 *
 * Scope: the worker installs it once at start-up (src/worker.ts), with the (var)char shortcut
 * (src/source/varchar-decode.ts); opening a `SourceConnection` does not, so a CLI verb or a benchmark's raw
 * baseline keeps tedious exactly as published.
 */
import { createRequire } from 'node:module';

interface Metadata {
  type: { name: string };
  scale?: number;
}
interface ReadResult {
  value: unknown;
  offset: number;
}
type ReadValue = (buf: Buffer, offset: number, metadata: Metadata, options: { useUTC?: boolean }) => ReadResult;

/** The parts of tedious the shortcut touches: lib/value-parser.js' exports and lib/token/helpers.js' `Result`. */
export interface DriverValueReader {
  version: string;
  valueParser: { readValue: ReadValue };
  Result: new (value: unknown, offset: number) => ReadResult;
}

export type FastDateDecodeInstall = { installed: true; restore: () => void } | { installed: false; reason: string };

const marker = Symbol.for('tidemark.fastDateDecode');
const SUPPORTED_MAJOR = 19;
/** Days from 0001-01-01 (day 0 of a TDS date) to 1970-01-01. */
const DAYS_TO_1970 = 719_162;
const MS_PER_DAY = 86_400_000;
/** 24 hours in datetime2's 100 ns ticks: a time of day at or beyond it takes tedious' reader. */
const TICKS_PER_DAY = 864_000_000_000;

/** The modules of the tedious that `mssql` loads (the one whose `readValue` its row parsers call). */
export function driverValueReader(): DriverValueReader {
  const fromHere = createRequire(import.meta.url);
  const fromTedious = createRequire(fromHere.resolve('tedious'));
  return {
    version: String((fromTedious('../package.json') as { version?: unknown }).version),
    valueParser: fromTedious('./value-parser') as DriverValueReader['valueParser'],
    Result: (fromTedious('./token/helpers') as { Result: DriverValueReader['Result'] }).Result,
  };
}

/**
 * The datetime2 at `offset` (its length byte) as one `Date`, or undefined for tedious' reader to take it (NULL, an
 * unexpected length or time of day, bytes not all buffered).
 */
function readDateTime2(
  buf: Buffer,
  offset: number,
  scale: number | undefined,
  Result: DriverValueReader['Result'],
): ReadResult | undefined {
  if (offset >= buf.length) return undefined;
  const length = buf[offset]!;
  if (length < 6 || length > 8) return undefined;
  const end = offset + 1 + length;
  if (end > buf.length) return undefined;
  const timeBytes = length - 3;
  let ticks = buf.readUIntLE(offset + 1, timeBytes);
  // As tedious scales: the same multiplications, in the same order (`undefined < 7` is false, as in tedious).
  if ((scale as number) < 7) for (let i = scale as number; i < 7; i++) ticks *= 10;
  if (ticks >= TICKS_PER_DAY) return undefined;
  const days = buf.readUIntLE(offset + 1 + timeBytes, 3);
  const date = new Date((days - DAYS_TO_1970) * MS_PER_DAY + Math.trunc(ticks / 10000));
  Object.defineProperty(date, 'nanosecondsDelta', { enumerable: false, value: (ticks % 10000) / Math.pow(10, 7) });
  return new Result(date, end);
}

/** The date at `offset` (its length byte), or undefined for tedious' reader (NULL, bytes not all buffered). */
function readDate(buf: Buffer, offset: number, Result: DriverValueReader['Result']): ReadResult | undefined {
  const end = offset + 4;
  if (end > buf.length || buf[offset] !== 3) return undefined;
  return new Result(new Date((buf.readUIntLE(offset + 1, 3) - DAYS_TO_1970) * MS_PER_DAY), end);
}

/** Sample bytes for the install-time check: both ends of the range, every datetime2 scale and length, dates. */
function sampleValues(): { bytes: Buffer; metadata: Metadata }[] {
  const out: { bytes: Buffer; metadata: Metadata }[] = [];
  for (const days of [0, 3_652_058, 719_161, 738_000]) {
    const bytes = Buffer.alloc(4);
    bytes[0] = 3;
    bytes.writeUIntLE(days, 1, 3);
    out.push({ bytes, metadata: { type: { name: 'Date' } } });
  }
  for (let scale = 0; scale <= 7; scale++) {
    const timeBytes = scale <= 2 ? 3 : scale <= 4 ? 4 : 5;
    const maxTicks = 86_400 * 10 ** scale - 1;
    for (const [ticks, days] of [
      [0, 0],
      [maxTicks, 3_652_058],
      [Math.floor(maxTicks / 3), 719_161],
      [Math.floor(maxTicks / 7), 738_000],
    ] as const) {
      const bytes = Buffer.alloc(1 + timeBytes + 3);
      bytes[0] = timeBytes + 3;
      bytes.writeUIntLE(ticks, 1, timeBytes);
      bytes.writeUIntLE(days, 1 + timeBytes, 3);
      out.push({ bytes, metadata: { type: { name: 'DateTime2' }, scale } });
    }
  }
  return out;
}

/** Why the shortcut cannot be installed on this driver, or undefined when it can. */
function refusal(reader: DriverValueReader, original: ReadValue, fast: ReadValue): string | undefined {
  const major = Number(reader.version.split('.')[0]);
  if (major !== SUPPORTED_MAJOR)
    return `tedious ${reader.version} is not the 19.x the shortcut was written and tested for`;
  for (const { bytes, metadata } of sampleValues()) {
    const want = original(bytes, 0, metadata, { useUTC: true });
    const got = fast(bytes, 0, metadata, { useUTC: true });
    const w = want.value as Date & { nanosecondsDelta?: number };
    const g = got.value as Date & { nanosecondsDelta?: number };
    if (
      !(w instanceof Date) ||
      !(g instanceof Date) ||
      w.getTime() !== g.getTime() ||
      w.nanosecondsDelta !== g.nanosecondsDelta ||
      want.offset !== got.offset
    )
      return `its ${metadata.type.name} read differs from tedious ${reader.version}'s on a sample value`;
  }
  return undefined;
}

/** Whether the driver's `readValue` has the shortcut in this process. */
export function fastDateDecodeInstalled(reader: DriverValueReader = driverValueReader()): boolean {
  return (reader.valueParser.readValue as ReadValue & { [marker]?: true })[marker] === true;
}

/**
 * Installs the shortcut once per process (idempotent). Returns `installed: false` and the reason when the driver
 * is not one it was checked against; `restore` puts tedious' reader back (for benchmarks that alternate).
 */
export function installFastDateDecode(reader?: DriverValueReader): FastDateDecodeInstall {
  let r: DriverValueReader;
  try {
    r = reader ?? driverValueReader();
  } catch (err) {
    return { installed: false, reason: `tedious' value parser could not be loaded (${(err as Error).message})` };
  }
  const parser = r.valueParser;
  if (typeof parser?.readValue !== 'function' || typeof r.Result !== 'function')
    return { installed: false, reason: `tedious ${r.version} has no value-parser readValue / Result to wrap` };
  const original = parser.readValue;
  if (fastDateDecodeInstalled(r)) return { installed: true, restore: () => undefined };
  const Result = r.Result;
  const readValue: ReadValue = (buf, offset, metadata, options) => {
    if (options.useUTC) {
      const name = metadata.type.name;
      const fast =
        name === 'DateTime2'
          ? readDateTime2(buf, offset, metadata.scale, Result)
          : name === 'Date'
            ? readDate(buf, offset, Result)
            : undefined;
      if (fast) return fast;
    }
    return original(buf, offset, metadata, options);
  };
  const why = refusal(r, original, readValue);
  if (why) return { installed: false, reason: why };
  parser.readValue = Object.assign(readValue, { [marker]: true as const });
  return {
    installed: true,
    restore: () => {
      if (parser.readValue === readValue) parser.readValue = original;
    },
  };
}
