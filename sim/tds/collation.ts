/**
 * Collations and code pages for char/varchar data (MS-TDS 2.2.5.1.2 Collation Rule Definition).
 * The simulator's server and database collation is SQL_Latin1_General_CP1_CI_AS (code page 1252); a collation
 * with the UTF-8 flag (SQL Server 2019 `_UTF8` collations) selects UTF-8. Other code pages are not simulated:
 * their bytes are read as code page 1252.
 */

/**
 * SQL_Latin1_General_CP1_CI_AS: LCID 0x0409, flags IgnoreCase|IgnoreKana|IgnoreWidth, version 0, SortId 52
 * (2.2.5.1.2; brief §F gives `09 04 D0 00 34`).
 */
export const DEFAULT_COLLATION: Buffer = Buffer.from([0x09, 0x04, 0xd0, 0x00, 0x34]);

/** Collation flag bit for UTF-8 (fUTF8, 2.2.5.1.2): bit 6 of the 8 flag bits spread over bytes 2 and 3. */
const COLLATION_FLAG_UTF8 = 0x40;

/** True when the 5-byte collation selects UTF-8. */
export function isUtf8Collation(collation: Buffer): boolean {
  const flags = (((collation[3] ?? 0) & 0x0f) << 4) | (((collation[2] ?? 0) & 0xf0) >>> 4);
  return (flags & COLLATION_FLAG_UTF8) !== 0;
}

// Windows-1252 bytes 0x80..0x9F. Bytes Windows leaves undefined (0x81, 0x8D, 0x8F, 0x90, 0x9D) map to the C1
// control with the same number, as MultiByteToWideChar does, so every byte round-trips.
const CP1252_HIGH = [
  0x20ac, 0x0081, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021, 0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008d,
  0x017d, 0x008f, 0x0090, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014, 0x02dc, 0x2122, 0x0161, 0x203a,
  0x0153, 0x009d, 0x017e, 0x0178,
];
const CP1252_ENCODE = new Map<number, number>(CP1252_HIGH.map((cp, i) => [cp, 0x80 + i]));
const QUESTION_MARK = 0x3f;
const NON_ASCII = /[\u0080-\uffff]/;
const SHORT_STRING = 32;

/** Byte length of `s` in code page 1252 (one byte per UTF-16 unit; SQL Server stores '?' for the unmappable). */
export function cp1252Length(s: string): number {
  return s.length;
}

/** Writes `s` as code page 1252 at `offset`; returns the number of bytes written. */
export function writeCp1252(buf: Buffer, offset: number, s: string): number {
  const n = s.length;
  if (n <= SHORT_STRING) {
    // Short strings (codes, flags, names): a plain loop beats Buffer#write's per-call overhead.
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) return writeCp1252Slow(buf, offset, s);
      buf[offset + i] = c;
    }
    return n;
  }
  if (!NON_ASCII.test(s)) return buf.write(s, offset, 'latin1');
  return writeCp1252Slow(buf, offset, s);
}

function writeCp1252Slow(buf: Buffer, offset: number, s: string): number {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    buf[offset + i] = c < 0x80 || (c >= 0xa0 && c <= 0xff) ? c : (CP1252_ENCODE.get(c) ?? QUESTION_MARK);
  }
  return s.length;
}

/** Decodes code page 1252 bytes. */
export function readCp1252(buf: Buffer, start: number, end: number): string {
  let high = false;
  for (let i = start; i < end; i++) {
    const b = buf[i] as number;
    if (b >= 0x80 && b < 0xa0) {
      high = true;
      break;
    }
  }
  if (!high) return buf.toString('latin1', start, end);
  let out = '';
  for (let i = start; i < end; i++) {
    const b = buf[i] as number;
    out += String.fromCharCode(b >= 0x80 && b < 0xa0 ? (CP1252_HIGH[b - 0x80] as number) : b);
  }
  return out;
}

/** Decodes char/varchar bytes in the given collation. */
export function decodeVarChar(buf: Buffer, start: number, end: number, collation: Buffer): string {
  return isUtf8Collation(collation) ? buf.toString('utf8', start, end) : readCp1252(buf, start, end);
}
