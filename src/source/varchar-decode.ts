/**
 * A faster decode of (var)char values for the driver: tedious decodes every char/varchar/text value with
 * `iconv-lite`'s `decode(buffer, codepage)`, which canonicalises the code page's name with a regular expression,
 * looks the codec up and builds a decoder object per value — about 7% of a worker's main thread during an
 * initial load (docs/performance.md). Most values are plain ASCII, and every code page that SQL Server collations
 * use maps the bytes 0x00–0x7F to ASCII, so an all-ASCII value decodes to the same string as Latin-1 text, which
 * Node decodes natively. {@link installFastVarcharDecode} wraps `decode` with that shortcut; any other value (a
 * byte ≥ 0x80, options, an unknown code page) takes iconv-lite's own path, unchanged.
 *
 * Exactness: the shortcut is enabled only for a code page whose iconv-lite decoding of the bytes 0x00–0x7F was
 * checked, at install time, to give exactly those 128 ASCII characters (so a code page where 0x5C is not a
 * backslash, say, would keep iconv-lite's path). A UTF-8 byte-order mark is not ASCII, so BOM stripping is
 * unaffected.
 *
 * Scope: the worker process installs it once at start-up (src/worker.ts, `startWorker`), before its first source
 * connection; opening a `SourceConnection` does not. So a process that only opens connections — a CLI verb,
 * a benchmark whose raw baseline must be the plain driver — keeps tedious exactly as published.
 */
import { createRequire } from 'node:module';
import { isAscii } from 'node:buffer';

type Decode = (buf: Buffer | string, encoding: string, options?: unknown) => string;
interface IconvLite {
  decode: Decode;
}

/** The code pages tedious passes for SQL Server collations (tedious/lib/collation.js), and its default. */
const CANDIDATES = [
  'utf8',
  'utf-8',
  'CP437',
  'CP850',
  'CP874',
  'CP932',
  'CP936',
  'CP949',
  'CP950',
  'CP1250',
  'CP1251',
  'CP1252',
  'CP1253',
  'CP1254',
  'CP1255',
  'CP1256',
  'CP1257',
  'CP1258',
];

const marker = Symbol.for('tidemark.fastVarcharDecode');

/** The iconv-lite instance tedious itself loads (the one whose `decode` it calls). */
function driverIconv(): IconvLite {
  const fromHere = createRequire(import.meta.url);
  const fromTedious = createRequire(fromHere.resolve('tedious'));
  return fromTedious('iconv-lite') as IconvLite;
}

/** The code pages among {@link CANDIDATES} whose decoding of 0x00–0x7F is exactly ASCII. */
export function asciiCompatibleCodepages(decode: Decode): Set<string> {
  const bytes = Buffer.from(Array.from({ length: 128 }, (_v, i) => i));
  const ascii = bytes.toString('latin1');
  const ok = new Set<string>();
  for (const cp of CANDIDATES) {
    try {
      if (decode(bytes, cp) === ascii) ok.add(cp);
    } catch {
      // unknown to this iconv-lite: not shortcut
    }
  }
  return ok;
}

/** True when every byte is below 0x80 (a loop for short values: cheaper than the native call there). */
function allAscii(buf: Buffer): boolean {
  const n = buf.length;
  if (n > 32) return isAscii(buf);
  for (let i = 0; i < n; i++) if ((buf[i] as number) & 0x80) return false;
  return true;
}

/** Whether the driver's decode has the shortcut in this process. */
export function fastVarcharDecodeInstalled(iconv: IconvLite = driverIconv()): boolean {
  return (iconv.decode as Decode & { [marker]?: ReadonlySet<string> })[marker] !== undefined;
}

/** Installs the shortcut once per process (idempotent); returns the code pages it applies to. */
export function installFastVarcharDecode(iconv: IconvLite = driverIconv()): ReadonlySet<string> {
  const current = iconv.decode as Decode & { [marker]?: ReadonlySet<string> };
  if (current[marker]) return current[marker];
  const original = iconv.decode.bind(iconv);
  const fast = asciiCompatibleCodepages(original);
  const decode = (buf: Buffer | string, encoding: string, options?: unknown): string =>
    options === undefined && typeof buf !== 'string' && fast.has(encoding) && allAscii(buf)
      ? buf.toString('latin1')
      : original(buf, encoding, options);
  iconv.decode = Object.assign(decode, { [marker]: fast });
  return fast;
}
